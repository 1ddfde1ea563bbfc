// Timing primitives of the bench: rates over a fixed wall-clock window, with a bounded number of requests in flight.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The hard cap on iterations of any measured loop, so a broken operation cannot spin forever. */
export const MAX_ITERATIONS = 50_000_000;

export interface Rate {
  /** Completed operations per second. */
  perSecond: number;
  ops: number;
  seconds: number;
}

/**
 * Runs `op` for `ms` milliseconds with `inflight` independent loops, each starting the next operation
 * when its previous one resolves, after a warm-up of a tenth of the window (JIT, caches, disk).
 */
export async function rateOf(op: (i: number) => Promise<unknown>, ms: number, inflight = 1): Promise<Rate> {
  await window(op, Math.max(50, ms / 10), inflight);
  return window(op, ms, inflight);
}

async function window(op: (i: number) => Promise<unknown>, ms: number, inflight: number): Promise<Rate> {
  let ops = 0;
  let next = 0;
  const start = performance.now();
  const end = start + ms;
  const loop = async (): Promise<void> => {
    while (performance.now() < end && next < MAX_ITERATIONS) {
      await op(next++);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: ops / seconds, ops, seconds };
}

/**
 * The best of `tries` windows: for limits that other tenants of a shared machine disturb (a disk's fsync
 * latency above all), the best rate seen in this run is the fairer limit.
 */
export async function bestRateOf(
  tries: number,
  op: (i: number) => Promise<unknown>,
  ms: number,
  inflight = 1,
): Promise<Rate> {
  let best = await rateOf(op, ms, inflight);
  for (let i = 1; i < tries; i++) {
    const r = await rateOf(op, ms, inflight);
    if (r.perSecond > best.perSecond) best = r;
  }
  return best;
}

/** The same for a synchronous operation, checking the clock every `chunk` calls. */
export function syncRateOf(op: (i: number) => unknown, ms: number, chunk = 64): Rate {
  const run = (span: number): Rate => {
    let ops = 0;
    const start = performance.now();
    const end = start + span;
    while (performance.now() < end && ops < MAX_ITERATIONS) {
      for (let k = 0; k < chunk; k++) op(ops++);
    }
    const seconds = (performance.now() - start) / 1000;
    return { perSecond: ops / seconds, ops, seconds };
  };
  run(Math.max(50, ms / 10));
  return run(ms);
}

/** The q-quantile (0..1) of a list of numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const now = (): number => performance.now();

/** 1 / Σ 1/rate: the rate of doing one of each operation in turn (costs in series add). */
export const inSeries = (...rates: number[]): number => 1 / rates.reduce((s, r) => s + 1 / r, 0);

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = 100;

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat; 0 once it is gone. */
export function cpuOf(pid: number): number {
  return cpuIn(`/proc/${pid}/stat`);
}

/**
 * CPU seconds this process's main thread has used (user + system), from /proc/self/task/<pid>/stat: the thread
 * that runs the JavaScript, without the libuv pool's threads. Unlike a wall-clock time or a CPU profile, it does not
 * count time the thread waited for a core, so it reads the same on a busy machine.
 */
export function mainThreadCpu(): number {
  return cpuIn(`/proc/self/task/${process.pid}/stat`);
}

function cpuIn(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** This process's CPU seconds (the bench itself: it reads every event line of every gateway process). */
export const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds the whole machine has been busy (every state but idle and iowait), from /proc/stat. */
export function machineBusy(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const t = ticks.map(Number);
  const busy = t.reduce((a, b) => a + b, 0) - (t[3] ?? 0) - (t[4] ?? 0);
  return busy / CLOCK_TICKS;
}

/** What a run of `count` items cost: its rate, CPU seconds per item by group of processes, the cores' busy share. */
export interface CpuPerItem<K extends string> {
  perSecond: number;
  /** Each group's processes, this process (`bench`), and the rest of the machine (`rest`), per item. */
  cpu: Record<K | 'bench' | 'rest', number>;
  /** Busy share of every core over the run. */
  busy: number;
}

/** Runs `work` (`count` items) and reads, from /proc, the CPU each group of `pids` spent on it. */
export async function cpuPerItem<K extends string>(
  groups: Record<K, readonly number[]>,
  count: number,
  work: () => Promise<void>,
): Promise<CpuPerItem<K>> {
  const read = (): Record<string, number> => {
    const r: Record<string, number> = {};
    for (const [k, pids] of Object.entries<readonly number[]>(groups)) r[k] = pids.reduce((n, p) => n + cpuOf(p), 0);
    r.bench = selfCpu();
    return r;
  };
  const cpu0 = read();
  const busy0 = machineBusy();
  const t0 = now();
  await work();
  const seconds = (now() - t0) / 1000;
  const busy = machineBusy() - busy0;
  const cpu1 = read();
  const cpu: Record<string, number> = {};
  let known = 0;
  for (const k of Object.keys(cpu1)) {
    const used = cpu1[k]! - cpu0[k]!;
    cpu[k] = used / count;
    known += used;
  }
  cpu.rest = Math.max(0, busy - known) / count;
  return {
    perSecond: count / seconds,
    cpu: cpu as Record<K | 'bench' | 'rest', number>,
    busy: busy / (seconds * availableParallelism()),
  };
}
