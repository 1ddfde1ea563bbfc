// A gateway's LevelDB log grows for as long as the gateway runs, one table file per few MiB. LevelDB keeps each open
// table's index in memory, up to its own default of 1,000 tables: tens of MiB that grew with the log in the soak.
// LevelDriver opens the database with maxOpenFiles (default LEVEL_MAX_OPEN_FILES), and this counts the table files
// the process holds open after reading every table of a database.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { LevelDriver } from '../../storage/level.ts';

/**
 * Table files of `dir` this process holds open: LevelDB maps a table into memory (and closes its descriptor) or, past
 * its limit on maps, keeps the descriptor open; either way the table is in its cache.
 */
function openTables(dir: string): number {
  const tables = new Set<string>();
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const path = line.slice(line.indexOf('/'));
    if (line.includes('/') && path.startsWith(dir) && path.endsWith('.ldb')) tables.add(path);
  }
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir) && target.endsWith('.ldb')) tables.add(target);
    } catch {
      // closed since the listing
    }
  }
  return tables.size;
}

/**
 * A database of about 80 tables: 80 MiB of values that do not compress, in tables of 1 MiB (LevelDB's maxFileSize,
 * lowered from 2 MiB to the least LevelDB takes), all compacted into the last level.
 */
async function manyTables(): Promise<{ dir: string; tables: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'satp-level-files-'));
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open({ maxFileSize: 1024 * 1024 } as never);
  for (let batch = 0; batch < 60; batch++) {
    await db.batch(
      Array.from({ length: 32 }, (_, i) => ({
        type: 'put' as const,
        // Spread over the key space, so that the tables overlap and compaction rewrites them at maxFileSize.
        key: `k${randomBytes(8).toString('hex')}${batch}.${i}`,
        value: randomBytes(32 * 1024).toString('base64'),
      })),
    );
  }
  // classic-level has it; the `level` package's types do not say so.
  await (db as unknown as { compactRange(from: string, to: string): Promise<void> }).compactRange('k', 'l');
  await db.close();
  return { dir, tables: readdirSync(dir).filter((f) => f.endsWith('.ldb')).length };
}

async function tablesOpenAfterReadingAll(dir: string, maxOpenFiles?: number): Promise<number> {
  const driver = await LevelDriver.open(dir, maxOpenFiles === undefined ? {} : { maxOpenFiles });
  try {
    expect(await driver.db.values().all()).toHaveLength(60 * 32);
    return openTables(dir);
  } finally {
    await driver.close();
  }
}

describe('LevelDriver keeps a bounded number of table files open', () => {
  it('at most maxOpenFiles less the 10 LevelDB keeps for itself, and LevelDB opens them all when allowed', async () => {
    const { dir, tables } = await manyTables();
    try {
      // LevelDB raises a bound below 74 to 74, which leaves 64 for tables.
      expect(tables, 'the database has more tables than the bound tried').toBeGreaterThan(64);
      const bounded = await tablesOpenAfterReadingAll(dir, 74);
      expect(bounded).toBeGreaterThan(0);
      expect(bounded).toBeLessThanOrEqual(64);
      expect(await tablesOpenAfterReadingAll(dir, 1_000), 'with room for all, every table read stays open').toBe(
        tables,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a bound that is not a positive integer, before opening anything', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      await expect(LevelDriver.open('/nonexistent/never-created', { maxOpenFiles: bad })).rejects.toThrow(RangeError);
  });
});
