// Runs ranges of seeds or sweep scenarios, in this process or in a child on the other core, and merges the results.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { type FaultSet, faultsFromEnv } from './fault-classes.ts';
import { addCounts, emptyCounts, type FaultCounts } from './faults.ts';
import type { Violation } from './invariants.ts';
import { replayCommand, runSchedule } from './schedule.ts';
import { SCENARIOS, type SweepSummary, sweepScenario } from './sweep.ts';

export interface BatchResult {
  counts: FaultCounts;
  failures: { seed: number; command: string; violations: Violation[]; tail: string }[];
  /** Wall time, and CPU time of the process (less sensitive to other load on a shared machine). */
  ms: number;
  cpuMs: number;
}

export async function runBatch(from: number, runs: number, faults: FaultSet = faultsFromEnv()): Promise<BatchResult> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out: BatchResult = { counts: emptyCounts(), failures: [], ms: 0, cpuMs: 0 };
  for (let seed = from; seed < from + runs; seed++) {
    const r = await runSchedule(seed, faults);
    addCounts(out.counts, r.counts);
    if (r.violations.length) {
      const command = replayCommand(seed, faults);
      out.failures.push({ seed, command, violations: r.violations, tail: r.timeline.format(12) });
    }
  }
  out.ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  out.cpuMs = (c.user + c.system) / 1000;
  return out;
}

/**
 * Sweeps the named scenarios; `bounded` (the test) sweeps the second crash only where the scenario asks for it,
 * alternating modes.
 */
export async function runSweeps(
  names: string[],
  mode: 'full' | 'bounded' | 'first-only',
  secondCrashFor?: string[],
): Promise<SweepSummary[]> {
  const out: SweepSummary[] = [];
  for (const s of SCENARIOS.filter((x) => names.includes(x.name))) {
    const second =
      mode === 'full'
        ? 'both'
        : mode === 'first-only'
          ? 'none'
          : (secondCrashFor ?? []).includes(s.name)
            ? 'alternate'
            : 'none';
    out.push(await sweepScenario(s, { secondCrash: second }));
  }
  return out;
}

export function mergeBatches(a: BatchResult, b: BatchResult): BatchResult {
  return {
    counts: addCounts(addCounts(emptyCounts(), a.counts), b.counts),
    failures: [...a.failures, ...b.failures],
    ms: Math.max(a.ms, b.ms),
    cpuMs: a.cpuMs + b.cpuMs,
  };
}

/** The same work in a child Node process (the simulator is single-threaded; vitest gives this machine one worker). */
export function inChild<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./cli.ts', import.meta.url).pathname, ...args, '--json'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = text.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`child ${args.join(' ')} exited ${code} without a result: ${text.slice(-500)}`));
      }
    });
  });
}
