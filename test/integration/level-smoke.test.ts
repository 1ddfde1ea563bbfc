import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { makeChain, verifyCtx } from '../support/fixtures.ts';

describe('LevelDB driver', () => {
  it('keeps an appended chain across close and reopen, and it verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'satp-level-'));
    try {
      const chain = await makeChain('s-level', 5);
      let store = new LogStore(await LevelDriver.open(dir), verifyCtx);
      await store.writeLogEntries(chain.slice(0, 2));
      for (const e of chain.slice(2)) await store.writeLogEntry(e);
      await store.close();
      store = new LogStore(await LevelDriver.open(dir), verifyCtx);
      expect(await store.getLogLength('s-level/gw-origin')).toBe(5);
      const result = await store.verifyLog('s-level/gw-origin');
      expect(result.ok).toBe(true);
      expect((await store.getLog('s-level/gw-origin')).map((e) => e.entryHash)).toEqual(chain.map((e) => e.entryHash));
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The driver writes its appends through a chained batch on the root database with the keys prefixed by hand
  // (storage/level.ts); before, it wrote array batches through its sublevels. A database is kept across releases.
  it('reads and extends a database the sublevels wrote, and writes the keys the sublevels read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'satp-level-keys-'));
    const logId = 's-keys/gw-origin';
    const seqKey = (seq: number) => `${logId}!${seq.toString(16).padStart(14, '0')}`;
    try {
      const chain = await makeChain('s-keys', 6);
      // Three entries written as the earlier driver wrote them: one array batch through the sublevels.
      const old = new Level<string, string>(dir, { valueEncoding: 'utf8' });
      const sub = (name: string) => old.sublevel<string, string>(name, { valueEncoding: 'utf8' });
      const [e, h, o] = [sub('e'), sub('h'), sub('o')];
      await old.batch([
        ...chain.slice(0, 3).map((x, i) => ({
          type: 'put' as const,
          sublevel: e,
          key: seqKey(i + 1),
          value: JSON.stringify(x),
        })),
        {
          type: 'put',
          sublevel: h,
          key: logId,
          value: JSON.stringify({ seq: 3, hash: chain[2]!.entryHash, open: true }),
        },
        { type: 'put', sublevel: o, key: logId, value: '' },
      ]);
      await old.close();

      const store = new LogStore(await LevelDriver.open(dir), verifyCtx);
      expect(await store.getHead(logId)).toEqual({ seq: 3, hash: chain[2]!.entryHash, open: true });
      await store.writeLogEntries(chain.slice(3, 5));
      await store.writeLogEntry(chain[5]);
      expect((await store.getLog(logId)).map((x) => x.entryHash)).toEqual(chain.map((x) => x.entryHash));
      expect((await store.verifyLog(logId)).ok).toBe(true);
      expect(await store.driver.openLogs()).toEqual([logId]);
      await store.close();

      // Every key on disk is a sublevel's: the six entries in seq order, the head, the open-session index.
      const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' });
      expect(await raw.keys().all()).toEqual([
        ...chain.map((_, i) => `!e!${seqKey(i + 1)}`),
        `!h!${logId}`,
        `!o!${logId}`,
      ]);
      const head = JSON.parse((await raw.sublevel<string, string>('h', { valueEncoding: 'utf8' }).get(logId))!);
      expect(head).toEqual({ seq: 6, hash: chain[5]!.entryHash, open: true });
      await raw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
