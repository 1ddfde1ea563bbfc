// The exhaustive crash sweep (recovery-04 §5.1, §5.4): every write point of both gateways, crashed just before the
// append lands and just after, and its append failed (STORAGE_FAILURE) without landing and after landing with the
// gateway up, in the commit path and a rollback at each stage; then a second crash at the write points of the
// recovery that follows each crash. Deterministic: each point is one scripted run, replayable by its command.
import { describe, expect, it } from 'vitest';
import { inChild, runSweeps } from '../sim/batch.ts';
import { SCENARIOS, type SweepSummary } from '../sim/sweep.ts';

const NODE = process.env.SATP_RUNTIME !== 'deno';
// Node: the whole sweep, a second crash in both modes (before and after the append lands) at every write point
// of every recovery, with every other scenario in a child process on the other core. Deno: the same
// first-crash sweep, and the second crash (one mode per point, alternating) through the commit path and the
// two origin-down rollbacks, in one process.
// Two switches for mutation runs (docs/mutation-testing.md). SATP_SIM_NO_CHILD=1: no child process (it would
// load the kernel without the mutant under test active), and each test sweeps its own scenario when it runs,
// so that a test run alone sweeps what it checks. SATP_SWEEP_SECOND=<names, comma-separated>: the sweep as
// under Deno, in one process, with the second crash for these scenarios only (empty: for none).
const NO_CHILD = process.env.SATP_SIM_NO_CHILD === '1';
const SECOND = process.env.SATP_SWEEP_SECOND;
const FULL = NODE && SECOND === undefined;
const second =
  SECOND !== undefined
    ? SECOND.split(',').filter(Boolean)
    : NODE
      ? SCENARIOS.map((s) => s.name)
      : ['commit', 'destination-deadline-after-mint-origin-down', 'destination-deadline-after-burn-origin-down'];
const mode = FULL ? 'full' : 'bounded';
const remote = FULL && !NO_CHILD ? SCENARIOS.filter((_, i) => i % 2 === 1).map((s) => s.name) : [];
const local = SCENARIOS.map((s) => s.name).filter((name) => !remote.includes(name));
// Both shares start together at the first test, so the two cores work at once; each test awaits its own.
let started: { here: Promise<SweepSummary[]>; child: Promise<SweepSummary[]> } | undefined;
const start = () =>
  (started ??= {
    child: remote.length ? inChild<SweepSummary[]>(['--sweep-all', remote.join(',')]) : Promise.resolve([]),
    here: runSweeps(local, mode, second),
  });

describe('crash sweep: every write point, crashed or failed before and after it lands, and again in recovery', () => {
  for (const scenario of SCENARIOS) {
    const during = second.includes(scenario.name) ? ', and after a second crash during the recovery' : '';
    it(`${scenario.name}: ` +
      `the invariants hold after a crash at any write point of either gateway${during}`, async () => {
      const shares = NO_CHILD ? undefined : start();
      const sweeps = shares
        ? await (remote.includes(scenario.name) ? shares.child : shares.here)
        : await runSweeps([scenario.name], mode, second);
      const summary = sweeps.find((s) => s.scenario === scenario.name)!;
      const swept = summary.firstCrashRuns + summary.secondCrashRuns;
      console.log(
        `${scenario.name}: write points A ${summary.writePoints.A}, B ${summary.writePoints.B}; ` +
          `${summary.firstCrashRuns} first-crash points, ` +
          `${summary.secondCrashRuns} second-crash points (${swept} swept)`,
      );
      expect(summary.writePoints.A + summary.writePoints.B, 'the fault-free run has write points').toBeGreaterThan(0);
      // Four modes per write point: crash before it lands, crash after, append fails not landed, fails landed.
      expect(summary.firstCrashRuns).toBe(4 * (summary.writePoints.A + summary.writePoints.B));
      if (second.includes(scenario.name)) expect(summary.secondCrashRuns, 'some recovery was swept').toBeGreaterThan(0);
      const report = summary.failures
        .slice(0, 10)
        .map((f) => `${f.command}\n  ${f.violations.map((v) => `${v.invariant}: ${v.detail}`).join('\n  ')}`)
        .join('\n');
      expect(summary.failures.length, `${summary.failures.length} crash points broke an invariant:\n${report}`).toBe(0);
    }, 900_000);
  }
});
