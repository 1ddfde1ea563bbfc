// The exhaustive crash sweep (recovery-04 §5.1, §5.4): every write point of both gateways, crashed just before the
// append lands and just after, in the commit path and a rollback at each stage; then a second crash at the write
// points of the recovery that follows. Deterministic: each point is one scripted run, replayable by its command.
import { describe, expect, it } from 'vitest';
import { inChild, runSweeps } from './sim/batch.ts';
import { SCENARIOS, type SweepSummary } from './sim/sweep.ts';

const NODE = process.env.SATP_RUNTIME !== 'deno';
// Node: the second crash through every scenario that asks for it (one mode per point, alternating), with every
// other scenario in a child process on the other core. Deno: the same first-crash sweep, the second crash
// through the commit path and the two origin-down rollbacks, in one process.
const second = SCENARIOS.filter((s) => (NODE ? s.recoverySweep : ['commit', 'destination-deadline-after-mint-origin-down', 'destination-deadline-after-burn-origin-down'].includes(s.name))).map((s) => s.name);
const remote = NODE ? SCENARIOS.filter((_, i) => i % 2 === 1).map((s) => s.name) : [];
let fromChild: Promise<SweepSummary[]> | undefined;
const child = (): Promise<SweepSummary[]> => (fromChild ??= inChild<SweepSummary[]>(['--sweep-all', remote.join(','), '--second-crash-for', second.join(',')]));

describe('crash sweep: every write point, before and after it lands, and again during the recovery', () => {
  for (const scenario of SCENARIOS) {
    const during = second.includes(scenario.name) ? ', and after a second crash during the recovery' : '';
    it(`${scenario.name}: the invariants hold after a crash at any write point of either gateway${during}`, async () => {
      if (remote.length) void child(); // start the other core's share at once
      const summary = remote.includes(scenario.name)
        ? (await child()).find((s) => s.scenario === scenario.name)!
        : (await runSweeps([scenario.name], 'bounded', second))[0]!;
      const swept = summary.firstCrashRuns + summary.secondCrashRuns;
      console.log(`${scenario.name}: write points A ${summary.writePoints.A}, B ${summary.writePoints.B}; ${summary.firstCrashRuns} first-crash points, ${summary.secondCrashRuns} second-crash points (${swept} swept)`);
      expect(summary.writePoints.A + summary.writePoints.B, 'the fault-free run has write points').toBeGreaterThan(0);
      expect(summary.firstCrashRuns).toBe(2 * (summary.writePoints.A + summary.writePoints.B));
      if (second.includes(scenario.name)) expect(summary.secondCrashRuns, 'some recovery was swept').toBeGreaterThan(0);
      const report = summary.failures.slice(0, 10).map((f) => `${f.command}\n  ${f.violations.map((v) => `${v.invariant}: ${v.detail}`).join('\n  ')}`).join('\n');
      expect(summary.failures.length, `${summary.failures.length} crash points broke an invariant:\n${report}`).toBe(0);
    }, 900_000);
  }
});
