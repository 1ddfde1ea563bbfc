// Conformance cases for listOpenLogs: what a gateway recovers at boot is every chain without its `end` entry
// (recovery-04 §5: the recovered gateway resumes unfinished sessions; kernel/entry.ts END_STEP).
import { describe, expect } from 'vitest';
import type { OpenLog } from '../log-store.ts';
import { AUTHOR, headOf, logIdFor, makeChain, PEER } from './fixtures.ts';
import { type StoreHarness, storeTest } from './harness.ts';

const byId = (a: OpenLog, b: OpenLog) => (a.logId < b.logId ? -1 : a.logId > b.logId ? 1 : 0);

export function openLogCases(h: StoreHarness): void {
  describe('recovery-04 §5 listOpenLogs: the sessions to recover', () => {
    storeTest(h, 'an empty store lists no open logs', async (t) => {
      expect(await t.store.listOpenLogs()).toEqual([]);
    });

    storeTest(h, 'a log is open from its first entry until its end entry, then leaves the list for good', async (t) => {
      const chain = await makeChain('open-life', 3, { end: true });
      const logId = logIdFor('open-life');
      await t.store.writeLogEntry(chain[0]);
      expect(await t.store.listOpenLogs()).toEqual([
        { logId, sessionId: 'open-life', author: AUTHOR.id, head: headOf(chain.slice(0, 1)) },
      ]);
      await t.store.writeLogEntry(chain[1]);
      expect(await t.store.listOpenLogs()).toEqual([
        { logId, sessionId: 'open-life', author: AUTHOR.id, head: headOf(chain.slice(0, 2)) },
      ]);
      await t.store.writeLogEntry(chain[2]);
      expect(await t.store.listOpenLogs()).toEqual([]);
      expect(await t.store.getHead(logId)).toEqual({ ...headOf(chain), open: false });
    });

    storeTest(h, 'a log that ends within one batch is never listed', async (t) => {
      await t.store.writeLogEntries(await makeChain('open-batch-end', 4, { end: true }));
      expect(await t.store.listOpenLogs()).toEqual([]);
    });

    storeTest(h, 'with many logs, exactly those without an end entry are listed, each with its head', async (t) => {
      const expected: OpenLog[] = [];
      for (let i = 0; i < 24; i++) {
        const session = `open-many-${i}`;
        const author = i % 3 === 0 ? PEER : AUTHOR;
        const ends = i % 2 === 0;
        const chain = await makeChain(session, 1 + (i % 3), { author, end: ends });
        await t.store.writeLogEntries(chain);
        if (!ends)
          expected.push({
            logId: logIdFor(session, author),
            sessionId: session,
            author: author.id,
            head: headOf(chain),
          });
      }
      expect((await t.store.listOpenLogs()).sort(byId)).toEqual(expected.sort(byId));
    });
  });
}
