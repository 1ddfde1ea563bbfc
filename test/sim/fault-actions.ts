// The faults a random schedule may inject at a step: network faults, ledger errors, aborts, clock jumps, and the
// switchable classes (a node's clock jump, append failures, slow syncs, store and ledger outages, ledger timeouts).
import { CLOCK_NODES } from './clock.ts';
import { callLedger, LEDGER_CALLS, ledgerCallLabel, type PendingAppend, type PendingLedgerCall } from './io.ts';
import { LEDGER, NODES, nodeOf, type NodeName } from './names.ts';
import type { Plan } from './plan.ts';
import type { Action } from './scheduler.ts';
import type { World } from './world.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

/** How far one node's jumps may take its clock in all (on top of its offset): a jump past it goes the other way. */
const MAX_JUMPED_MS = 90_000;

const secs = (ms: number): string => `${ms < 0 ? '−' : '+'}${(Math.abs(ms) / 1000).toFixed(3)} s`;

export function faultActions(world: World, plan: Plan): Action[] {
  const { rng, weights: w } = plan;
  const now = world.clock.now;
  const acts: Action[] = [];
  for (const m of world.wire.ready(now)) {
    acts.push({
      weight: w.drop,
      run: () => {
        world.wire.take(m.id);
        world.counts.drops++;
        world.log(NODES.find((n) => world.nodes[n].id === m.to)!, 'drop', `#${m.id} lost on the wire`);
      },
    });
    acts.push({
      weight: w.duplicate,
      run: () => {
        const copy = world.wire.duplicate(m, now + Math.floor(rng() * 3_000));
        world.counts.duplicates++;
        world.log('net', 'duplicate', `#${m.id} → copy #${copy.id} arrives t+${copy.deliverAt - now}ms`);
      },
    });
    acts.push({
      weight: w.delay,
      run: () => {
        m.deliverAt = now + 500 + Math.floor(rng() * 8_000);
        world.counts.delays++;
        world.log('net', 'note', `#${m.id} delayed to +${m.deliverAt - now}ms`);
      },
    });
  }
  for (const x of world.work) {
    if (x.kind === 'ledger' && x.call === 'execute' && !x.timedOut) {
      acts.push({ weight: w.ledgerError, run: () => world.runWork(x, rng() < 0.5 ? 'before' : 'after') });
    }
  }
  if (w.abort) {
    for (const n of NODES) {
      const open = world.nodes[n].inc?.gw.sessions().filter((s) => !outcomeOf(s)) ?? [];
      if (!open.length) continue;
      acts.push({ weight: w.abort, run: () => world.abort(n, open[Math.floor(rng() * open.length)]!.sessionId) });
    }
  }
  if (w.jump) {
    // Lock expiries as their ledgers' clocks read them; the world's time jumps (every clock alike) until the
    // ledger's clock is past the first expiry and the destination's grace.
    const expiries = NODES.flatMap((n) => {
      const ledger = world.clock.nodes[LEDGER[n]];
      const local = ledger.at(now);
      const at = world.nodes[n].ledger.snapshot().map((a) => a.lockExpiresAt);
      return at.filter((x): x is number => x !== undefined && x > local).map((x) => ledger.worldAt(x));
    });
    if (expiries.length) {
      acts.push({
        weight: w.jump,
        run: () => {
          const to = Math.min(...expiries) + world.nodes.A.config.deadlineGraceMs + Math.floor(rng() * 3_000);
          world.clock.now = Math.max(now, to);
          world.counts.clockJumps++;
          world.log('clock', 'jump', `every clock jumps to t+${world.clock.now - now}ms, past a lock expiry`);
        },
      });
    }
  }
  acts.push(...switchableActions(world, plan));
  return acts;
}

/** The switchable classes' actions (none when the seed has them off); their choices come from the swarm's stream. */
function switchableActions(world: World, plan: Plan): Action[] {
  const s = plan.swarm;
  const w = s.weights;
  const now = world.clock.now;
  const acts: Action[] = [];
  const add = (weight: number, run: Action['run']) => {
    if (weight > 0) acts.push({ weight, run });
  };
  add(w.clockJump, () => jumpOneClock(world, plan));
  for (const x of world.work) {
    if (x.kind === 'append') {
      add(w.failLanded, () => world.runWork(x, 'fail-landed'));
      add(w.failLost, () => world.runWork(x, 'fail-lost'));
      if (x.readyAt === undefined) add(w.slowSync, () => slowSync(world, plan, x));
    } else if (!x.timedOut) {
      if (LEDGER_CALLS[x.call].mutates) add(w.ledgerTimeout, () => hang(world, plan, x));
      else add(w.ledgerRead, () => world.runWork(x, 'before'));
    }
  }
  for (const n of NODES) {
    if (!world.hazards.storeDown(n, now)) add(w.storeOutage, () => storeOutage(world, plan, n));
    if (!world.hazards.ledgerDown(LEDGER[n], now)) add(w.ledgerOutage, () => ledgerOutage(world, plan, n));
  }
  return acts;
}

/**
 * One node's clock jumps forward or back by 0.5–60 s; its timers now due fire as the scheduler gets to them.
 * Its jumps together stay within ±90 s, so a clock is never set back so far that waiting out its timers
 * could pass for a stuck world (test/sim/README.md, Bounds).
 */
function jumpOneClock(world: World, plan: Plan): void {
  const r = plan.swarm.rng;
  const n = CLOCK_NODES[Math.floor(r() * CLOCK_NODES.length)]!;
  const size = 500 + Math.floor(r() * 59_500);
  const backwards = r() < 0.5;
  // A ledger's clock only ever jumps forward: the one timing assumption the gateways rely on is that the origin
  // ledger's clock never goes back past a lock expiry it reported as passed (docs/assumptions.md; the safety
  // tests break it on purpose). Gateways' clocks jump either way.
  const ledger = (Object.values(LEDGER) as string[]).includes(n);
  const drawn = backwards && !ledger ? -size : size;
  const over = Math.abs(world.clock.nodes[n].jumped + drawn) > MAX_JUMPED_MS;
  if (over && ledger) return;
  const delta = over ? -drawn : drawn;
  world.clock.jump(n, delta);
  if (delta > 0) world.counts.nodeClockJumpsForward++;
  else world.counts.nodeClockJumpsBack++;
  const skew = world.clock.nodes[n].skew(world.clock.now);
  world.log(n, 'jump', `${n}'s clock alone jumps ${secs(delta)}; it is now ${secs(skew)} off world time`);
}

/** An append's sync is slow: it cannot complete for 1–30 s (a crash can still hit it meanwhile). */
function slowSync(world: World, plan: Plan, x: PendingAppend): void {
  const ms = 1_000 + Math.floor(plan.swarm.rng() * 29_000);
  x.readyAt = world.clock.now + ms;
  world.counts.slowSyncs++;
  const what = `${x.logId.split('/')[0]} seq ${x.expected.seq + 1}..${x.next.seq}`;
  world.log(nodeOf(x.inc.node), 'slow', `append ${what}: the sync takes ${ms} ms`);
}

/** A mutating ledger call hangs 5–30 s, then fails as timed out; the ledger applied it meanwhile, or never saw it. */
async function hang(world: World, plan: Plan, x: PendingLedgerCall): Promise<void> {
  const r = plan.swarm.rng;
  const ms = 5_000 + Math.floor(r() * 25_000);
  const coin = r() < 0.5;
  const applied = coin && !world.hazards.ledgerDown(x.ledger.id, world.clock.now);
  const n = nodeOf(x.inc.node);
  const label = ledgerCallLabel(x);
  x.timedOut = { applied, ms };
  x.readyAt = world.clock.now + ms;
  if (applied) world.counts.ledgerTimeoutsApplied++;
  else world.counts.ledgerTimeoutsNotApplied++;
  const fate = applied ? 'the ledger applies it' : 'it never reaches the ledger';
  world.log(n, 'ledger-error', `${label}: hangs, times out in ${ms} ms (${fate})`);
  if (!applied) return;
  try {
    const res = await callLedger(x);
    world.log(x.ledger.id, 'ledger', `${label}: ${LEDGER_CALLS[x.call].answer(res)}, the answer will be lost`);
    if (x.op) world.onLedgerApplied?.(n, x.op.kind, (res as { ok: boolean }).ok);
  } catch (err) {
    world.log(x.ledger.id, 'ledger-error', `${label}: ${String(err)}`);
  }
}

/** A gateway's store refuses every call for 1–60 s (never past the fault phase). */
function storeOutage(world: World, plan: Plan, n: NodeName): void {
  const ms = 1_000 + Math.floor(plan.swarm.rng() * 59_000);
  const until = world.clock.now + ms;
  world.hazards.storeOutage(n, until);
  world.counts.storeOutages++;
  world.log(n, 'outage', `the store is unavailable for ${ms} ms`);
  world.clock.set('world', until, () => {
    const back = world.hazards.active && !world.hazards.storeDown(n, world.clock.now);
    if (back) world.log(n, 'outage', 'the store is back');
  });
}

/** A ledger refuses every call (LEDGER_UNAVAILABLE) for 1–60 s (never past the fault phase). */
function ledgerOutage(world: World, plan: Plan, n: NodeName): void {
  const ms = 1_000 + Math.floor(plan.swarm.rng() * 59_000);
  const until = world.clock.now + ms;
  const id = LEDGER[n];
  world.hazards.ledgerOutage(id, until);
  world.counts.ledgerOutages++;
  world.log(id, 'outage', `${id} is down for ${ms} ms`);
  world.clock.set('world', until, () => {
    const back = world.hazards.active && !world.hazards.ledgerDown(id, world.clock.now);
    if (back) world.log(id, 'outage', `${id} is back`);
  });
}
