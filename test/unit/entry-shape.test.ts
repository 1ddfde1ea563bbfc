// The hand check of a log entry's shape (wellShapedEntry) stands in for logEntrySchema on the hot path of every
// entry received: it must never pass what the schema refuses, and must pass what the schema passes for entries as
// they arrive (parsed JSON), or the fast path would be a slow one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkEntryContent,
  entryBodySchema,
  type LogEntry,
  logEntrySchema,
  sealEntry,
  wellShapedBody,
  wellShapedEntry,
} from '../../kernel/index.ts';
import { makeChain, testGateway } from '../support/fixtures.ts';

const entries = await makeChain('shape', 2);
const plain = (e: LogEntry): Record<string, unknown> => JSON.parse(JSON.stringify(e));
const withRecovery = { ...plain(entries[1]!), recoveryMessage: 'recover-msg', recoveryPayload: { hash: 'h' } };
const templates = [plain(entries[0]!), withRecovery];
const fields = [...Object.keys(withRecovery), 'extra', '__proto__', 'constructor'];

const s = (n: number, c = 'a') => c.repeat(n);
const jwk = (entries[0]!.originGatewayPubkey as unknown as Record<string, unknown>) ?? {};
/** Values at and past every bound the schema draws, and of every wrong kind. */
const values = fc.constantFrom<unknown>(
  ...[0, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 2047, 2048, 2049, 8192, 8193].map((n) =>
    s(n),
  ),
  'a'.repeat(64),
  'f'.repeat(64),
  'F'.repeat(64),
  '0'.repeat(63),
  'A'.repeat(86),
  'A'.repeat(85),
  '+'.repeat(86),
  'gw-origin',
  '-leading-dash',
  'has space',
  s(128, 'x'),
  s(129, 'x'),
  'init',
  'exec',
  'done',
  'ack',
  'fail',
  'other',
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53 - 1,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  null,
  true,
  undefined,
  [],
  ['a'],
  {},
  { nested: { deep: [1, 2, 3] } },
  jwk,
  { ...jwk, crv: 'P-384' },
  { ...jwk, kty: 'OKP' },
  { ...jwk, x: 'short' },
  { ...jwk, extra: 1 },
  { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
  Object.assign(Object.create({ inherited: 1 }), jwk),
  new Date(0),
);
const mutation = fc.tuple(fc.constantFrom(...fields), fc.oneof(values, fc.constant('delete')));
const mutated = fc
  .tuple(fc.constantFrom(...templates), fc.array(mutation, { maxLength: 3 }))
  .map(([template, changes]) => {
    const e: Record<string, unknown> = { ...template };
    for (const [field, value] of changes) {
      if (value === 'delete') delete e[field];
      else Object.defineProperty(e, field, { value, enumerable: true, writable: true, configurable: true });
    }
    return e;
  });

describe('wellShapedEntry, the hand check of an entry', () => {
  it('passes only what logEntrySchema passes, for any mix of boundary, wrong-kind and missing fields', () => {
    fc.assert(
      fc.property(mutated, (e) => {
        if (wellShapedEntry(e)) expect(logEntrySchema.safeParse(e).success).toBe(true);
      }),
      { numRuns: 3_000, seed: 4107 },
    );
  });

  it('agrees with logEntrySchema both ways on entries as they arrive, parsed from JSON', () => {
    let passed = 0;
    fc.assert(
      fc.property(mutated, (e) => {
        const arrived = JSON.parse(JSON.stringify(e));
        const ok = logEntrySchema.safeParse(arrived).success;
        expect(wellShapedEntry(arrived)).toBe(ok);
        if (ok) passed++;
      }),
      { numRuns: 3_000, seed: 5311 },
    );
    expect(passed).toBeGreaterThan(100); // both outcomes were tried
  });

  it('passes sealed entries, with and without the recovery fields', () => {
    for (const e of templates) expect(wellShapedEntry(e)).toBe(true);
  });

  it('leaves the schema to name what is wrong: a refused entry gets the same detail as before', () => {
    const bad = { ...templates[0]!, seqNumber: 1.5 };
    const issue = logEntrySchema.safeParse(bad).error?.issues[0];
    expect(checkEntryContent(bad)).toEqual({
      ok: false,
      reason: 'malformed',
      detail: `seqNumber: ${issue?.message}`,
    });
  });
});

/** A template or mutated entry without its seal members: what sealEntry is handed. */
const bodyOf = (e: Record<string, unknown>): Record<string, unknown> => {
  const { entryHash: _h, messageSignature: _s, ...body } = e;
  return body;
};

describe('wellShapedBody, the hand check sealEntry makes of a body before the schema', () => {
  it('passes only what entryBodySchema passes, seal members and all (a body has none)', () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), (e, keepSeal) => {
        const body = keepSeal ? e : bodyOf(e);
        if (wellShapedBody(body)) expect(entryBodySchema.safeParse(body).success).toBe(true);
      }),
      { numRuns: 3_000, seed: 7129 },
    );
  });

  it('agrees with entryBodySchema both ways on bodies parsed from JSON', () => {
    let passed = 0;
    fc.assert(
      fc.property(mutated, (e) => {
        const body = JSON.parse(JSON.stringify(bodyOf(e)));
        const ok = entryBodySchema.safeParse(body).success;
        expect(wellShapedBody(body)).toBe(ok);
        if (ok) passed++;
      }),
      { numRuns: 3_000, seed: 9203 },
    );
    expect(passed).toBeGreaterThan(100);
  });

  it('refuses an entry (a body has no seal members); sealEntry still refuses what the schema refuses', async () => {
    expect(wellShapedBody(templates[0])).toBe(false);
    const signer = testGateway('gw-origin').signer;
    const bad = { ...bodyOf(templates[0]!), seqNumber: 1.5 };
    const issue = entryBodySchema.safeParse(bad).error?.issues[0];
    await expect(sealEntry(bad as never, signer)).rejects.toThrow(`entry body is invalid: ${issue?.message}`);
    // What the hand check is stricter about than the schema (an optional member present but undefined) is still
    // sealed, as before: the schema accepts it.
    const loose = { ...bodyOf(templates[0]!), recoveryMessage: undefined };
    expect(wellShapedBody(loose)).toBe(false);
    expect((await sealEntry(loose as never, signer)).recoveryMessage).toBeUndefined();
  });
});
