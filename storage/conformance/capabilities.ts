// Capability-gated conformance cases: what persistent and durable drivers promise across close and
// reopen; a driver without a capability gets a case asserting it declares so, never a silent skip.
import { describe, expect, it } from 'vitest';
import { AUTHOR, headOf, logIdFor, makeChain, PEER, refusal, sealNext, snapshot } from './fixtures.ts';
import { type StoreHarness, storeTest } from './harness.ts';

export function capabilityCases(h: StoreHarness): void {
  describe('declared capabilities', () => {
    storeTest(h, `declares the capabilities its harness expects: ${JSON.stringify(h.capabilities)}`, async (t) => {
      expect(t.driver.capabilities).toEqual(h.capabilities);
      expect(t.store.capabilities).toEqual(h.capabilities);
    });

    if (h.capabilities.durable) {
      storeTest(
        h,
        'declares durable only together with persistent (a crash cannot spare what a close loses)',
        async (t) => {
          expect(t.driver.capabilities).toMatchObject({ durable: true, persistent: true });
        },
      );
    } else {
      storeTest(h, 'declares durable: false, so a resolved append may be lost in a crash', async (t) => {
        expect(t.driver.capabilities.durable).toBe(false);
      });
    }

    if (!h.capabilities.persistent) {
      storeTest(h, 'declares persistent: false, so nothing is promised across close and reopen', async (t) => {
        expect(t.driver.capabilities.persistent).toBe(false);
        expect(h.reopen).toBeUndefined();
      });
      return;
    }

    it("a persistent driver's harness can reopen it", () => {
      expect(h.reopen).toBeTypeOf('function');
    });

    storeTest(h, 'after close and reopen every log, head, entry and open session is there and verifies', async (t) => {
      const open = await makeChain('persist-open', 5);
      const ended = await makeChain('persist-ended', 3, { end: true });
      const peers = await makeChain('persist-open', 2, { author: PEER });
      for (const c of [open, ended, peers]) await t.store.writeLogEntries(c);
      const ids = [logIdFor('persist-open'), logIdFor('persist-ended'), logIdFor('persist-open', PEER)];
      const before = await snapshot(t.driver, ids);
      await t.reopen();
      expect(await snapshot(t.driver, ids)).toEqual(before);
      for (const id of ids) expect(await t.store.verifyLog(id)).toMatchObject({ ok: true });
      expect(await t.store.getLog(ids[0]!)).toEqual(open);
      expect((await t.store.listOpenLogs()).map((o) => o.logId).sort()).toEqual([ids[0], ids[2]].sort());
      // An ended session stays ended across the restart.
      await refusal(t.store.writeLogEntry(await sealNext('persist-ended', headOf(ended), 9)), 'CHAIN_CONFLICT');
    });

    storeTest(h, 'an append whose promise resolved is there after reopen, and a refused one is not', async (t) => {
      const chain = await makeChain('persist-last', 3);
      const logId = logIdFor('persist-last', AUTHOR);
      await t.store.writeLogEntries(chain.slice(0, 2));
      await t.store.writeLogEntry(chain[2]);
      await refusal(t.store.writeLogEntry(chain[1]), 'CHAIN_CONFLICT');
      await t.reopen();
      expect(await t.store.getLog(logId)).toEqual(chain);
      expect(await t.store.getHead(logId)).toEqual({ ...headOf(chain), open: true });
      // The reopened store goes on appending where it stopped.
      const [next] = await makeChain('persist-last', 1, { from: headOf(chain), offset: 3 });
      await t.store.writeLogEntry(next);
      expect(await t.store.getLogLength(logId)).toBe(4);
    });
  });
}
