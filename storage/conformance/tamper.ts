// Conformance cases for tampering behind the store's back: LogStore.verifyLog names the first bad entry and why
// (gap, broken link, bad hash, bad signature, unknown author), whatever the driver stores.
import { describe, expect } from 'vitest';
import type { ChainFailure } from '../../kernel/chain.ts';
import { keyTable } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { LogStore } from '../log-store.ts';
import { flip, logIdFor, makeChain, OUTSIDER, PEER, prng, reseal } from './fixtures.ts';
import { type StoreHarness, storeTest, type StoreUnderTest } from './harness.ts';

/** What one changed byte of a stored entry can be reported as; which one depends on the byte. */
const BYTE_FAILURES: ReadonlySet<ChainFailure> = new Set([
  'malformed',
  'bad-payload-hash',
  'bad-entry-hash',
  'bad-signature',
  'gap',
  'broken-link',
  'foreign-entry',
]);

async function expectFailure(
  t: StoreUnderTest,
  logId: string,
  index: number,
  reasons: ChainFailure | ReadonlySet<ChainFailure>,
) {
  const r = await t.store.verifyLog(logId);
  expect(r.ok, `verifyLog(${logId}) passed`).toBe(false);
  if (r.ok) return;
  expect(r.index, r.detail).toBe(index);
  if (typeof reasons === 'string') expect(r.reason, r.detail).toBe(reasons);
  else expect(reasons.has(r.reason), `${r.reason}: ${r.detail}`).toBe(true);
}

/** Stores an n-entry chain for `session` and returns it with its log id. */
async function stored(t: StoreUnderTest, session: string, n: number) {
  const chain = await makeChain(session, n);
  await t.store.writeLogEntries(chain);
  const logId = logIdFor(session);
  expect(await t.store.verifyLog(logId)).toMatchObject({ ok: true });
  return { chain, logId };
}

export function tamperCases(h: StoreHarness): void {
  describe('verifyLog reports the first bad entry and why', () => {
    storeTest(h, 'every bit-0 flip of every byte of one stored entry fails verification at that entry', async (t) => {
      const { logId } = await stored(t, 'tamper-every-byte', 3);
      const original = await t.text(logId, 2);
      // JSON.stringify of an entry is ASCII here, so a char is a byte and XOR 1 keeps it one byte.
      expect(/^[\x20-\x7e]*$/.test(original)).toBe(true);
      const wrong: string[] = [];
      const seen = new Set<ChainFailure>();
      for (let i = 0; i < original.length; i++) {
        await t.tamper(logId, 2, () => flip(original, i, 1));
        const r = await t.store.verifyLog(logId);
        if (r.ok || r.index !== 1 || !BYTE_FAILURES.has(r.reason))
          wrong.push(`byte ${i} (${original[i]}): ${JSON.stringify(r).slice(0, 160)}`);
        else seen.add(r.reason);
      }
      expect(wrong).toEqual([]);
      // One changed byte never gets as far as the chain checks (gap, broken-link, foreign-entry): the entry
      // hash covers seqNumber, lastEntryHash and author, and is checked first. What it does reach: a byte that
      // breaks the JSON or the schema, one in the payload, one elsewhere in the body, one in the signature.
      expect([...seen].sort()).toEqual(['bad-entry-hash', 'bad-payload-hash', 'bad-signature', 'malformed']);
      await t.tamper(logId, 2, () => original);
      expect(await t.store.verifyLog(logId)).toMatchObject({ ok: true });
    });

    storeTest(h, 'random bit flips in the other entries fail verification at the flipped entry', async (t) => {
      const { logId } = await stored(t, 'tamper-random', 4);
      const random = prng(8785);
      for (const seq of [1, 3, 4]) {
        const original = await t.text(logId, seq);
        for (let k = 0; k < 12; k++) {
          const i = Math.floor(random() * original.length);
          const bit = 1 << Math.floor(random() * 7);
          await t.tamper(logId, seq, () => flip(original, i, bit));
          await expectFailure(t, logId, seq - 1, BYTE_FAILURES);
        }
        await t.tamper(logId, seq, () => original);
      }
      expect(await t.store.verifyLog(logId)).toMatchObject({ ok: true });
    });

    storeTest(h, 'stored text that is not JSON, or JSON that is not an entry, is malformed at its index', async (t) => {
      const { logId } = await stored(t, 'tamper-junk', 3);
      for (const junk of ['', 'not json', 'null', '[]', '{}', '{"seqNumber":2}']) {
        await t.tamper(logId, 2, () => junk);
        await expectFailure(t, logId, 1, 'malformed');
      }
    });

    storeTest(
      h,
      'a dropped entry is a gap at its index, the last one included (the head still names it)',
      async (t) => {
        for (const seq of [1, 2, 4]) {
          const { logId } = await stored(t, `tamper-drop-${seq}`, 4);
          await t.remove(logId, seq);
          await expectFailure(t, logId, seq - 1, 'gap');
        }
      },
    );

    storeTest(h, 'two swapped entries are a gap at the first of them', async (t) => {
      const a = await stored(t, 'tamper-swap-middle', 4);
      await t.swap(a.logId, 2, 3);
      await expectFailure(t, a.logId, 1, 'gap');
      const b = await stored(t, 'tamper-swap-ends', 4);
      await t.swap(b.logId, 1, 4);
      await expectFailure(t, b.logId, 0, 'gap');
    });

    storeTest(h, 'an entry re-signed by another key, its author kept, is a bad-signature at its index', async (t) => {
      const { chain, logId } = await stored(t, 'tamper-resign', 3);
      for (const signer of [OUTSIDER.signer, PEER.signer]) {
        const forged = await reseal(chain[1]!, signer);
        expect(forged.entryHash).toBe(chain[1]!.entryHash); // same body, so the link to seq 3 still holds
        await t.tamper(logId, 2, () => JSON.stringify(forged));
        await expectFailure(t, logId, 1, 'bad-signature');
      }
    });

    // Decision: in a single-writer chain an entry by anyone but the chain's author does not
    // belong there at all, whoever signed it; membership is checked before the author's key is looked up,
    // so both re-authored forgeries are foreign-entry, and unknown-author is what a whole log by an
    // untrusted gateway gets (the last case).
    storeTest(
      h,
      'an entry re-signed by the trusted peer with the author changed to the peer is a foreign-entry at its index',
      async (t) => {
        const { chain, logId } = await stored(t, 'tamper-peer', 3);
        const forged = await reseal(chain[1]!, PEER.signer, (b) => ({ ...b, author: PEER.id }));
        await t.tamper(logId, 2, () => JSON.stringify(forged));
        await expectFailure(t, logId, 1, 'foreign-entry');
      },
    );

    storeTest(
      h,
      'an entry re-signed by an untrusted key with the author changed to it is a foreign-entry at its index',
      async (t) => {
        const { chain, logId } = await stored(t, 'tamper-outsider', 3);
        const forged = await reseal(chain[1]!, OUTSIDER.signer, (b) => ({ ...b, author: OUTSIDER.id }));
        await t.tamper(logId, 2, () => JSON.stringify(forged));
        await expectFailure(t, logId, 1, 'foreign-entry');
      },
    );

    storeTest(
      h,
      'a log whose author the verifying store does not trust is unknown-author at its first entry',
      async (t) => {
        const { logId } = await stored(t, 'tamper-untrusted', 3);
        // The same data read by a store that trusts only the peer (the author's key revoked, or never known).
        const peerOnly = new LogStore(t.driver, {
          keys: keyTable({ [PEER.id]: PEER.signer.publicJwk }),
          verifier: defaultVerifier(),
        });
        expect(await peerOnly.verifyLog(logId)).toMatchObject({ ok: false, index: 0, reason: 'unknown-author' });
      },
    );
  });
}
