// The exhaustive crash sweep: one deterministic run per (gateway, write point, mode), and again during recovery.
import { SIM_EPOCH } from './clock.ts';
import { checkInvariants, type Violation } from './invariants.ts';
import type { PendingAppend } from './io.ts';
import { describeAppend } from './io.ts';
import { NODES, nodeOf, type NodeName } from './names.ts';
import { SCENARIOS, SESSION, type Scenario } from './scenarios.ts';
import { advanceTime, fireDueTimer, isQuiet, macrotask, readyWork, runStep } from './scheduler.ts';
import { type Idleness, idleness, idleViolation, isStuck } from './scheduler.ts';
import { SETTLE_MS } from './schedule.ts';
import type { Timeline } from './timeline.ts';
import { MAX_CHAIN_ENTRIES, World } from './world.ts';

export { SCENARIOS };

/**
 * What happens at a write point (the `index`-th append of `node` in the run): `lost` and `landed` crash the
 * gateway before the append lands or just after; `fail-lost` and `fail-landed` keep the gateway up and fail
 * the append with STORAGE_FAILURE, without landing or after landing (an unknown outcome).
 */
export const POINT_MODES = ['lost', 'landed', 'fail-lost', 'fail-landed'] as const;
export type PointMode = (typeof POINT_MODES)[number];
export const isCrash = (mode: PointMode): boolean => mode === 'lost' || mode === 'landed';

export interface CrashPoint {
  node: NodeName;
  index: number;
  mode: PointMode;
}

export const formatCrashPoint = (p: CrashPoint): string => `${p.node}:${p.index}:${p.mode}`;
export function parseCrashPoint(s: string): CrashPoint {
  const [node, index, mode] = s.split(':');
  const known = (POINT_MODES as readonly string[]).includes(mode ?? '');
  if ((node !== 'A' && node !== 'B') || !Number.isSafeInteger(Number(index)) || !known) {
    throw new RangeError(`bad crash point ${s}: want A|B:<index>:${POINT_MODES.join('|')}`);
  }
  return { node, index: Number(index), mode: mode as PointMode };
}

export const sweepCommand = (s: Scenario, first?: CrashPoint, then?: CrashPoint): string =>
  `npm run simulate -- --sweep ${s.name}${first ? ` --crash ${formatCrashPoint(first)}` : ''}` +
  `${then ? ` --then ${formatCrashPoint(then)}` : ''}`;

/** How long a swept crash keeps the gateway down: cycles short, medium, and past the lock expiry. */
function downFor(s: Scenario, p: CrashPoint, second: boolean): number {
  const k = p.index + (p.mode === 'landed' ? 1 : 0) + (p.node === 'B' ? 2 : 0) + (second ? 1 : 0);
  return [300, 5_000, s.lockSeconds * 1000 + 12_000][k % 3]!;
}

export interface SweepRun {
  violations: Violation[];
  timeline: Timeline;
  /** Write points of each gateway in this run. */
  appendsBy: Record<NodeName, number>;
  /** Appends issued from the first crash's recovery until the recovered gateway logs RECOVER-SUCCESS (at most 12). */
  recoveryWindow: { node: NodeName; index: number }[];
  /** The most steps in a row without an entry landing after the last swept point (before quiet). */
  idleMax: number;
  world: World;
}

const MAX_STEPS = 5_000;
const WINDOW_CAP = 12;
/**
 * Steps in a row without an entry landing, after the last swept point, past which the run is stuck. Lower than
 * for schedules (one transfer, no latency): the longest legitimate wait measured over every first-crash point of
 * every scenario is 102 steps (test/sim/README.md).
 */
const MAX_IDLE_STEPS = 300;

export async function runSweepPoint(scenario: Scenario, first?: CrashPoint, second?: CrashPoint): Promise<SweepRun> {
  const world = new World({
    latency: () => 0,
    assets: [{ node: 'A', assetId: 'asset-1', owner: 'alice' }],
    ...(scenario.nodeConfig ? { nodeConfig: scenario.nodeConfig } : {}),
  });
  world.addTransfer({
    origin: 'A',
    owner: 'alice',
    startAt: SIM_EPOCH,
    request: {
      sessionId: SESSION,
      contextId: `ctx-${SESSION}`,
      peer: world.nodes.B.id,
      assetId: 'asset-1',
      assetProfileId: 'sim-asset',
      originator: scenario.originator ?? 'alice',
      beneficiary: 'bob',
      lockSeconds: scenario.lockSeconds,
    },
  });
  scenario.script?.(world);
  const pending = [first, second].filter((p): p is CrashPoint => p !== undefined);
  const window: SweepRun['recoveryWindow'] = [];
  let windowOpen: NodeName | undefined;
  let windowClosed = false;
  // The window opens when the gateway of the first swept crash comes back with unfinished sessions
  // (not at a scripted crash's restart before it).
  world.onRecovery = (n) => {
    if (first && !pending.includes(first) && n === first.node && !windowOpen && !windowClosed) windowOpen = n;
  };
  world.onAppendIssued = (w: PendingAppend) => {
    if (!windowOpen || windowClosed) return;
    const n = nodeOf(w.inc.node);
    window.push({ node: n, index: w.index });
    const synced =
      n === windowOpen && describeAppend(w.texts).some((e) => e.payload === 'recovery-receive recover-success-msg');
    if (synced || window.length >= WINDOW_CAP) windowClosed = true;
  };
  for (const n of NODES) world.up(n, false);
  await macrotask();
  const until = world.clock.now + SETTLE_MS;
  let step = 0;
  // Once every swept point has happened the world must make progress until quiet (as a schedule after its faults).
  let settleFrom: number | undefined;
  let idle: Idleness = { steps: 0, ms: 0 };
  let idleMax = 0;
  for (; step < MAX_STEPS && world.clock.now <= until && !isQuiet(world) && !world.halted; step++) {
    const p = pending[0];
    if (!p) {
      settleFrom ??= world.timeline.step;
      idle = idleness(world, settleFrom, 0);
      idleMax = Math.max(idleMax, idle.steps);
      if (isStuck(idle, MAX_IDLE_STEPS, 0)) break;
    }
    const isHit = (w: (typeof world.work)[number]): w is PendingAppend =>
      w.kind === 'append' && nodeOf(w.inc.node) === p?.node && w.index === p.index;
    const hit = p && world.work.find(isHit);
    if (p && hit) {
      pending.shift();
      if (isCrash(p.mode)) {
        world.log(p.node, 'note', `sweep: crash at write point ${formatCrashPoint(p)}`);
        const restartAt = world.clock.now + downFor(scenario, p, p === second);
        const lands = (w: (typeof world.work)[number]) => (w === hit ? p.mode === 'landed' : false);
        await runStep(world, { weight: 1, run: () => world.crash(p.node, lands, restartAt) });
      } else {
        world.log(p.node, 'note', `sweep: the append at ${formatCrashPoint(p)} fails, the gateway stays up`);
        const fault = p.mode === 'fail-landed' ? 'fail-landed' : 'fail-lost';
        await runStep(world, { weight: 1, run: () => world.runWork(hit, fault) });
      }
      continue;
    }
    // Deterministic order: I/O first (oldest first), then the oldest message, then timers, then time.
    const w = readyWork(world)[0];
    const m = world.wire.ready(world.clock.now).sort((a, b) => a.id - b.id)[0];
    const run = w
      ? () => world.runWork(w, world.ledgerFault?.(w))
      : m
        ? () => world.deliver(m.id)
        : world.clock.due().length
          ? () => void fireDueTimer(world)
          : advanceTime(world)
            ? () => undefined
            : undefined;
    if (!run) break;
    await runStep(world, { weight: 1, run });
  }
  const violations = await checkInvariants(world);
  for (const e of world.expectations) {
    const detail = e.check();
    if (detail) violations.push({ invariant: e.invariant, detail });
  }
  const h = world.halted;
  const open = `open: A [${world.openSessions('A')}] B [${world.openSessions('B')}]`;
  if (h) {
    const invariant = `no livelock: a chain holds at most ${MAX_CHAIN_ENTRIES} entries`;
    violations.unshift({ invariant, detail: `${h.logId} reached ${h.entries} entries at step ${h.step}` });
  } else if (!isQuiet(world) && isStuck(idle, MAX_IDLE_STEPS, 0)) {
    violations.unshift(idleViolation(world, idle, MAX_IDLE_STEPS, 0));
  } else if (!isQuiet(world)) {
    const timeUp = world.clock.now > until;
    const bound = step >= MAX_STEPS ? `the step bound (${MAX_STEPS})` : timeUp ? 'the time bound' : 'no work';
    const left = `${world.wire.size} message(s) in flight, ${world.work.length} I/O pending`;
    const detail = `stopped at ${bound}: ${left}, ${open}`;
    violations.push({ invariant: 'the world goes quiet once faults stop', detail });
  }
  if (pending.length)
    violations.push({
      invariant: 'the sweep reached its crash points',
      detail: `never reached ${pending.map(formatCrashPoint).join(', ')}`,
    });
  const appendsBy = { A: world.nodes.A.appends, B: world.nodes.B.appends };
  return { violations, timeline: world.timeline, appendsBy, recoveryWindow: window, idleMax, world };
}

export interface SweepFailure {
  command: string;
  violations: Violation[];
}

export interface SweepSummary {
  scenario: string;
  writePoints: Record<NodeName, number>;
  firstCrashRuns: number;
  secondCrashRuns: number;
  failures: SweepFailure[];
}

/**
 * How the second crash is swept over each recovery's write points: `both` crashes each point before and
 * after it lands (the full sweep, `--sweep-all`); `alternate` takes one of the two per point, alternating
 * so that each point of a recovery meets both across the first crash's two modes (the test's bounded
 * sweep); `none` skips the second crash.
 */
export type SecondCrash = 'both' | 'alternate' | 'none';

/**
 * Every write point of both gateways in each mode (crashed before and after landing, failed not landed and
 * landed); then, after each crash, every write point of its recovery. A failed append leaves its gateway up, so
 * no recovery follows it and it gets no second crash.
 */
export async function sweepScenario(scenario: Scenario, opts: { secondCrash: SecondCrash }): Promise<SweepSummary> {
  const base = await runSweepPoint(scenario);
  const summary: SweepSummary = {
    scenario: scenario.name,
    writePoints: base.appendsBy,
    firstCrashRuns: 0,
    secondCrashRuns: 0,
    failures: [],
  };
  if (base.violations.length) summary.failures.push({ command: sweepCommand(scenario), violations: base.violations });
  for (const node of NODES) {
    for (let index = 1; index <= base.appendsBy[node]; index++) {
      for (const mode of POINT_MODES) {
        const first = { node, index, mode };
        const r = await runSweepPoint(scenario, first);
        summary.firstCrashRuns++;
        if (r.violations.length)
          summary.failures.push({ command: sweepCommand(scenario, first), violations: r.violations });
        if (opts.secondCrash === 'none' || !isCrash(mode)) continue;
        const landed = mode === 'landed';
        for (const [i, w] of r.recoveryWindow.entries()) {
          const alternate: PointMode = (i + (landed ? 1 : 0)) % 2 === 1 ? 'landed' : 'lost';
          const modes: PointMode[] = opts.secondCrash === 'both' ? ['lost', 'landed'] : [alternate];
          for (const mode2 of modes) {
            const then = { node: w.node, index: w.index, mode: mode2 };
            const r2 = await runSweepPoint(scenario, first, then);
            summary.secondCrashRuns++;
            if (r2.violations.length)
              summary.failures.push({ command: sweepCommand(scenario, first, then), violations: r2.violations });
          }
        }
      }
    }
  }
  return summary;
}
