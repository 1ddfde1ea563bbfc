// The exhaustive crash sweep: one deterministic run per (gateway, write point, landed or lost), and again during recovery.
import { SIM_EPOCH } from './clock.ts';
import { checkInvariants, type Violation } from './invariants.ts';
import type { PendingAppend } from './io.ts';
import { describeAppend } from './io.ts';
import { NODES, nodeOf, type NodeName } from './names.ts';
import { SCENARIOS, SESSION, type Scenario } from './scenarios.ts';
import { advanceTime, fireDueTimer, isQuiet, macrotask, runStep } from './scheduler.ts';
import { SETTLE_MS } from './schedule.ts';
import type { Timeline } from './timeline.ts';
import { World } from './world.ts';

export { SCENARIOS };

/** A crash of `node` at its `index`-th append of the run: before it lands (lost) or just after (landed). */
export interface CrashPoint {
  node: NodeName;
  index: number;
  landed: boolean;
}

export const formatCrashPoint = (p: CrashPoint): string => `${p.node}:${p.index}:${p.landed ? 'landed' : 'lost'}`;
export function parseCrashPoint(s: string): CrashPoint {
  const [node, index, mode] = s.split(':');
  if ((node !== 'A' && node !== 'B') || !Number.isSafeInteger(Number(index)) || (mode !== 'landed' && mode !== 'lost')) throw new RangeError(`bad crash point ${s}: want A|B:<index>:landed|lost`);
  return { node, index: Number(index), landed: mode === 'landed' };
}

export const sweepCommand = (s: Scenario, first?: CrashPoint, then?: CrashPoint): string =>
  `npm run simulate -- --sweep ${s.name}${first ? ` --crash ${formatCrashPoint(first)}` : ''}${then ? ` --then ${formatCrashPoint(then)}` : ''}`;

/** How long a swept crash keeps the gateway down: cycles short, medium, and past the lock expiry. */
function downFor(s: Scenario, p: CrashPoint, second: boolean): number {
  const k = p.index + (p.landed ? 1 : 0) + (p.node === 'B' ? 2 : 0) + (second ? 1 : 0);
  return [300, 5_000, s.lockSeconds * 1000 + 12_000][k % 3]!;
}

export interface SweepRun {
  violations: Violation[];
  timeline: Timeline;
  /** Write points of each gateway in this run. */
  appendsBy: Record<NodeName, number>;
  /** Appends issued from the first crash's recovery until the recovered gateway logs RECOVER-SUCCESS (at most 12). */
  recoveryWindow: { node: NodeName; index: number }[];
  world: World;
}

const MAX_STEPS = 5_000;
const WINDOW_CAP = 12;

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
    request: { sessionId: SESSION, contextId: `ctx-${SESSION}`, peer: world.nodes.B.id, assetId: 'asset-1', assetProfileId: 'sim-asset', originator: scenario.originator ?? 'alice', beneficiary: 'bob', lockSeconds: scenario.lockSeconds },
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
    const synced = n === windowOpen && describeAppend(w.texts).some((e) => e.payload === 'recovery-receive recover-success-msg');
    if (synced || window.length >= WINDOW_CAP) windowClosed = true;
  };
  for (const n of NODES) world.up(n, false);
  await macrotask();
  const until = world.clock.now + SETTLE_MS;
  for (let step = 0; step < MAX_STEPS && world.clock.now <= until && !isQuiet(world); step++) {
    const p = pending[0];
    const hit = p && world.work.find((w): w is PendingAppend => w.kind === 'append' && nodeOf(w.inc.node) === p.node && w.index === p.index);
    if (p && hit) {
      pending.shift();
      world.log(p.node, 'note', `sweep: crash at write point ${formatCrashPoint(p)}`);
      await runStep(world, { weight: 1, run: () => world.crash(p.node, (w) => (w === hit ? p.landed : false), world.clock.now + downFor(scenario, p, p === second)) });
      continue;
    }
    // Deterministic order: I/O first (oldest first), then the oldest message, then timers, then time.
    const w = world.work[0];
    const m = world.wire.ready(world.clock.now).sort((a, b) => a.id - b.id)[0];
    const run = w ? () => world.runWork(w) : m ? () => world.deliver(m.id) : world.clock.due().length ? () => void fireDueTimer(world) : advanceTime(world) ? () => undefined : undefined;
    if (!run) break;
    await runStep(world, { weight: 1, run });
  }
  const violations = await checkInvariants(world);
  if (!isQuiet(world)) violations.push({ invariant: 'the world goes quiet once faults stop', detail: `${world.wire.size} message(s) in flight, ${world.work.length} I/O pending, open: A [${world.openSessions('A')}] B [${world.openSessions('B')}]` });
  if (pending.length) violations.push({ invariant: 'the sweep reached its crash points', detail: `never reached ${pending.map(formatCrashPoint).join(', ')}` });
  return { violations, timeline: world.timeline, appendsBy: { A: world.nodes.A.appends, B: world.nodes.B.appends }, recoveryWindow: window, world };
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

/** Every write point of both gateways, crashed before and after landing; then every write point of each recovery. */
export async function sweepScenario(scenario: Scenario, opts: { secondCrash: SecondCrash }): Promise<SweepSummary> {
  const base = await runSweepPoint(scenario);
  const summary: SweepSummary = { scenario: scenario.name, writePoints: base.appendsBy, firstCrashRuns: 0, secondCrashRuns: 0, failures: [] };
  if (base.violations.length) summary.failures.push({ command: sweepCommand(scenario), violations: base.violations });
  for (const node of NODES) {
    for (let index = 1; index <= base.appendsBy[node]; index++) {
      for (const landed of [false, true]) {
        const first = { node, index, landed };
        const r = await runSweepPoint(scenario, first);
        summary.firstCrashRuns++;
        if (r.violations.length) summary.failures.push({ command: sweepCommand(scenario, first), violations: r.violations });
        if (opts.secondCrash === 'none') continue;
        for (const [i, w] of r.recoveryWindow.entries()) {
          const modes = opts.secondCrash === 'both' ? [false, true] : [(i + (landed ? 1 : 0)) % 2 === 1];
          for (const landed2 of modes) {
            const then = { node: w.node, index: w.index, landed: landed2 };
            const r2 = await runSweepPoint(scenario, first, then);
            summary.secondCrashRuns++;
            if (r2.violations.length) summary.failures.push({ command: sweepCommand(scenario, first, then), violations: r2.violations });
          }
        }
      }
    }
  }
  return summary;
}
