import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
