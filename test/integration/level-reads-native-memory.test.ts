// Bug: LevelDriver.read used a LevelDB iterator for every range it read, and iterators held native memory: memory
// outside V8's heap that grew with the reads, whichever allocator ran (glibc, glibc with two arenas, jemalloc).
// read() now makes point reads (getMany). Here 2,000 logs of 15 appends, each log read back after every append, grew
// native memory by 117 MiB with iterator reads, and by 31 MiB (Node) or 34 MiB (Deno) with point reads, about what
// the writes alone cost (BENCHMARKS.md, "LevelDB reads and native memory").
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoredHead } from '../../storage/driver.ts';
import { LevelDriver } from '../../storage/level.ts';

const LOGS = 2_000;
const APPENDS = 15;
const IN_FLIGHT = 64;
const MIB = 2 ** 20;
/** Growth allowed outside V8's heap: about twice what point reads cost, half what iterator reads cost. */
const BOUND = 65 * MIB;

/** Anonymous resident memory (malloc, V8's pages) less V8's committed heap: what native code holds. */
function nativeMemory(): number {
  const kb = readFileSync('/proc/self/status', 'utf8').match(/^RssAnon:\s+(\d+) kB/m);
  if (!kb) throw new Error('no RssAnon in /proc/self/status');
  return Number(kb[1]) * 1024 - process.memoryUsage().heapTotal;
}

describe('LevelDriver reads hold no native memory (iterator reads grew it by 117 MiB)', () => {
  it(`${LOGS} logs of ${APPENDS} appends, each read back: native memory grows < ${BOUND / MIB} MiB`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'satp-level-reads-'));
    const driver = await LevelDriver.open(dir, { sync: false }); // memory, not durability, is measured here
    try {
      const body = 'z'.repeat(1_400);
      const oneLog = async (n: number) => {
        const logId = `log-${n}`;
        let head = { seq: 0, hash: '' };
        for (let seq = 1; seq <= APPENDS; seq++) {
          const next: StoredHead = { seq, hash: `${n}`.padStart(64, String(seq % 10)), open: seq < APPENDS };
          await driver.append(logId, head, [`{"n":${n},"seq":${seq},"b":"${body}"}`], next);
          head = next;
          expect(await driver.read(logId, 1, seq)).toHaveLength(seq);
        }
      };
      // A warm-up, so that LevelDB's caches and buffers (bounded) are filled before the baseline.
      for (let n = 0; n < IN_FLIGHT; n++) await oneLog(-1 - n);
      const before = nativeMemory();
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < LOGS) await oneLog(next++);
        }),
      );
      const grown = nativeMemory() - before;
      expect(await driver.read(`log-${LOGS - 1}`, 1, Number.MAX_SAFE_INTEGER)).toHaveLength(APPENDS);
      expect(grown, `native memory grew by ${(grown / MIB).toFixed(0)} MiB`).toBeLessThan(BOUND);
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
