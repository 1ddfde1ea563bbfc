// Part 7: several active gateways per side (docs/high-availability.md), in real processes. 1, 2 and 4 gateway
// processes per side (`satp-gateway --pg … --lease-ttl-ms … --standby-for …`, each holding its own gateway's lease
// and standing by for the others), one PostgreSQL schema per side, two ledger servers: transfers per second with a
// fixed number in flight per origin process. What bounds it on this machine is read in the same run: the CPU time
// every process spent (from /proc), which on 2 cores is the limit once the machine is busy all the time. The bound
// given is the rate at which the measured CPU time per transfer would fill every core.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpLedger } from '../ledgers/http-ledger.ts';
import { bundleGateway } from '../test/support/gateway-bundle.ts';
import type { TransferSpec } from '../test/support/gateway-invariants.ts';
import { haOrgs } from '../test/support/ha-orgs.ts';
import { type LedgerProcess, startLedgerProcess } from '../test/support/ledger-process.ts';
import { startPostgres } from '../test/support/postgres-cluster.ts';
import { type CpuPerItem, cpuPerItem } from './lib/measure.ts';
import { transferThrough } from './lib/processes.ts';
import { check, type Results } from './lib/report.ts';

/** Transfers in flight per origin process: enough to keep its group commit and its links busy. */
const IN_FLIGHT_PER_ORIGIN = 8;

/** The pids of the PostgreSQL server's processes (the postmaster and its backends). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The rate, and CPU seconds per transfer: gateways, ledger servers, PostgreSQL, the bench, the rest of the machine. */
type ScaleRun = CpuPerItem<'gateways' | 'ledgers' | 'postgres'>;

export async function haScale(results: Results, quick: boolean, say: (line: string) => void): Promise<void> {
  const counts = quick ? [1, 2] : [1, 2, 4];
  const perRun = quick ? 24 : 240;
  const dir = mkdtempSync(join(tmpdir(), 'satp-bench-scale-'));
  const cluster = await startPostgres();
  const bundle = await bundleGateway();
  const ledgers: LedgerProcess[] = [];
  try {
    for (const perSide of counts) {
      // Fresh ledgers per run: the invariants hold each ledger's op count against the run's sessions alone.
      const seeded = Array.from({ length: perRun + perSide }, (_, i) => `asset-${i}:owner-${i}`).join(',');
      const ledgerArgs = (id: string, assets?: string) => [
        ...['--port', '0', '--db', join(dir, `${id}-n${perSide}`), '--id', id],
        ...(assets ? ['--assets', assets] : []),
      ];
      await Promise.allSettled(ledgers.splice(0).map((l) => l.kill('SIGKILL')));
      ledgers.push(await startLedgerProcess(ledgerArgs('ledger-a', seeded)));
      ledgers.push(await startLedgerProcess(ledgerArgs('ledger-b')));
      const [la, lb] = ledgers as [LedgerProcess, LedgerProcess];
      const keyOf = async (url: string) => (await (await HttpLedger.connect(url)).health()).publicJwk;
      const ledgerInfo = {
        a: { url: la.url, id: 'ledger-a', publicJwk: await keyOf(la.url) },
        b: { url: lb.url, id: 'ledger-b', publicJwk: await keyOf(lb.url) },
      };
      let next = 0;
      const runDir = join(dir, `n${perSide}`);
      const orgs = await haOrgs({
        runtime: 'node',
        bundle: bundle.path,
        dir: mkdtempSync(`${runDir}-`),
        pg: cluster.url,
        perSide,
        schemas: { a: `scale${perSide}_a`, b: `scale${perSide}_b` },
        ledgers: ledgerInfo,
        ttlMs: 5_000,
        flags: ['--retransmit-ms', '2000', '--min-lock-seconds', '5'],
      });
      try {
        await orgs.start();
        const transfers: TransferSpec[] = [];
        /** Runs `count` transfers, origin i to destination i, at most IN_FLIGHT_PER_ORIGIN in flight per origin. */
        const drive = async (count: number) => {
          let issued = 0;
          const lane = async (i: number) => {
            const origin = orgs.ids.a[i]!;
            const child = orgs.procs[origin]!;
            for (;;) {
              if (issued >= count) return;
              const n = next++;
              issued++;
              const spec = {
                sessionId: `n${perSide}-${n}`,
                assetId: `asset-${n}`,
                originator: `owner-${n}`,
                beneficiary: `beneficiary-${n}`,
                origin,
                destination: orgs.ids.b[i]!,
              };
              transfers.push(spec);
              await transferThrough(child, spec);
            }
          };
          await Promise.all(orgs.ids.a.flatMap((_, i) => Array.from({ length: IN_FLIGHT_PER_ORIGIN }, () => lane(i))));
        };
        await drive(perSide); // warm-up: one transfer per origin, not measured
        const pids = {
          gateways: Object.values(orgs.procs).map((c) => c.pid),
          ledgers: ledgers.map((l) => l.child.pid!),
        };
        const run: ScaleRun = await cpuPerItem(
          { gateways: pids.gateways, ledgers: pids.ledgers, postgres: postgresPids() },
          perRun,
          () => drive(perRun),
        );
        await orgs.settleAndStop(20_000);
        const report = await orgs.check(transfers);
        check(report.problems.length === 0, `scale ${perSide}: ${report.problems.slice(0, 3).join('; ')}`);
        check(report.committed === transfers.length, `scale ${perSide}: ${report.rolledBack} rolled back`);
        const perTransfer = run.cpu.gateways + run.cpu.ledgers + run.cpu.postgres + run.cpu.bench + run.cpu.rest;
        const bound = availableParallelism() / perTransfer;
        const ms = (s: number) => `${(s * 1000).toFixed(1)}`;
        results.rate(
          'ha',
          `transfers, ${perSide} gateway process${perSide > 1 ? 'es' : ''} per side over PostgreSQL (${perRun})`,
          run.perSecond,
          bound,
          `all ${availableParallelism()} cores at the run's CPU per transfer`,
          {
            note:
              `CPU ms per transfer: gateways ${ms(run.cpu.gateways)}, ledgers ${ms(run.cpu.ledgers)}, ` +
              `PostgreSQL ${ms(run.cpu.postgres)}, the bench reading events ${ms(run.cpu.bench)}, ` +
              `the rest of the machine ${ms(run.cpu.rest)}; cores busy ${(run.busy * 100).toFixed(0)} %`,
          },
        );
        say(
          `  ha scale: ${perSide} per side: ${run.perSecond.toFixed(1)}/s, CPU ${ms(perTransfer)} ms per transfer ` +
            `(gateways ${ms(run.cpu.gateways)}), busy ${(run.busy * 100).toFixed(0)} %`,
        );
      } finally {
        await orgs.killAll();
      }
    }
  } finally {
    await Promise.allSettled(ledgers.map((l) => l.kill('SIGKILL')));
    await cluster.stop();
    bundle.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
