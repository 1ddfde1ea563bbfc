// Conformance cases for untrusted input to writeLogEntry: each refused with its own SatpError code,
// nothing stored. Every bad entry is built on a valid next entry that would land, so the refusal is the check's doing.
import { describe, expect } from 'vitest';
import { ENTRY_LIMITS, type LogEntry } from '../../kernel/entry.ts';
import type { ErrorCode } from '../../kernel/errors.ts';
import type { Json } from '../../kernel/json.ts';
import { headOf, logIdFor, makeChain, OUTSIDER, outside, PEER, refusal, sealNext, snapshot } from './fixtures.ts';
import { type StoreHarness, storeTest } from './harness.ts';

const SESSION = 'bad-input';
const LOG_IDS = [logIdFor(SESSION), logIdFor(SESSION, PEER), logIdFor(SESSION, OUTSIDER)];

type Edit = (next: LogEntry) => unknown;
type Case = [what: string, build: (next: LogEntry) => Promise<unknown> | unknown, code: ErrorCode];

/** A plain copy of the valid next entry with `patch` applied: its hashes and signature go stale. */
const patched =
  (patch: Record<string, unknown>): Edit =>
  (next) => ({ ...outside(next), ...patch });

const without =
  (field: keyof LogEntry): Edit =>
  (next) => {
    const copy: Record<string, unknown> = outside(next);
    delete copy[field];
    return copy;
  };

const nested = (depth: number): Json => (depth === 0 ? 0 : [nested(depth - 1)]);

/**
 * A payload whose canonical JSON is just over ENTRY_LIMITS.maxPayloadChars, built of strings within every other
 * limit.
 */
const oversize = (): Json =>
  Array.from({ length: Math.ceil(ENTRY_LIMITS.maxPayloadChars / 1000) + 1 }, () => 'x'.repeat(1000));

const otherSignature = (sig: string): string => (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);

const HEAD = async () => headOf(await makeChain(SESSION, 2));

const CASES: Case[] = [
  ['a number', () => 42, 'INVALID_INPUT'],
  ['a string (even the entry as JSON text)', (next) => JSON.stringify(next), 'INVALID_INPUT'],
  ['null', () => null, 'INVALID_INPUT'],
  ['undefined', () => undefined, 'INVALID_INPUT'],
  ['an array holding the entry', (next) => [outside(next)], 'INVALID_INPUT'],
  ['an entry missing a field (timestamp)', without('timestamp'), 'INVALID_INPUT'],
  ['an entry missing its signature', without('messageSignature'), 'INVALID_INPUT'],
  ['an entry with an unknown field', patched({ note: 'extra' }), 'INVALID_INPUT'],
  ['a field of the wrong type (seqNumber as text)', patched({ seqNumber: '3' }), 'INVALID_INPUT'],
  ['an operation outside init/exec/done/ack/fail', patched({ operation: 'delete' }), 'INVALID_INPUT'],
  ['a seqNumber beyond 2^53', patched({ seqNumber: 2 ** 53 + 2 }), 'INVALID_INPUT'],
  ['a signature that is not base64url of 64 bytes', patched({ messageSignature: 'not-a-signature' }), 'INVALID_INPUT'],
  [
    'a payload over ENTRY_LIMITS.maxPayloadChars, properly sealed',
    async () => outside(await sealNext(SESSION, await HEAD(), 2, { step: { payload: oversize() } })),
    'INVALID_INPUT',
  ],
  [
    'a __proto__ key in the payload (an own property, via JSON.parse)',
    patched({ payload: JSON.parse('{"__proto__":{"admin":true}}') }),
    'INVALID_INPUT',
  ],
  [
    'a constructor key in the payload',
    patched({ payload: JSON.parse('{"a":{"constructor":{"prototype":1}}}') }),
    'INVALID_INPUT',
  ],
  ['a number beyond 2^53 in the payload', patched({ payload: { amount: 2 ** 53 + 2 } }), 'INVALID_INPUT'],
  ['a non-finite number in the payload', patched({ payload: { amount: Number.NaN } }), 'INVALID_INPUT'],
  ['a lone surrogate in the payload', patched({ payload: { name: '\ud800' } }), 'INVALID_INPUT'],
  [
    'a payload nested deeper than ENTRY_LIMITS.json.maxDepth',
    patched({ payload: nested(ENTRY_LIMITS.json.maxDepth + 1) }),
    'INVALID_INPUT',
  ],
  [
    'an entry whose getter throws',
    (next) =>
      Object.defineProperty(outside(next), 'payload', {
        enumerable: true,
        get: () => {
          throw new Error('hostile getter');
        },
      }),
    'INVALID_INPUT',
  ],
  ['a payload whose payloadHash does not match', patched({ payload: { i: 999 } }), 'BAD_HASH'],
  [
    'an entryHash that does not match the entry',
    (next) => ({ ...outside(next), entryHash: next.entryHash.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
    'BAD_HASH',
  ],
  [
    'a seqNumber that skips one, properly sealed',
    async () => outside(await sealNext(SESSION, { ...(await HEAD()), seq: 3 }, 2)),
    'CHAIN_CONFLICT',
  ],
  [
    'a wrong lastEntryHash, properly sealed',
    async () => outside(await sealNext(SESSION, { seq: 2, hash: (await makeChain(SESSION, 2))[0]!.entryHash }, 2)),
    'CHAIN_CONFLICT',
  ],
  [
    'signature bytes changed (well-formed, wrong)',
    (next) => ({ ...outside(next), messageSignature: otherSignature(next.messageSignature) }),
    'BAD_SIGNATURE',
  ],
  [
    "a valid signature by an untrusted key in the author's name",
    async () => outside(await sealNext(SESSION, await HEAD(), 2, { signer: OUTSIDER.signer })),
    'BAD_SIGNATURE',
  ],
  // Sealed in this process: the store's fast path for its own seals must not trust a key that is not the author's.
  [
    'the same, sealed in this process',
    async () => sealNext(SESSION, await HEAD(), 2, { signer: OUTSIDER.signer }),
    'BAD_SIGNATURE',
  ],
  [
    "a valid signature by the trusted peer in the author's name",
    async () => outside(await sealNext(SESSION, await HEAD(), 2, { signer: PEER.signer })),
    'BAD_SIGNATURE',
  ],
  [
    'an unknown author signing its own chain',
    async () => outside((await makeChain(SESSION, 1, { author: OUTSIDER }))[0]),
    'UNKNOWN_AUTHOR',
  ],
  [
    "an unknown author's entry sealed in this process",
    async () => (await makeChain(SESSION, 1, { author: OUTSIDER }))[0],
    'UNKNOWN_AUTHOR',
  ],
];

export function badInputCases(h: StoreHarness): void {
  describe('recovery-04 §4 entries are validated before they are stored', () => {
    for (const [what, build, code] of CASES) {
      storeTest(h, `writeLogEntry refuses ${what} with ${code}, and the store is unchanged`, async (t) => {
        const chain = await makeChain(SESSION, 3);
        await t.store.writeLogEntries(chain.slice(0, 2));
        const before = await snapshot(t.driver, LOG_IDS);
        await refusal(t.store.writeLogEntry(await build(chain[2]!)), code);
        expect(await snapshot(t.driver, LOG_IDS)).toEqual(before);
        // The valid entry the bad one was made from still lands: the refusal left the chain usable.
        await t.store.writeLogEntry(outside(chain[2]));
        expect(await t.store.getLogLength(logIdFor(SESSION))).toBe(3);
      });
    }

    storeTest(
      h,
      'writeLogEntries refuses an empty batch, a non-array and a batch over maxBatch with INVALID_INPUT',
      async (t) => {
        const chain = await makeChain(SESSION, 1);
        const before = await snapshot(t.driver, LOG_IDS);
        await refusal(t.store.writeLogEntries([]), 'INVALID_INPUT');
        await refusal(t.store.writeLogEntries(chain[0]), 'INVALID_INPUT');
        await refusal(t.store.writeLogEntries(Array.from({ length: 1025 }, () => chain[0])), 'INVALID_INPUT');
        expect(await snapshot(t.driver, LOG_IDS)).toEqual(before);
      },
    );
  });
}
