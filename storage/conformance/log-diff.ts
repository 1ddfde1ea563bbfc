// Conformance cases for getLogDiff and updateLog (recovery-04 §3; kernel/log-diff.ts defines the diff).
import { describe, expect } from 'vitest';
import { GENESIS_HASH } from '../../kernel/entry.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import { getLogDiff } from '../../kernel/log-diff.ts';
import { headOf, logIdFor, makeChain, OUTSIDER, outside, refusal, sealNext, snapshot } from './fixtures.ts';
import { type StoreHarness, storeTest, type StoreUnderTest } from './harness.ts';

const SESSION = 'diff';
const ID = logIdFor(SESSION);
const chain6 = () => makeChain(SESSION, 6);
/** A fork of the chain after seq 2: entries 3.. with other payloads. */
const forkAfter2 = async () => makeChain(SESSION, 4, { from: headOf((await chain6()).slice(0, 2)), offset: 40 });

async function storedPrefix(t: StoreUnderTest, n: number) {
  const chain = await chain6();
  if (n > 0) await t.store.writeLogEntries(chain.slice(0, n));
  return chain;
}

async function updateRefused(t: StoreUnderTest, source: unknown, code: ErrorCode) {
  const before = await snapshot(t.driver, [ID]);
  await refusal(t.store.updateLog(ID, source), code);
  expect(await snapshot(t.driver, [ID])).toEqual(before);
}

export function logDiffCases(h: StoreHarness): void {
  describe("recovery-04 §3 getLogDiff: what the log holds beyond another party's view of it", () => {
    storeTest(
      h,
      'for every prefix view the diff is exactly the entries after it, as the pure kernel getLogDiff says',
      async (t) => {
        const chain = await storedPrefix(t, 6);
        for (let k = 0; k <= 6; k++) {
          const view = k === 0 ? { seq: 0, hash: GENESIS_HASH } : headOf(chain.slice(0, k));
          const diff = await t.store.getLogDiff(ID, view);
          expect(diff).toEqual({ kind: 'extends', entries: chain.slice(k), more: false });
          expect(diff).toEqual(getLogDiff(await t.store.getLog(ID), view));
        }
      },
    );

    storeTest(h, 'a limit cuts the list short and says more, and only then', async (t) => {
      const chain = await storedPrefix(t, 6);
      const view = headOf(chain.slice(0, 2));
      expect(await t.store.getLogDiff(ID, view, 3)).toEqual({
        kind: 'extends',
        entries: chain.slice(2, 5),
        more: true,
      });
      expect(await t.store.getLogDiff(ID, view, 4)).toEqual({ kind: 'extends', entries: chain.slice(2), more: false });
      expect(await t.store.getLogDiff(ID, view, 0)).toEqual({ kind: 'extends', entries: [], more: true });
      expect(await t.store.getLogDiff(ID, headOf(chain), 0)).toEqual({ kind: 'extends', entries: [], more: false });
    });

    storeTest(
      h,
      'a size bound takes whole entries while their stored texts fit, at least one, and says more',
      async (t) => {
        const chain = await storedPrefix(t, 6);
        const view = headOf(chain.slice(0, 1));
        const size = JSON.stringify(chain[1]).length; // the entries of one chain here are of similar size
        const two = await t.store.getLogDiff(ID, view, Infinity, 2 * size + Math.floor(size / 2));
        expect(two).toEqual({ kind: 'extends', entries: chain.slice(1, 3), more: true });
        expect(await t.store.getLogDiff(ID, view, Infinity, 1)).toEqual({
          kind: 'extends',
          entries: chain.slice(1, 2),
          more: true,
        });
        expect(await t.store.getLogDiff(ID, { seq: 0, hash: GENESIS_HASH }, Infinity, 1)).toEqual({
          kind: 'extends',
          entries: chain.slice(0, 1),
          more: true,
        });
        expect(await t.store.getLogDiff(ID, view, 1, 10 * size)).toEqual({
          kind: 'extends',
          entries: chain.slice(1, 2),
          more: true,
        });
        expect(await t.store.getLogDiff(ID, view, Infinity, 100 * size)).toEqual({
          kind: 'extends',
          entries: chain.slice(1),
          more: false,
        });
        expect(await t.store.getLogDiff(ID, headOf(chain), Infinity, 1)).toEqual({
          kind: 'extends',
          entries: [],
          more: false,
        });
      },
    );

    storeTest(h, "a view longer than the log is view-longer with the log's length", async (t) => {
      const chain = await storedPrefix(t, 3);
      expect(await t.store.getLogDiff(ID, headOf(chain))).toEqual({ kind: 'view-longer', length: 3 });
      expect(await t.store.getLogDiff(logIdFor('diff-empty'), headOf(chain.slice(0, 1)))).toEqual({
        kind: 'view-longer',
        length: 0,
      });
    });

    storeTest(h, 'a view whose hash differs at its seq is diverged, naming both hashes', async (t) => {
      const chain = await storedPrefix(t, 6);
      const fork = await forkAfter2();
      expect(await t.store.getLogDiff(ID, headOf(fork.slice(0, 2)))).toEqual({
        kind: 'diverged',
        seq: 4,
        ours: chain[3]!.entryHash,
        theirs: fork[1]!.entryHash,
      });
      expect(await t.store.getLogDiff(ID, { seq: 0, hash: chain[0]!.entryHash })).toEqual({
        kind: 'diverged',
        seq: 0,
        ours: GENESIS_HASH,
        theirs: chain[0]!.entryHash,
      });
    });

    storeTest(h, 'an empty log extends the genesis view with nothing', async (t) => {
      expect(await t.store.getLogDiff(logIdFor('diff-empty'), { seq: 0, hash: GENESIS_HASH })).toEqual({
        kind: 'extends',
        entries: [],
        more: false,
      });
    });

    storeTest(h, 'a view whose seq is not a non-negative integer is refused with INVALID_INPUT', async (t) => {
      for (const seq of [-1, 1.5, Number.NaN])
        await refusal(t.store.getLogDiff(ID, { seq, hash: GENESIS_HASH }), 'INVALID_INPUT');
    });
  });

  describe('recovery-04 §3 updateLog(l1, l2): appends what the source holds beyond the log, or nothing', () => {
    const fills: [string, number, (chain: Awaited<ReturnType<typeof chain6>>) => unknown[]][] = [
      ['the full chain onto a prefix', 2, (c) => c],
      ['a suffix that starts right after the head', 2, (c) => c.slice(2)],
      ['a suffix that overlaps the head', 2, (c) => c.slice(1)],
      ['the full chain onto an empty log', 0, (c) => c],
      ['entries that arrive as plain JSON (verified in full)', 2, (c) => outside(c)],
    ];
    for (const [what, have, source] of fills) {
      storeTest(h, `updateLog appends the missing suffix from ${what}`, async (t) => {
        const chain = await storedPrefix(t, have);
        const result = await t.store.updateLog(ID, source(chain));
        expect(result.appended.map((e) => e.entryHash)).toEqual(chain.slice(have).map((e) => e.entryHash));
        expect(result.head).toEqual(headOf(chain));
        expect(await t.store.getLog(ID)).toEqual(chain);
        expect(await t.store.verifyLog(ID)).toMatchObject({ ok: true });
      });
    }

    storeTest(
      h,
      'updateLog from the same chain, or an older shorter copy of it, appends nothing and changes nothing',
      async (t) => {
        const chain = await storedPrefix(t, 6);
        const before = await snapshot(t.driver, [ID]);
        for (const source of [chain, chain.slice(0, 3), chain.slice(2, 4), []]) {
          expect((await t.store.updateLog(ID, source)).appended).toEqual([]);
        }
        expect(await snapshot(t.driver, [ID])).toEqual(before);
      },
    );

    storeTest(
      h,
      'updateLog refuses a source that diverges from the log with LOG_DIVERGED and changes nothing',
      async (t) => {
        const chain = await storedPrefix(t, 4);
        const fork = await forkAfter2();
        await updateRefused(t, [...chain.slice(0, 2), ...fork], 'LOG_DIVERGED'); // differs at seq 4, our head
        await updateRefused(t, [...chain.slice(0, 2), fork[0]], 'LOG_DIVERGED'); // an older copy that differs at seq 3
      },
    );

    const breaks: [string, (chain: Awaited<ReturnType<typeof chain6>>) => Promise<unknown>, ErrorCode][] = [
      ['starts after a gap', async (c) => c.slice(3), 'CHAIN_CONFLICT'],
      ['has a gap inside', async (c) => [c[2], c[4], c[5]], 'CHAIN_CONFLICT'],
      [
        'has a broken link inside',
        async (c) => [c[2], await sealNext(SESSION, { seq: 3, hash: c[1]!.entryHash }, 60)],
        'CHAIN_CONFLICT',
      ],
      [
        'has an entry with a bad signature',
        async (c) => [c[2], { ...outside(c[3]), messageSignature: c[4]!.messageSignature }],
        'BAD_SIGNATURE',
      ],
      [
        'has an entry whose payloadHash does not match',
        async (c) => [c[2], { ...outside(c[3]), payload: { i: -1 } }],
        'BAD_HASH',
      ],
      [
        'has an entry of another author',
        async (c) => [c[2], ...(await makeChain(SESSION, 1, { author: OUTSIDER, from: headOf(c.slice(0, 3)) }))],
        'INVALID_INPUT',
      ],
      ['has a malformed entry', async (c) => [c[2], { junk: true }], 'INVALID_INPUT'],
      ['starts with something that is not an entry', async () => [{ junk: true }], 'INVALID_INPUT'],
      ['is not an array', async (c) => c[2], 'INVALID_INPUT'],
    ];
    for (const [what, source, code] of breaks) {
      storeTest(h, `updateLog refuses a source that ${what} with ${code}, storing none of it`, async (t) => {
        const chain = await storedPrefix(t, 2);
        await updateRefused(t, await source(chain), code);
      });
    }
  });
}
