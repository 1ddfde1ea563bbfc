// Part `soak`: one pair of gateways (this process, WebSocket on loopback, LevelDB logs) moves a long stream of
// assets between two ledger servers in their own processes, and the heap and RSS of this process are read after
// full collections every 10,000 transfers. A gateway holds only its open sessions and the last ended ones
// (GatewayOptions.keepEnded): the heap must be flat, its slope per 10,000 transfers is printed. The ledgers run
// elsewhere because a ledger keeps what it recorded; their RSS is printed too, but it is not the gateways'.
// Needs --expose-gc: run.ts runs it in its own process (soak-child.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import { HttpLedger } from '../ledgers/http-ledger.ts';
import { LevelLedger } from '../ledgers/level-ledger.ts';
import { type LedgerProcess, startLedgerProcess } from '../test/support/ledger-process.ts';
import { Counts, DESTINATION_ID, identities, ORIGIN_ID } from './lib/identities.ts';
import { now } from './lib/measure.ts';
import { commitTransfer, dialOrigin, openStore, serveDestination, Trouble, wireGateway } from './lib/pair.ts';
import { check, type Row } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';

const gc = (globalThis as { gc?: () => void }).gc;
/** Transfers in flight at any time. */
const IN_FLIGHT = 64;
/** Heap and RSS are read after every this many transfers (fewer in a smoke run; the slope is per 10,000 anyway). */
const EVERY = 10_000;
/** Samples after the first, at least: a slope needs a few. */
const SAMPLES = 3;
/** Ended sessions each gateway keeps in memory (the driver's default). */
const KEEP_ENDED = 1024;

interface Sample {
  transfers: number;
  heap: number;
  rss: number;
  ledgersRss: number;
  seconds: number;
  /** V8's committed heap, and memory outside it that V8 accounts for (ArrayBuffers, Buffers, native handles). */
  heapTotal: number;
  external: number;
  /**
   * The part of RSS that is mapped files: the node binary and its libraries (about 50 MiB), and LevelDB's table
   * files (it maps up to 1,000), whose pages count in RSS once read, though the kernel can drop them at any time.
   */
  rssFile: number;
}

/** A field of a process's /proc status, in bytes (0 once it is gone). */
function statusOf(pid: number | 'self' | undefined, field = 'VmRSS'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return line ? Number(line[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Least squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function soak(transfers: number, say: (line: string) => void): Promise<Row[]> {
  check(gc, 'the soak needs --expose-gc');
  const every = Math.min(EVERY, Math.floor(transfers / SAMPLES));
  check(every >= 100, `the soak needs at least ${100 * SAMPLES} transfers for a slope`);
  const id = await identities();
  const counts = new Counts();
  const trouble = new Trouble();
  return withTempDir('soak', async (dir) => {
    // Every asset the run moves exists on ledger A before its server starts (a 200,000-asset --assets list would
    // not fit in a command line).
    const seed = await LevelLedger.open(join(dir, 'ledger-a'), {
      id: 'ledger-a',
      signer: id.ledgerA,
      assets: Array.from({ length: transfers }, (_, i) => ({ assetId: `asset-${i}`, owner: 'alice' })),
    });
    await seed.close();
    const servers: LedgerProcess[] = [];
    try {
      for (const l of ['ledger-a', 'ledger-b'])
        servers.push(await startLedgerProcess(['--port', '0', '--db', join(dir, l), '--id', l]));
      const [a, b] = await Promise.all(servers.map((s) => HttpLedger.connect(s.url)));
      const keyOf = async (l: HttpLedger): Promise<PublicJwk> => (await l.health()).publicJwk;
      const [keyA, keyB] = [await keyOf(a!), await keyOf(b!)];
      const peers = {
        [ORIGIN_ID]: { publicJwk: id.origin.publicJwk, networkId: 'ledger-a', ledgerKey: keyA },
        [DESTINATION_ID]: { publicJwk: id.destination.publicJwk, networkId: 'ledger-b', ledgerKey: keyB },
      };
      const server = await serveDestination(id, trouble);
      const client = await dialOrigin(id, server.url, trouble);
      const gateway = { keepEnded: KEEP_ENDED };
      const origin = wireGateway({
        id: ORIGIN_ID,
        signer: id.origin,
        store: await openStore('level', dir, 'origin', id, counts),
        ledger: a!,
        transport: client,
        ids: id,
        counts,
        trouble,
        config: { ledgerKey: keyA, peers },
        gateway,
      });
      const destination = wireGateway({
        id: DESTINATION_ID,
        signer: id.destination,
        store: await openStore('level', dir, 'destination', id, counts),
        ledger: b!,
        peerLedger: a!,
        transport: server,
        ids: id,
        counts,
        trouble,
        config: { ledgerKey: keyB, peers },
        gateway,
      });
      try {
        const samples: Sample[] = [];
        const started = now();
        const sample = (done: number) => {
          gc!();
          gc!();
          const m = process.memoryUsage();
          const s = {
            transfers: done,
            heap: m.heapUsed,
            rss: m.rss,
            ledgersRss: servers.reduce((n, l) => n + statusOf(l.child.pid), 0),
            seconds: (now() - started) / 1000,
            heapTotal: m.heapTotal,
            external: m.external,
            rssFile: statusOf('self', 'RssFile'),
          };
          samples.push(s);
          const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
          say(
            `  soak: ${done.toLocaleString('en-US')} transfers, heap ${(s.heap / 2 ** 20).toFixed(1)} MiB, ` +
              `RSS ${mib(s.rss)} MiB (mapped files ${mib(s.rssFile)}, heap committed ${mib(s.heapTotal)}, ` +
              `external ${mib(s.external)}; ledger servers ${mib(s.ledgersRss)} MiB), ` +
              `held ${origin.gw.sessions().length} + ${destination.gw.sessions().length} sessions, ` +
              `${(done / s.seconds).toFixed(0)}/s`,
          );
        };
        let next = 0;
        let done = 0;
        sample(0);
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            for (let i = next++; i < transfers; i = next++) {
              await commitTransfer(origin, destination, `soak-${i}`, `asset-${i}`);
              if (++done % every === 0) sample(done);
            }
          }),
        );
        trouble.check('soak');
        for (const i of [0, transfers - 1]) {
          const [onA, onB] = [await a!.asset(`asset-${i}`), await b!.asset(`asset-${i}`)];
          check(onA?.state === 'burned' && onB?.owner === 'bob', `asset-${i} moved to bob on ledger B`);
        }
        // The first sample is before warm-up (code, caches, the first keepEnded sessions): the slope is read from
        // the second on.
        const steady = samples.slice(1);
        const xs = steady.map((s) => s.transfers / EVERY);
        const heapSlope = slope(
          xs,
          steady.map((s) => s.heap),
        );
        const rssSlope = slope(
          xs,
          steady.map((s) => s.rss),
        );
        const anonSlope = slope(
          xs,
          steady.map((s) => s.rss - s.rssFile),
        );
        const ledgerSlope = slope(
          xs,
          steady.map((s) => s.ledgersRss),
        );
        const last = samples.at(-1)!;
        const series = steady.map((s) => (s.heap / 2 ** 20).toFixed(1)).join(', ');
        /** Log text per transfer, both gateways' chains: what keeping every ended session would cost at least. */
        const perTransfer = counts.entryChars / transfers;
        return [
          {
            section: 'memory',
            name: `soak: heap slope per 10,000 transfers (${transfers.toLocaleString('en-US')}, ${IN_FLIGHT} at once)`,
            value: heapSlope / 1024,
            unit: 'KiB',
            bound: (EVERY * perTransfer) / 1024,
            boundIs: 'reference: the log text of 10,000 transfers, what keeping them would hold at least',
            ratio: heapSlope / (EVERY * perTransfer),
            ratioAs: '×',
            note: `heap MiB per 10,000: ${series}`,
          },
          {
            section: 'memory',
            name: 'soak: RSS slope per 10,000 transfers (heap, LevelDB caches, buffers)',
            value: rssSlope / 1024,
            unit: 'KiB',
            note:
              `RSS ${(samples[1]!.rss / 2 ** 20).toFixed(0)} → ${(last.rss / 2 ** 20).toFixed(0)} MiB; ` +
              `without mapped files ${(anonSlope / 1024).toFixed(0)} KiB per 10,000; ` +
              `ledger server processes ${(ledgerSlope / 1024).toFixed(0)} KiB per 10,000 (they keep what they record)`,
          },
          {
            section: 'memory',
            name: 'soak: transfers per second (ledger servers over HTTP, fsync on every log append and ledger op)',
            value: transfers / last.seconds,
            unit: '/s',
            note: `${last.seconds.toFixed(0)} s in all`,
          },
        ];
      } finally {
        for (const s of [origin, destination]) {
          s.detach();
          s.gw.close();
        }
        await client.close();
        await server.close();
        await origin.store.close();
        await destination.store.close();
      }
    } finally {
      await Promise.allSettled(servers.map((s) => s.kill('SIGTERM')));
    }
  });
}
