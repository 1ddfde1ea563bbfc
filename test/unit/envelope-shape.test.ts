// Issue 15: the hand check of a message envelope's shape (wellShapedEnvelope) stands in for the envelope schema on
// every inbound message. It must never pass what the schema refuses, and must pass what the schema passes for envelopes
// as they arrive (parsed JSON), or the fast path would be a slow one. openEnvelope keeps the schema's answer for
// anything the hand check does not pass.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeSchemaAccepts, openEnvelope, sealMessage, wellShapedEnvelope } from '../../kernel/satp/envelope.ts';
import type { SatpMessage } from '../../kernel/satp/messages.ts';
import { G1, G2, trustedKeys, verifyCtx } from '../support/fixtures.ts';

const { verifier } = verifyCtx;

const message = {
  version: '1.0',
  messageType: 'urn:ietf:satp:msgtype:recover-msg',
  sessionId: 's-envelope',
  contextId: 'ctx-envelope',
  recoveredLogs: [],
} as unknown as SatpMessage;
const sealed = await sealMessage(message, G1.id, G1.signer);
const plain = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v));
const withHeader = { ...plain(sealed), header: { x5c: ['MIIB'] } };
const templates = [plain(sealed), withHeader];
const fields = ['protected', 'payload', 'signature', 'header', 'extra', '__proto__', 'constructor'];

const s = (n: number, c = 'a') => c.repeat(n);
/** Values at and past every bound the schema draws, and of every wrong kind. */
const values = fc.constantFrom<unknown>(
  ...[0, 1, 85, 86, 87, 511, 512, 513, 16_384, 16_385].map((n) => s(n)),
  s(1_400_000),
  s(1_400_001),
  s(86, 'A'),
  s(86, '-'),
  s(86, '+'),
  `${s(85)}=`,
  sealed.protected,
  sealed.signature,
  0,
  1,
  null,
  true,
  undefined,
  [],
  {},
  { x5c: [] },
  { x5c: ['a'] },
  { x5c: ['a', 'b', 'c', 'd'] },
  { x5c: ['a', 'b', 'c', 'd', 'e'] },
  { x5c: [s(16_384)] },
  { x5c: [s(16_385)] },
  { x5c: [1] },
  { x5c: 'a' },
  { x5c: ['a'], extra: 1 },
  { x5c: ['a'], x5u: 'b' },
  Object.assign(Object.create(null), { x5c: ['a'] }),
  Object.assign(Object.create({ inherited: 1 }), { x5c: ['a'] }),
  [['a']],
  new Date(0),
);
const mutation = fc.tuple(fc.constantFrom(...fields), fc.oneof(values, fc.constant('delete')));
const mutated = fc
  .tuple(fc.constantFrom(...templates), fc.array(mutation, { maxLength: 3 }), fc.boolean())
  .map(([template, changes, nullProto]) => {
    const e: Record<string, unknown> = nullProto ? Object.create(null) : {};
    Object.assign(e, template);
    for (const [field, value] of changes) {
      if (value === 'delete') delete e[field];
      else Object.defineProperty(e, field, { value, enumerable: true, writable: true, configurable: true });
    }
    return e;
  });

describe('wellShapedEnvelope, the hand check of an inbound envelope', () => {
  it('passes only what envelopeSchema passes, for any mix of boundary, wrong-kind and missing members', () => {
    let passed = 0;
    fc.assert(
      fc.property(mutated, (e) => {
        if (wellShapedEnvelope(e)) {
          expect(envelopeSchemaAccepts(e)).toBe(true);
          passed++;
        }
      }),
      { numRuns: 3_000, seed: 6217 },
    );
    expect(passed).toBeGreaterThan(100); // the hand check passed some: the property was not empty
  });

  it('agrees with envelopeSchema both ways on envelopes as they arrive, parsed from JSON', () => {
    let passed = 0;
    let refused = 0;
    fc.assert(
      fc.property(mutated, (e) => {
        const arrived = JSON.parse(JSON.stringify(e));
        const ok = envelopeSchemaAccepts(arrived);
        expect(wellShapedEnvelope(arrived)).toBe(ok);
        if (ok) passed++;
        else refused++;
      }),
      { numRuns: 3_000, seed: 8093 },
    );
    expect(passed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('passes what sealMessage writes, with and without a certificate', () => {
    for (const e of templates) expect(wellShapedEnvelope(e)).toBe(true);
  });

  it('opens a sealed message, and refuses one whose protected header differs from the one read before', async () => {
    // The payload is no SATP message (so not ok); what this test is about is that its header and signature pass.
    const opened = await openEnvelope(plain(sealed), G1.id, trustedKeys, verifier);
    expect(opened).toMatchObject({ ok: false, authentic: true });
    // The same payload under another header (kid G2): read afresh, not taken from the header read for G1.
    const other = await sealMessage(message, G2.id, G2.signer);
    const forged = { ...plain(sealed), protected: other.protected };
    expect(await openEnvelope(forged, G1.id, trustedKeys, verifier)).toMatchObject({
      ok: false,
      detail: `signed as ${G2.id} but sent by ${G1.id}`,
    });
    expect(await openEnvelope(forged, G2.id, trustedKeys, verifier)).toMatchObject({ ok: false, authentic: false });
    const badHeader = { ...plain(sealed), protected: 'eyJhbGciOiJub25lIn0' }; // {"alg":"none"}
    expect(await openEnvelope(badHeader, G1.id, trustedKeys, verifier)).toMatchObject({
      ok: false,
      detail: 'bad JWS protected header',
    });
    // And the header read for G1 is still G1's.
    expect(await openEnvelope(plain(sealed), G1.id, trustedKeys, verifier)).toMatchObject({ authentic: true });
  });
});
