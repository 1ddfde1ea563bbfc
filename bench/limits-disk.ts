// Part 1, durability: the raw synced append rate of LevelDB (a Level instance, no LogStore) and of a plain
// file with fsync / fdatasync per record (node:fs), with values the size of a typical stored entry; the
// best of two windows each, because other tenants of the disk move fsync latency a lot.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { sealEntry } from '../kernel/seal.ts';
import { identities } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { bestRateOf } from './lib/measure.ts';
import type { Results } from './lib/report.ts';
import { sampleBody } from './lib/sample-entry.ts';
import { withTempDir } from './lib/tmp.ts';

const key = (i: number): string => i.toString(16).padStart(14, '0');

export async function limitsDisk(results: Results, limits: Partial<Limits>, ms: number): Promise<void> {
  const id = await identities();
  const text = JSON.stringify(await sealEntry(sampleBody(id.origin, id.destination), id.origin));
  const note = `${text.length} B values`;

  await withTempDir('level-raw', async (dir) => {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    try {
      let n = 0;
      const single = await bestRateOf(2, () => db.put(key(n++), text, { sync: true }), ms);
      const batch = await bestRateOf(
        2,
        () =>
          db.batch(
            Array.from({ length: 64 }, () => ({ type: 'put' as const, key: key(n++), value: text })),
            { sync: true },
          ),
        ms,
      );
      limits.levelSync1 = single.perSecond;
      limits.levelSync64 = batch.perSecond * 64;
      results.rate('limits', 'LevelDB put, sync, 1 entry per batch', single.perSecond, undefined, '', { note });
      results.rate(
        'limits',
        'LevelDB batch, sync, 64 entries per batch (entries)',
        batch.perSecond * 64,
        undefined,
        '',
        { note: `${batch.perSecond.toFixed(0)} batches/s` },
      );
    } finally {
      await db.close();
    }
  });

  await withTempDir('file-raw', async (dir) => {
    for (const how of ['fsync', 'fdatasync'] as const) {
      const fh = await open(join(dir, `${how}.log`), 'a');
      try {
        const line = `${text}\n`;
        const r = await bestRateOf(
          2,
          async () => {
            await fh.appendFile(line);
            await (how === 'fsync' ? fh.sync() : fh.datasync());
          },
          ms,
        );
        results.rate('limits', `file append + ${how} per record`, r.perSecond, undefined, '');
      } finally {
        await fh.close();
      }
    }
  });
}
