// `npm run simulate -- --seed N`: one schedule's timeline and invariant results. `--runs N --from S`: a range of
// seeds and the fault counts. `--sweep <scenario> [--crash A:3:lost] [--then B:9:landed]`: one crash-sweep point.
// `--sweep-all [names,...] [--first-only | --second-crash-for names,...]`: whole sweeps (default: both modes of
// a second crash at every recovery write point). `--json`: the machine-readable result on the last line.
// `--faults <classes>` (or SATP_SIM_FAULTS) selects the switchable fault classes of schedules: `all` (default),
// `none`, groups `clocks,storage,ledger`, single classes (`clock-jump`), `-name` to leave one out.
// Crash-sweep points: `--crash A:7:lost|landed` crash the gateway before or after its 7th append lands;
// `A:7:fail-lost|fail-landed` fail that append with STORAGE_FAILURE, not landed or landed, the gateway up.
import { runBatch, runSweeps } from './batch.ts';
import { formatFaults, parseFaults } from './fault-classes.ts';
import { formatCounts } from './faults.ts';
import { runSchedule } from './schedule.ts';
import { parseCrashPoint, runSweepPoint, SCENARIOS } from './sweep.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const violationsText = (vs: { invariant: string; detail: string }[]): string =>
  vs.map((v) => `  ${v.invariant}: ${v.detail}`).join('\n');

async function main(): Promise<number> {
  const json = flag('json');
  if (flag('sweep-all')) {
    const list = arg('sweep-all');
    const names = list && !list.startsWith('--') ? list.split(',') : SCENARIOS.map((s) => s.name);
    const second = arg('second-crash-for');
    const mode = flag('first-only') ? 'first-only' : second ? 'bounded' : 'full';
    const summaries = await runSweeps(names, mode, second?.split(','));
    if (json) console.log(JSON.stringify(summaries));
    else
      for (const s of summaries)
        console.log(
          `${s.scenario}: write points ${JSON.stringify(s.writePoints)}, ` +
            `${s.firstCrashRuns} + ${s.secondCrashRuns} crash runs, ${s.failures.length} failing` +
            `${s.failures.map((f) => `\n  ${f.command}\n${violationsText(f.violations)}`).join('')}`,
        );
    return summaries.some((s) => s.failures.length) ? 1 : 0;
  }
  const sweep = arg('sweep');
  if (sweep) {
    const scenario = SCENARIOS.find((s) => s.name === sweep);
    if (!scenario) {
      console.error(`unknown scenario ${sweep}; one of: ${SCENARIOS.map((s) => s.name).join(', ')}`);
      return 2;
    }
    const first = arg('crash');
    const then = arg('then');
    const r = await runSweepPoint(
      scenario,
      first ? parseCrashPoint(first) : undefined,
      then ? parseCrashPoint(then) : undefined,
    );
    console.log(r.timeline.format());
    console.log(
      `\nwrite points: ${JSON.stringify(r.appendsBy)}; ` +
        `recovery window: ${r.recoveryWindow.map((w) => `${w.node}:${w.index}`).join(' ') || 'none'}`,
    );
    console.log(r.violations.length ? `\nVIOLATIONS:\n${violationsText(r.violations)}` : '\nall invariants hold');
    return r.violations.length ? 1 : 0;
  }
  const faults = parseFaults(arg('faults') ?? process.env.SATP_SIM_FAULTS);
  const seed = arg('seed');
  if (seed !== undefined) {
    const r = await runSchedule(Number(seed), faults);
    console.log(r.timeline.format());
    console.log(
      `\n${r.steps} steps, ${(r.simulatedMs / 1000).toFixed(1)} simulated s, ` +
        `timeline fingerprint ${r.timeline.fingerprint()}`,
    );
    console.log(formatCounts(r.counts));
    console.log(
      r.violations.length ? `\nVIOLATIONS (seed ${r.seed}):\n${violationsText(r.violations)}` : '\nall invariants hold',
    );
    return r.violations.length ? 1 : 0;
  }
  const runs = Number(arg('runs') ?? 100);
  const from = Number(arg('from') ?? 1);
  const r = await runBatch(from, runs, faults);
  if (json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  for (const f of r.failures) console.log(`seed ${f.seed}:\n${violationsText(f.violations)}\n  replay: ${f.command}`);
  console.log(`switchable fault classes: ${formatFaults(faults)}`);
  console.log(formatCounts(r.counts));
  // Failing seeds by the invariants they broke (first three seeds of each).
  const by = new Map<string, number[]>();
  for (const f of r.failures) {
    for (const v of new Set(f.violations.map((x) => x.invariant))) by.set(v, [...(by.get(v) ?? []), f.seed]);
  }
  for (const [v, seeds] of [...by].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`  ${seeds.length} seed(s): ${v} (e.g. ${seeds.slice(0, 3).join(', ')})`);
  }
  console.log(
    `${runs} schedules in ${(r.ms / 1000).toFixed(1)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s CPU ` +
      `(${(r.ms / runs).toFixed(1)} s wall, ${(r.cpuMs / runs).toFixed(1)} s CPU per 1,000); ` +
      `${r.failures.length} with violations`,
  );
  return r.failures.length ? 1 : 0;
}

process.exitCode = await main();
