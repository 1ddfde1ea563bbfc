// Transfers as a user runs them: two `satp-gateway` processes (the bundled CLI, LevelDB, WebSocket) and two ledger
// server processes, transfers started through the origin's stdin, a fixed number in flight. Besides the rate, the CPU
// time each process spent per transfer (from /proc) shows the per-process ceilings: a process's main thread can give
// at most one core, so 1 / (its CPU per transfer) bounds the rate even with cores to spare.
import { bundleGateway } from '../test/support/gateway-bundle.ts';
import type { LedgerProcess } from '../test/support/ledger-process.ts';
import { type CpuPerItem, cpuPerItem } from './lib/measure.ts';
import { startProcessWorld, transferThrough } from './lib/processes.ts';
import { check } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';

/** The rate, and CPU seconds per transfer of each process (the ledger servers together), the bench and the rest. */
export type ProcessTransfers = CpuPerItem<'origin' | 'destination' | 'ledgers'>;

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
    const measured = await cpuPerItem(
      { origin: [origin.child!.pid], destination: [destination.child!.pid], ledgers: servers.map(pidOf) },
      count,
      () => drive(count),
    );
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
    return measured;
  } finally {
    await world.close();
  }
}

const pidOf = (s: LedgerProcess): number => s.child.pid ?? 0;
