// One seeded schedule: transfers under faults, then fault-free until quiet, then every invariant.
import { type FaultCounts } from './faults.ts';
import { checkInvariants, type Violation } from './invariants.ts';
import { CrashPlan } from './crash-plan.ts';
import { NODES, other, type NodeName } from './names.ts';
import { type Plan, planFor, worldOptions } from './plan.ts';
import { type Action, advanceTime, fireDueTimer, isQuiet, macrotask, nextEventAt, pickWeighted, runStep } from './scheduler.ts';
import type { Timeline } from './timeline.ts';
import { World } from './world.ts';

export const MAX_STEPS = 20_000;
/** After faults stop, how much simulated time the world gets to settle. */
export const SETTLE_MS = 2 * 3600_000;

export interface ScheduleResult {
  seed: number;
  violations: Violation[];
  counts: FaultCounts;
  steps: number;
  simulatedMs: number;
  timeline: Timeline;
}

export const replayCommand = (seed: number): string => `npm run simulate -- --seed ${seed}`;

function faultActions(world: World, plan: Plan): Action[] {
  const { rng, weights: w } = plan;
  const now = world.clock.now;
  const acts: Action[] = [];
  for (const m of world.wire.ready(now)) {
    acts.push({ weight: w.drop, run: () => {
      world.wire.take(m.id);
      world.counts.drops++;
      world.log(NODES.find((n) => world.nodes[n].id === m.to)!, 'drop', `#${m.id} lost on the wire`);
    } });
    acts.push({ weight: w.duplicate, run: () => {
      const copy = world.wire.duplicate(m, now + Math.floor(rng() * 3_000));
      world.counts.duplicates++;
      world.log('net', 'duplicate', `#${m.id} → copy #${copy.id} arrives t+${copy.deliverAt - now}ms`);
    } });
    acts.push({ weight: w.delay, run: () => {
      m.deliverAt = now + 500 + Math.floor(rng() * 8_000);
      world.counts.delays++;
      world.log('net', 'note', `#${m.id} delayed to +${m.deliverAt - now}ms`);
    } });
  }
  for (const x of world.work) {
    if (x.kind === 'ledger' && x.call === 'execute') acts.push({ weight: w.ledgerError, run: () => world.runWork(x, rng() < 0.5 ? 'before' : 'after') });
  }
  if (w.abort) {
    for (const n of NODES) {
      const open = world.nodes[n].inc?.gw.sessions().filter((s) => !s.outcome) ?? [];
      if (open.length) acts.push({ weight: w.abort, run: () => world.abort(n, open[Math.floor(rng() * open.length)]!.sessionId) });
    }
  }
  if (w.jump) {
    const expiries = NODES.flatMap((n) => world.nodes[n].ledger.snapshot()).map((a) => a.lockExpiresAt).filter((x): x is number => x !== undefined && x > now);
    if (expiries.length) {
      acts.push({ weight: w.jump, run: () => {
        // Past the lock expiry and the destination's grace: both deadline paths become due at once.
        world.clock.now = Math.min(...expiries) + world.nodes.A.config.deadlineGraceMs + Math.floor(rng() * 3_000);
        world.counts.clockJumps++;
        world.log('clock', 'jump', `to t+${world.clock.now - now}ms, past a lock expiry`);
      } });
    }
  }
  return acts;
}

function normalActions(world: World): Action[] {
  const acts: Action[] = [];
  for (const m of world.wire.ready(world.clock.now)) acts.push({ weight: 10, run: () => world.deliver(m.id) });
  for (const x of world.work) acts.push({ weight: 10, run: () => world.runWork(x) });
  if (world.clock.due().length) acts.push({ weight: 10, run: () => void fireDueTimer(world) });
  return acts;
}

export async function runSchedule(seed: number): Promise<ScheduleResult> {
  const plan = planFor(seed);
  const world = new World(worldOptions(plan));
  world.counts.schedules = 1;
  for (const t of plan.transfers) {
    const { origin, owner, startAt, ...r } = t;
    world.addTransfer({ origin, owner, startAt, request: { ...r, contextId: `ctx-${t.sessionId}`, peer: world.nodes[other(origin)].id, assetProfileId: 'sim-asset' } });
  }
  let steps = 0;
  const crashes = new CrashPlan(plan);
  world.onRecovery = () => crashes.onRecovery(steps);
  for (const n of NODES) world.up(n, false);
  await macrotask();
  world.log('world', 'phase', `seed ${seed}: ${plan.transfers.length} transfer(s), ${plan.faultSteps} fault steps, up to ${plan.maxCrashes} crashes, weights ${JSON.stringify(plan.weights, (_k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
  const start = world.clock.now;
  let settleBy = Infinity;
  for (; steps < MAX_STEPS; steps++) {
    const faulty = steps < plan.faultSteps;
    if (!faulty && settleBy === Infinity) {
      settleBy = world.clock.now + SETTLE_MS;
      world.log('world', 'phase', 'faults stop; running until quiet');
    }
    if (!faulty && isQuiet(world)) break;
    if (world.clock.now > settleBy) break;
    const acts = normalActions(world);
    if (faulty) acts.push(...faultActions(world, plan));
    const later = nextEventAt(world);
    if (later !== undefined && later > world.clock.now) acts.push({ weight: acts.length ? 0.5 : 1, run: () => void advanceTime(world) });
    const action = (faulty ? crashes.next(world, steps) : undefined) ?? pickWeighted(plan.rng, acts);
    if (!action) break;
    await runStep(world, action);
  }
  const violations = await checkInvariants(world);
  if (!isQuiet(world)) {
    const down = NODES.filter((n: NodeName) => !world.isUp(n));
    violations.push({ invariant: 'the world goes quiet once faults stop', detail: `after ${steps} steps and ${Math.round((world.clock.now - start) / 1000)} simulated s: ${world.wire.size} message(s) in flight, ${world.work.length} I/O pending, down: [${down.join(',')}]` });
  }
  return { seed, violations, counts: world.counts, steps, simulatedMs: world.clock.now - start, timeline: world.timeline };
}
