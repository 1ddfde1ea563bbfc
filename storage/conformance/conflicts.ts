// Conformance cases for appends that do not extend the chain: CHAIN_CONFLICT, and the store byte-identical after.
import { describe, expect } from 'vitest';
import { EMPTY_HEAD, END_STEP } from '../../kernel/entry.ts';
import { headOf, logIdFor, makeChain, PEER, refusal, sealNext, snapshot } from './fixtures.ts';
import { type StoreHarness, storeTest, type StoreUnderTest } from './harness.ts';

const SESSION = 'conflict';
const ID = logIdFor(SESSION);

/** Stores entries 1..3 of a 6-entry chain and returns the chain. */
async function threeStored(t: StoreUnderTest) {
  const chain = await makeChain(SESSION, 6);
  await t.store.writeLogEntries(chain.slice(0, 3));
  return chain;
}

/** Runs `attempt`, which must be refused with `code`, and checks nothing the store holds changed. */
async function refusedUnchanged(
  t: StoreUnderTest,
  attempt: () => Promise<unknown>,
  code: 'CHAIN_CONFLICT' | 'INVALID_INPUT',
  logIds = [ID],
) {
  const before = await snapshot(t.driver, logIds);
  await refusal(attempt(), code);
  expect(await snapshot(t.driver, logIds)).toEqual(before);
}

export function conflictCases(h: StoreHarness): void {
  describe('recovery-04 §3 writeLogEntry extends the chain or changes nothing (single writer)', () => {
    storeTest(
      h,
      'an entry that skips a seqNumber is refused with CHAIN_CONFLICT and the store is unchanged',
      async (t) => {
        const chain = await threeStored(t);
        const skipping = await sealNext(SESSION, { seq: 4, hash: chain[2]!.entryHash }, 50); // seq 5, linked to seq 3
        await refusedUnchanged(t, () => t.store.writeLogEntry(skipping), 'CHAIN_CONFLICT');
      },
    );

    storeTest(
      h,
      'an entry that repeats a stored seqNumber, the same or a fork, is refused with CHAIN_CONFLICT',
      async (t) => {
        const chain = await threeStored(t);
        const fork = await sealNext(SESSION, headOf(chain.slice(0, 2)), 51); // another seq 3
        await refusedUnchanged(t, () => t.store.writeLogEntry(chain[1]), 'CHAIN_CONFLICT');
        await refusedUnchanged(t, () => t.store.writeLogEntry(chain[2]), 'CHAIN_CONFLICT');
        await refusedUnchanged(t, () => t.store.writeLogEntry(fork), 'CHAIN_CONFLICT');
      },
    );

    storeTest(
      h,
      'an entry with the next seqNumber but the wrong lastEntryHash is refused with CHAIN_CONFLICT',
      async (t) => {
        const chain = await threeStored(t);
        const misLinked = await sealNext(SESSION, { seq: 3, hash: chain[1]!.entryHash }, 52); // seq 4, linked to seq 2
        await refusedUnchanged(t, () => t.store.writeLogEntry(misLinked), 'CHAIN_CONFLICT');
      },
    );

    storeTest(h, 'a batch with a gap inside is refused whole: not even its first, valid entry is stored', async (t) => {
      const chain = await threeStored(t);
      await refusedUnchanged(t, () => t.store.writeLogEntries([chain[3], chain[5]]), 'CHAIN_CONFLICT');
      await refusedUnchanged(t, () => t.store.writeLogEntries([chain[3], chain[4], chain[4]]), 'CHAIN_CONFLICT');
    });

    storeTest(h, 'a batch whose second entry does not link to its first is refused whole', async (t) => {
      const chain = await threeStored(t);
      const misLinked = await sealNext(SESSION, { seq: 4, hash: chain[2]!.entryHash }, 53); // seq 5 linked to seq 3
      await refusedUnchanged(t, () => t.store.writeLogEntries([chain[3], misLinked]), 'CHAIN_CONFLICT');
    });

    storeTest(h, 'nothing may follow the end entry: an append after it is refused with CHAIN_CONFLICT', async (t) => {
      const ended = await makeChain('conflict-ended', 3, { end: true });
      expect(ended[2]!.step).toBe(END_STEP);
      await t.store.writeLogEntries(ended);
      const after = await sealNext('conflict-ended', headOf(ended), 54);
      await refusedUnchanged(t, () => t.store.writeLogEntry(after), 'CHAIN_CONFLICT', [logIdFor('conflict-ended')]);
    });

    storeTest(h, 'an end entry that is not the last of its batch is refused with CHAIN_CONFLICT', async (t) => {
      const ended = await makeChain('conflict-end-inside', 2, { end: true });
      const after = await sealNext('conflict-end-inside', headOf(ended), 55);
      await refusedUnchanged(t, () => t.store.writeLogEntries([...ended, after]), 'CHAIN_CONFLICT', [
        logIdFor('conflict-end-inside'),
      ]);
    });

    storeTest(h, 'a batch mixing two chains is refused with INVALID_INPUT', async (t) => {
      const chain = await threeStored(t);
      const [peers] = await makeChain(SESSION, 1, { author: PEER });
      await refusedUnchanged(t, () => t.store.writeLogEntries([chain[3], peers]), 'INVALID_INPUT', [
        ID,
        logIdFor(SESSION, PEER),
      ]);
    });

    storeTest(
      h,
      'driver.append refuses an expected head that moved with CHAIN_CONFLICT and changes nothing',
      async (t) => {
        // Below the LogStore's lock: what a second writer sharing the storage would meet (fencing).
        const chain = await threeStored(t);
        const text = JSON.stringify(chain[3]);
        const next = { seq: 4, hash: chain[3]!.entryHash, open: true };
        const stale = [headOf(chain.slice(0, 2)), EMPTY_HEAD, { seq: 3, hash: chain[1]!.entryHash }];
        for (const expected of stale)
          await refusedUnchanged(t, () => t.driver.append(ID, expected, [text], next), 'CHAIN_CONFLICT');
        const fresh = logIdFor('conflict-absent');
        await refusedUnchanged(
          t,
          () => t.driver.append(fresh, { seq: 1, hash: chain[0]!.entryHash }, [text], next),
          'CHAIN_CONFLICT',
          [fresh],
        );
      },
    );
  });
}
