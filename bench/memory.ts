// Part 5: heap and RSS per in-flight session, with 10,000 sessions started and held mid-transfer (the
// destination never answers). Needs --expose-gc: run.ts runs it in its own process (memory-child.ts).
import { logIdOf } from '../kernel/entry.ts';
import { benchPeers, Counts, identities, ORIGIN_ID } from './lib/identities.ts';
import { CountingDriver, ledgers, realClock, transferRequest } from './lib/pair.ts';
import { check, type Row } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';
import { Gateway } from '../kernel/driver.ts';
import { gatewayConfig } from '../kernel/satp/index.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';
import { outcomeOf } from '../kernel/satp/state.ts';

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap and RSS after full collections (twice: the first may leave finalizable garbage for the second). */
function settled(): { heap: number; rss: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

export async function memory(sessions: number): Promise<Row[]> {
  check(gc, 'the memory scenario needs --expose-gc');
  const id = await identities();
  const counts = new Counts();
  return withTempDir('memory', async (dir) => {
    const { a } = ledgers(id, counts, sessions);
    const store = new LogStore(new CountingDriver(await LevelDriver.open(dir), counts), {
      keys: id.keys,
      verifier: id.verifier,
    });
    const peers = benchPeers(id);
    const gw = new Gateway({
      config: gatewayConfig({
        id: ORIGIN_ID,
        publicJwk: id.origin.publicJwk,
        networkId: 'ledger-a',
        ledgerKey: id.ledgerA.publicJwk,
        peers,
        retransmitMs: 3_600_000,
      }),
      signer: id.origin,
      verifier: id.verifier,
      keys: id.keys,
      store,
      ledger: a,
      clock: realClock,
      // The destination never answers: every message is accepted and dropped.
      outbox: { send: async () => undefined },
    });
    try {
      const start = async (from: number, to: number) => {
        let next = from;
        await Promise.all(
          Array.from({ length: 256 }, async () => {
            for (let i = next++; i < to; i = next++) {
              const r = await gw.startTransfer(transferRequest(`m-${i}`, `asset-${i}`));
              check(r.accepted, `session m-${i} started`);
            }
          }),
        );
      };
      // A first round warms up code and caches, so the baseline holds them too.
      await start(0, 100);
      const base = settled();
      const half = Math.floor(sessions / 2);
      await start(100, 100 + half);
      const mid = settled();
      await start(100 + half, 100 + sessions);
      const end = settled();
      const open = gw.sessions().filter((s) => !outcomeOf(s) && s.wait.kind === 'message').length;
      check(open === sessions + 100, `${sessions + 100} sessions are open and waiting for the destination (${open})`);
      for (const i of [0, sessions / 2, sessions + 99]) {
        const v = await store.verifyLog(logIdOf(`m-${i}`, ORIGIN_ID));
        check(v.ok, `the chain of m-${i} verifies`);
      }
      const chars = counts.entryChars / (sessions + 100);
      const perHeap = (end.heap - base.heap) / sessions;
      const perRss = (end.rss - base.rss) / sessions;
      // Bounded: the second half costs what the first did per session (no growth beyond the sessions themselves).
      const firstHalf = (mid.heap - base.heap) / half;
      const secondHalf = (end.heap - mid.heap) / (sessions - half);
      return [
        {
          section: 'memory',
          name: `heap per open session, ${sessions.toLocaleString('en-US')} sessions held mid-transfer`,
          value: perHeap / 1024,
          unit: 'KiB',
          bound: chars / 1024,
          boundIs: "reference: the session's own log text",
          ratio: perHeap / chars,
          ratioAs: '×',
          note:
            `${((end.heap - base.heap) / 2 ** 20).toFixed(1)} MiB in all; ` +
            `2nd half ${(secondHalf / 1024).toFixed(1)} KiB/session vs 1st ${(firstHalf / 1024).toFixed(1)}`,
        },
        {
          section: 'memory',
          name: 'RSS per open session (heap, LevelDB caches, buffers)',
          value: perRss / 1024,
          unit: 'KiB',
          note: `RSS ${(end.rss / 2 ** 20).toFixed(0)} MiB at the end, ${(base.rss / 2 ** 20).toFixed(0)} MiB before`,
        },
      ];
    } finally {
      gw.close();
      await store.close();
    }
  });
}
