// One seeded schedule: transfers under faults, then fault-free until quiet, then every invariant.
import { CLOCK_NODES, type ClockModel } from './clock.ts';
import { type FaultSet, formatFaults, faultsFromEnv } from './fault-classes.ts';
import { faultActions } from './fault-actions.ts';
import type { FaultCounts } from './faults.ts';
import { checkInvariants, type Violation } from './invariants.ts';
import { CrashPlan } from './crash-plan.ts';
import { NODES, other, type NodeName } from './names.ts';
import { type Plan, planFor, worldOptions } from './plan.ts';
import { type Action, advanceTime, fireDueTimer, isQuiet, macrotask, nextEventAt, pickWeighted } from './scheduler.ts';
import { type Idleness, idleness, idleViolation, isStuck, readyWork, runStep } from './scheduler.ts';
import type { Timeline } from './timeline.ts';
import { MAX_CHAIN_ENTRIES, World } from './world.ts';
import { Liar } from './liar.ts';

/** Most steps of one run, a backstop behind the other bounds; legitimate runs stay far below (test/sim/README.md). */
export const MAX_STEPS = 10_000;
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

export const replayCommand = (seed: number, faults?: FaultSet): string => {
  const only = faults && formatFaults(faults) !== 'all' ? ` --faults ${formatFaults(faults)}` : '';
  return `npm run simulate -- --seed ${seed}${only}`;
};

function normalActions(world: World): Action[] {
  const acts: Action[] = [];
  for (const m of world.wire.ready(world.clock.now)) acts.push({ weight: 10, run: () => world.deliver(m.id) });
  for (const x of readyWork(world)) acts.push({ weight: 10, run: () => world.runWork(x) });
  if (world.clock.due().length) acts.push({ weight: 10, run: () => void fireDueTimer(world) });
  return acts;
}

const clockText = (m: ClockModel): string => {
  if (!m.offsetMs && !m.driftPpm) return 'exact';
  return `offset ${m.offsetMs >= 0 ? '+' : '−'}${Math.abs(m.offsetMs)} ms, drift ${m.driftPpm} ppm`;
};
const rounded = (x: unknown): string =>
  JSON.stringify(x, (_k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v));

/** The header of a run: its plan, every node's clock, the switchable classes it turned on. */
function logPlan(world: World, plan: Plan, faults: FaultSet): void {
  const crashes = `up to ${plan.maxCrashes} crashes`;
  const shape = `${plan.transfers.length} transfer(s), ${plan.faultSteps} fault steps, ${crashes}`;
  world.log('world', 'phase', `seed ${plan.seed}: ${shape}, weights ${rounded(plan.weights)}`);
  const clocks = CLOCK_NODES.map((n) => `${n} ${clockText(plan.swarm.clocks[n])}`);
  world.log('world', 'phase', `clocks: ${clocks.join('; ')}`);
  const on = `${plan.swarm.classes.join(', ') || 'none'} (of ${formatFaults(faults)})`;
  const rate = plan.swarm.readFailRate.toFixed(3);
  world.log('world', 'phase', `classes on: ${on}; weights ${rounded(plan.swarm.weights)}, read failures ${rate}`);
}

/** The bound a run hit, if any, as a violation: a livelocked chain, no progress, too many steps, too long to settle. */
function boundViolation(
  world: World,
  steps: number,
  idle: Idleness,
  settleBy: number,
  start: number,
): Violation | undefined {
  const h = world.halted;
  if (h) {
    const tail = world.nodes[h.node].disk.logs
      .get(h.logId)
      ?.slice(-4)
      .map((t) => {
        const e = JSON.parse(t) as { seqNumber: number; step: string; operation: string; payload: { kind?: string } };
        return `${e.seqNumber} ${e.step}:${e.operation} ${e.payload.kind ?? ''}`;
      });
    const detail = `${h.logId} reached ${h.entries} entries at step ${h.step}; last: ${tail?.join(' | ')}`;
    return { invariant: `no livelock: a chain holds at most ${MAX_CHAIN_ENTRIES} entries`, detail };
  }
  if (isQuiet(world)) return undefined;
  if (isStuck(idle)) return idleViolation(world, idle);
  const detail = `still busy after ${steps} steps and ${Math.round((world.clock.now - start) / 1000)} simulated s`;
  if (steps >= MAX_STEPS) return { invariant: `the run ends within ${MAX_STEPS} steps`, detail };
  const hours = SETTLE_MS / 3600_000;
  const invariant = `quiet within ${hours} simulated hours of the faults stopping`;
  if (world.clock.now > settleBy) return { invariant, detail };
  return undefined;
}

export async function runSchedule(seed: number, faults: FaultSet = faultsFromEnv()): Promise<ScheduleResult> {
  const plan = planFor(seed, faults);
  const world = new World(worldOptions(plan));
  const c = world.counts;
  c.schedules = 1;
  for (const k of [...plan.swarm.classes, ...plan.liar.classes]) c.classes[k] = 1;
  if (plan.liar.classes.length) world.liar = new Liar(world, plan.liar.rng, plan.liar.weights);
  c.clockOffsets = CLOCK_NODES.filter((n) => plan.swarm.clocks[n].offsetMs !== 0).length;
  c.clockDrifts = CLOCK_NODES.filter((n) => plan.swarm.clocks[n].driftPpm !== 0).length;
  for (const t of plan.transfers) {
    const { origin, owner, startAt, ...r } = t;
    const peer = world.nodes[other(origin)].id;
    const request = { ...r, contextId: `ctx-${t.sessionId}`, peer, assetProfileId: 'sim-asset' };
    world.addTransfer({ origin, owner, startAt, request });
  }
  let steps = 0;
  const crashes = new CrashPlan(plan);
  world.onRecovery = () => crashes.onRecovery(steps);
  for (const n of NODES) world.up(n, false);
  await macrotask();
  logPlan(world, plan, faults);
  const start = world.clock.now;
  let settleBy = Infinity;
  let settleFrom = 0;
  let settleAt = 0;
  let idle: Idleness = { steps: 0, ms: 0 };
  world.hazards.active = true;
  for (; steps < MAX_STEPS && !world.halted; steps++) {
    const faulty = steps < plan.faultSteps;
    if (!faulty && settleBy === Infinity) {
      settleBy = world.clock.now + SETTLE_MS;
      settleFrom = world.timeline.step;
      settleAt = world.clock.now;
      world.hazards.stop();
      world.log('world', 'phase', 'faults stop (every store and ledger is back); running until quiet');
    }
    if (!faulty && isQuiet(world)) break;
    if (!faulty) {
      idle = idleness(world, settleFrom, settleAt);
      c.maxIdleSteps = Math.max(c.maxIdleSteps, idle.steps);
      c.maxIdleMs = Math.max(c.maxIdleMs, idle.ms);
      if (isStuck(idle)) break;
    }
    if (world.clock.now > settleBy) break;
    const acts = normalActions(world);
    if (faulty) acts.push(...faultActions(world, plan), ...(world.liar?.actions() ?? []));
    const later = nextEventAt(world);
    if (later !== undefined && later > world.clock.now) {
      acts.push({ weight: acts.length ? 0.5 : 1, run: () => void advanceTime(world) });
    }
    const action = (faulty ? crashes.next(world, steps) : undefined) ?? pickWeighted(plan.rng, acts);
    if (!action) break;
    await runStep(world, action);
  }
  c.maxSteps = steps;
  const violations: Violation[] = [];
  const bound = boundViolation(world, steps, idle, settleBy, start);
  if (bound) violations.push(bound);
  violations.push(...(await checkInvariants(world)));
  if (!bound && !isQuiet(world)) {
    const down = NODES.filter((n: NodeName) => !world.isUp(n));
    const secs = Math.round((world.clock.now - start) / 1000);
    const left = `${world.wire.size} message(s) in flight, ${world.work.length} I/O pending, down: [${down.join(',')}]`;
    const detail = `nothing left to run after ${steps} steps and ${secs} simulated s: ${left}`;
    violations.push({ invariant: 'the world goes quiet once faults stop', detail });
  }
  return { seed, violations, counts: c, steps, simulatedMs: world.clock.now - start, timeline: world.timeline };
}
