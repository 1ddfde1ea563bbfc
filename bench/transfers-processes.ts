// Transfers as a user runs them: two `satp-gateway` processes (the bundled CLI, LevelDB, WebSocket) and two ledger
// server processes, transfers started through the origin's stdin, a fixed number in flight. Besides the rate, the CPU
// time each process spent per transfer (from /proc) shows the per-process ceilings: a process's main thread can give
// at most one core, so 1 / (its CPU per transfer) bounds the rate even with cores to spare.
import { availableParallelism } from 'node:os';
import { bundleGateway } from '../test/support/gateway-bundle.ts';
import type { LedgerProcess } from '../test/support/ledger-process.ts';
import { cpuOf, machineBusy, now, selfCpu } from './lib/measure.ts';
import { startProcessWorld, transferThrough } from './lib/processes.ts';
import { check } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';

export interface ProcessTransfers {
  perSecond: number;
  /** CPU seconds per transfer, each process (the ledger servers together), the bench, the rest of the machine. */
  cpu: { origin: number; destination: number; ledgers: number; bench: number; rest: number };
  /** Busy share of every core over the run. */
  busy: number;
}

/** Transfers in processes: `count` measured after a warm-up of `inFlight`, `inFlight` at a time. */
export async function transfersInProcesses(count: number, inFlight: number): Promise<ProcessTransfers> {
  const bundle = await bundleGateway();
  try {
    return await withTempDir('transfers-processes', (dir) => run(dir, count, inFlight, bundle.path));
  } finally {
    bundle.remove();
  }
}

async function run(dir: string, count: number, inFlight: number, bundle: string): Promise<ProcessTransfers> {
  const total = count + inFlight;
  const world = await startProcessWorld(
    dir,
    bundle,
    Array.from({ length: total }, (_, i) => ({ assetId: `asset-${i}`, owner: `owner-${i}` })),
  );
  const { pair, servers } = world;
  const [a, b] = world.ledgers;
  try {
    const { origin, destination } = pair.members;
    let next = 0;
    const drive = async (n: number) => {
      const end = next + n;
      let k = next;
      const lane = async () => {
        for (let i = k++; i < end; i = k++)
          await transferThrough(origin.child!, {
            sessionId: `p-${i}`,
            assetId: `asset-${i}`,
            originator: `owner-${i}`,
            beneficiary: `beneficiary-${i}`,
            destination: destination.id,
          });
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      next = end;
    };
    await drive(inFlight); // warm-up, not measured
    const pids = { origin: origin.child!.pid, destination: destination.child!.pid, ledgers: servers.map(pidOf) };
    const cpuNow = () => ({
      origin: cpuOf(pids.origin),
      destination: cpuOf(pids.destination),
      ledgers: pids.ledgers.reduce((n, pid) => n + cpuOf(pid), 0),
      bench: selfCpu(),
    });
    const cpu0 = cpuNow();
    const busy0 = machineBusy();
    const t0 = now();
    await drive(count);
    const seconds = (now() - t0) / 1000;
    const busy = machineBusy() - busy0;
    const cpu1 = cpuNow();
    const used = {
      origin: cpu1.origin - cpu0.origin,
      destination: cpu1.destination - cpu0.destination,
      ledgers: cpu1.ledgers - cpu0.ledgers,
      bench: cpu1.bench - cpu0.bench,
    };
    const known = used.origin + used.destination + used.ledgers + used.bench;
    // Every transfer committed at the origin (transferThrough checks each); the destination and the ledgers agree.
    let committed = 0;
    await destination.child!.waitFor(
      (e) => e.event === 'outcome' && e.outcome === 'committed' && ++committed >= total,
      60_000,
      'every transfer committed at the destination',
    );
    for (const i of [0, total - 1]) {
      const [onA, onB] = [await a.asset(`asset-${i}`), await b.asset(`asset-${i}`)];
      check(onA?.state === 'burned' && onB?.owner === `beneficiary-${i}`, `asset-${i} moved once`);
    }
    await pair.stop();
    return {
      perSecond: count / seconds,
      cpu: {
        origin: used.origin / count,
        destination: used.destination / count,
        ledgers: used.ledgers / count,
        bench: used.bench / count,
        rest: Math.max(0, busy - known) / count,
      },
      busy: busy / (seconds * availableParallelism()),
    };
  } finally {
    await world.close();
  }
}

const pidOf = (s: LedgerProcess): number => s.child.pid ?? 0;
