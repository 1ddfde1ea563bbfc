// Conformance cases for the recovery-04 §3 log primitives: write, read by seq, length, last entry, whole log, ranges.
import { describe, expect } from 'vitest';
import { logIdFor, makeChain, PEER, refusal } from './fixtures.ts';
import { type StoreHarness, storeTest } from './harness.ts';

export function primitiveCases(h: StoreHarness): void {
  describe('recovery-04 §3 log primitives', () => {
    storeTest(
      h,
      'writeLogEntry appends one entry that getLogEntry, getLogLength, getLastEntry and getLog return unchanged',
      async (t) => {
        const [e] = await makeChain('prim-one', 1);
        const id = logIdFor('prim-one');
        expect(await t.store.writeLogEntry(e)).toEqual({ seq: 1, hash: e!.entryHash });
        expect(await t.store.getLogLength(id)).toBe(1);
        expect(await t.store.getLogEntry(id, 1)).toEqual(e);
        expect(await t.store.getLastEntry(id)).toEqual(e);
        expect(await t.store.getLog(id)).toEqual([e]);
        expect(await t.store.getHead(id)).toEqual({ seq: 1, hash: e!.entryHash, open: true });
      },
    );

    storeTest(h, 'writeLogEntries stores a batch atomically and every entry reads back by its seqNumber', async (t) => {
      const chain = await makeChain('prim-batch', 6);
      const id = logIdFor('prim-batch');
      expect(await t.store.writeLogEntries(chain.slice(0, 4))).toEqual({ seq: 4, hash: chain[3]!.entryHash });
      expect(await t.store.writeLogEntries(chain.slice(4))).toEqual({ seq: 6, hash: chain[5]!.entryHash });
      for (const e of chain) expect(await t.store.getLogEntry(id, e.seqNumber)).toEqual(e);
      expect(await t.store.getLogLength(id)).toBe(6);
      expect(await t.store.getLastEntry(id)).toEqual(chain[5]);
      expect(await t.store.getLog(id)).toEqual(chain);
    });

    storeTest(h, 'getLog returns the range from..to, clipped to what the log holds', async (t) => {
      const chain = await makeChain('prim-range', 6);
      const id = logIdFor('prim-range');
      await t.store.writeLogEntries(chain);
      expect(await t.store.getLog(id, 2, 4)).toEqual(chain.slice(1, 4));
      expect(await t.store.getLog(id, 5, 100)).toEqual(chain.slice(4));
      expect(await t.store.getLog(id, 0, 2)).toEqual(chain.slice(0, 2));
      expect(await t.store.getLog(id, 3, 3)).toEqual([chain[2]]);
      expect(await t.store.getLog(id, 4, 3)).toEqual([]);
      expect(await t.store.getLog(id, 7, 9)).toEqual([]);
      expect(await t.store.getLogEntry(id, 7)).toBeUndefined();
    });

    storeTest(h, 'an unknown log is empty: length 0, no head, no last entry, no entries', async (t) => {
      const id = logIdFor('prim-none');
      expect(await t.store.getLogLength(id)).toBe(0);
      expect(await t.store.getHead(id)).toBeUndefined();
      expect(await t.store.getLastEntry(id)).toBeUndefined();
      expect(await t.store.getLogEntry(id, 1)).toBeUndefined();
      expect(await t.store.getLog(id)).toEqual([]);
      expect(await t.store.verifyLog(id)).toMatchObject({ ok: true, entries: [] });
    });

    storeTest(h, 'getLogEntry refuses a seq that is not a positive integer with INVALID_INPUT', async (t) => {
      const id = logIdFor('prim-bad-seq');
      for (const seq of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
        await refusal(t.store.getLogEntry(id, seq), 'INVALID_INPUT');
    });

    storeTest(h, 'logs are independent: each chain (session, author) reads back only its own entries', async (t) => {
      const mine = await makeChain('prim-iso', 3);
      const peers = await makeChain('prim-iso', 2, { author: PEER });
      const other = await makeChain('prim-iso-2', 4);
      await t.store.writeLogEntries(mine);
      await t.store.writeLogEntries(peers);
      await t.store.writeLogEntries(other);
      expect(await t.store.getLog(logIdFor('prim-iso'))).toEqual(mine);
      expect(await t.store.getLog(logIdFor('prim-iso', PEER))).toEqual(peers);
      expect(await t.store.getLog(logIdFor('prim-iso-2'))).toEqual(other);
    });

    storeTest(
      h,
      'the -01 names saveLogEntry and lastEntry are aliases of writeLogEntry and getLastEntry',
      async (t) => {
        const chain = await makeChain('prim-alias', 2);
        await t.store.saveLogEntry(chain[0]);
        await t.store.saveLogEntry(chain[1]);
        expect(await t.store.lastEntry(logIdFor('prim-alias'))).toEqual(chain[1]);
      },
    );

    storeTest(h, 'a closed store refuses every primitive with STORE_CLOSED', async (t) => {
      const chain = await makeChain('prim-closed', 2);
      const id = logIdFor('prim-closed');
      await t.store.writeLogEntry(chain[0]);
      await t.store.close();
      await refusal(t.store.writeLogEntry(chain[1]), 'STORE_CLOSED');
      await refusal(t.store.getLogLength(id), 'STORE_CLOSED');
      await refusal(t.store.getLogEntry(id, 1), 'STORE_CLOSED');
      await refusal(t.store.getLog(id), 'STORE_CLOSED');
      await refusal(t.store.listOpenLogs(), 'STORE_CLOSED');
    });
  });
}
