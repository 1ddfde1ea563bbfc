// The kernel's log layer on its own: RFC 8785 canonical JSON, signature interop, sealing, chaining,
// verifyChain on hostile values, and the pure getLogDiff.
import { Buffer } from 'node:buffer';
import canonicalizeReference from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleSigner, nobleVerifier } from '../../kernel/crypto/noble.ts';
import { generateWebCryptoSigner, webCryptoVerifier } from '../../kernel/crypto/webcrypto.ts';
import {
  canonicalBytes,
  canonicalJson,
  defaultVerifier,
  fromBase64Url,
  toBase64Url,
  useSha256,
  EMPTY_HEAD,
  ENTRY_LIMITS,
  type EntryBody,
  entryHashOf,
  GENESIS_HASH,
  getLogDiff,
  hashJson,
  jsonProblem,
  type JsonLimits,
  type LogEntry,
  nextEntryBody,
  sealEntry,
  sha256Hex,
  type Signer,
  toHex,
  utf8,
  verifyChain,
  verifyEntry,
} from '../../kernel/index.ts';
import { nativeSha256, nativeSha256OfText } from '../../storage/sha256-node.ts';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { chainContext, fromOutside, G1, G2, makeChain, MALLORY, step, verifyCtx } from '../support/fixtures.ts';
import {
  float64,
  NUMBER_TABLE,
  PRIMITIVES_INPUT,
  PRIMITIVES_OUTPUT,
  SORTING_INPUT,
  SORTING_OUTPUT,
} from '../support/rfc8785-vectors.ts';

describe('RFC 8785 canonical JSON', () => {
  it('serializes the §3.2.2 sample exactly as §3.2.4 gives it, in UTF-8', () => {
    expect(canonicalJson(JSON.parse(PRIMITIVES_INPUT))).toBe(PRIMITIVES_OUTPUT);
    const bytes = canonicalBytes(JSON.parse(PRIMITIVES_INPUT));
    expect(Array.from(bytes.slice(0, 12))).toEqual([
      0x7b, 0x22, 0x6c, 0x69, 0x74, 0x65, 0x72, 0x61, 0x6c, 0x73, 0x22, 0x3a,
    ]);
    expect(sha256Hex(bytes)).toBe(sha256Hex(utf8(PRIMITIVES_OUTPUT)));
    expect(toHex(bytes)).toContain('e282ac'); // € as its UTF-8 bytes, not as \u20ac
  });

  it('sorts properties by UTF-16 code units as §3.2.3 shows, at every depth, and keeps array order', () => {
    expect(canonicalJson(JSON.parse(SORTING_INPUT))).toBe(SORTING_OUTPUT);
    expect(canonicalJson({ b: [3, 1, { z: 1, a: 2 }], a: { y: null, x: true } })).toBe(
      '{"a":{"x":true,"y":null},"b":[3,1,{"a":2,"z":1}]}',
    );
  });

  it.each(NUMBER_TABLE)('serializes Appendix B number %s as %s', (hex, text) => {
    const value = float64(hex);
    if (text === null) {
      expect(() => canonicalJson(value)).toThrow();
      expect(jsonProblem(value)).toMatch(/not finite/);
    } else {
      expect(canonicalJson(value)).toBe(text);
    }
  });

  it('serializes numbers as ECMAScript does: 1e21, 1e-7, -0, 0.1+0.2, 1e20, 1e-6', () => {
    const cases: [number, string][] = [
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [-0, '0'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e20, '100000000000000000000'],
      [1e-6, '0.000001'],
    ];
    for (const [n, text] of cases) expect(canonicalJson(n)).toBe(text);
  });

  it(
    'escapes only quote, backslash ' +
      'and controls below U+0020, ' +
      'with the short forms where JSON has them (§3.2.2.2)',
    () => {
      expect(canonicalJson('\u0000\b\t\n\f\r\u001f"\\/\u007f\u2028é😀')).toBe(
        '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u2028é😀"',
      );
    },
  );
});

describe('canonicalJson against the reference implementation', () => {
  // kernel/json.ts writes JCS itself (docs/decisions.md says why); the `canonicalize` package, written by
  // RFC 8785's author, is the reference it must agree with on every JSON value, byte for byte.
  const key = fc.oneof(
    fc.string(),
    fc.constantFrom('a', 'B', '\u00e9', '\u20ac', '\ud83d\ude00', '\uff21', '1', '10', '2', ''),
  );
  const json = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.string({ unit: 'grapheme' }),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    ),
  })).value;

  it('agrees byte for byte with `canonicalize` on random JSON values (numbers, strings, key order, nesting)', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(value as never)).toBe(canonicalizeReference(value));
      }),
      { numRuns: 2_000, seed: 8785 },
    );
  });

  it('agrees on values parsed from canonical text, members in order, as entries and messages arrive', () => {
    // Such values take the native path (JSON.stringify); the cases above mostly take the other.
    fc.assert(
      fc.property(json, (value) => {
        const arrived = JSON.parse(canonicalizeReference(value)!);
        expect(canonicalJson(arrived)).toBe(canonicalizeReference(value));
      }),
      { numRuns: 2_000, seed: 8786 },
    );
  });

  it('refuses in order as out of order: a lone surrogate in a string or a key, a number with no JSON form', () => {
    for (const bad of [{ a: '\ud800' }, { '\udc00': 1 }, ['x', { b: Number.NaN }], { a: [Number.POSITIVE_INFINITY] }]) {
      expect(() => canonicalJson(bad as never)).toThrow(TypeError);
      expect(() => canonicalJson({ z: 0, ...bad } as never)).toThrow(TypeError);
    }
  });

  it('writes what JSON.stringify would leave out or change as JCS does: toJSON, undefined members, holes', () => {
    const date = new Date(0);
    expect(canonicalJson({ a: date } as never)).toBe(canonicalizeReference({ a: date }));
    expect(canonicalJson({ a: 1, b: undefined } as never)).toBe('{"a":1}');
    expect(canonicalJson([1, undefined, 3] as never)).toBe('[1,null,3]');
    expect(canonicalJson({ a: { toJSON: () => 'x' } } as never)).toBe('{"a":"x"}');
    expect(canonicalJson({ 1: 'a', 10: 'b', 2: 'c' } as never)).toBe('{"1":"a","10":"b","2":"c"}');
  });
});

describe('base64url (RFC 4648 §5, no padding), as JWS uses it', () => {
  it("encodes and decodes every length and byte as Node's Buffer does, round trip exact", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(Array.from(fromBase64Url(text))).toEqual(Array.from(bytes));
      }),
      { numRuns: 1_000, seed: 4648 },
    );
  });

  it('refuses characters outside the alphabet, padding, impossible lengths and non-canonical trailing bits', () => {
    for (const bad of ['ab+c', 'ab/c', 'AA==', 'A', 'AAAAA', 'AB', 'AAB', 'é123', '\u0100AAA'])
      expect(() => fromBase64Url(bad), bad).toThrow(RangeError);
    expect(Array.from(fromBase64Url('AA'))).toEqual([0]);
    expect(Array.from(fromBase64Url('AAA'))).toEqual([0, 0]);
  });
});

describe("SHA-256: noble by default, the runtime's native one when installed (useSha256)", () => {
  it('node:crypto and noble agree on random inputs, so swapping them changes no hash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4_000 }), (bytes) => {
        expect(toHex(nativeSha256(bytes))).toBe(toHex(nobleSha256(bytes)));
      }),
      { numRuns: 500, seed: 256 },
    );
  });

  it('node:crypto hashing text as UTF-8 agrees with noble over its bytes, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 2_000 }), (text) => {
        expect(nativeSha256OfText(text)).toBe(toHex(nobleSha256(utf8(text))));
      }),
      { numRuns: 500, seed: 257 },
    );
  });

  it('and for texts hashed in slices (over 16 Ki characters), a surrogate pair across a slice end included', () => {
    const emoji = '\ud83d\ude00';
    fc.assert(
      fc.property(
        fc.integer({ min: 16 * 1024 - 3, max: 3 * 16 * 1024 + 3 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (at, tail) => {
          // The pair starts at `at`: one or two characters before, on, or after a slice's end.
          const text = `${'a'.repeat(at)}${emoji}${'é'.repeat(at % 7)}${emoji}${tail}`;
          expect(nativeSha256OfText(text)).toBe(toHex(nobleSha256(utf8(text))));
        },
      ),
      { numRuns: 200, seed: 258 },
    );
    const lone = `${'a'.repeat(16 * 1024 - 1)}\ud83d`; // a lone high surrogate last in a slice: U+FFFD, as one text
    expect(nativeSha256OfText(lone)).toBe(toHex(nobleSha256(utf8(lone))));
    expect(nativeSha256OfText(`${lone}x`)).toBe(toHex(nobleSha256(utf8(`${lone}x`))));
  });

  it('refuses an implementation that does not compute SHA-256, and keeps hashing as before', () => {
    const before = hashJson({ a: 1 });
    expect(() => useSha256(() => new Uint8Array(32))).toThrow(/does not compute SHA-256/);
    expect(() => useSha256((b) => nobleSha256(b).slice(0, 31))).toThrow(/does not compute SHA-256/);
    // A text hash over another encoding than UTF-8 (Latin-1 here) is refused, and so is the pair.
    const latin1 = (text: string) => toHex(nobleSha256(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff)));
    expect(() => useSha256(nativeSha256, latin1)).toThrow(/text implementation/);
    expect(hashJson({ a: 1 })).toBe(before);
  });

  it('with node:crypto installed, entries seal and verify with the same hashes as with noble', async () => {
    const body = nextEntryBody(chainContext('s-sha'), EMPTY_HEAD, step(1));
    const withNoble = await sealEntry(body, G1.signer);
    useSha256(nativeSha256, nativeSha256OfText);
    try {
      const withNative = await sealEntry(structuredClone(body), G1.signer);
      expect(withNative.entryHash).toBe(withNoble.entryHash);
      expect(withNative.payloadHash).toBe(withNoble.payloadHash);
      expect((await verifyChain([withNoble], verifyCtx)).ok).toBe(true);
    } finally {
      useSha256(nobleSha256);
    }
  });
});

describe('jsonProblem: what may enter an entry', () => {
  const small: JsonLimits = { maxDepth: 3, maxString: 8, maxItems: 4, maxNodes: 10 };
  const refusals: [string, unknown, RegExp, JsonLimits?][] = [
    ['NaN', Number.NaN, /not finite/],
    ['Infinity', Number.POSITIVE_INFINITY, /not finite/],
    ['2^53', 2 ** 53, /2\^53/],
    ['-(2^53)', -(2 ** 53), /2\^53/],
    ['undefined', undefined, /undefined is not JSON/],
    ['a function', () => 1, /function is not JSON/],
    ['a bigint', 1n, /bigint is not JSON/],
    ['a symbol', Symbol('s'), /symbol is not JSON/],
    ['a Date', new Date(0), /not a plain object/],
    ['a Map', new Map(), /not a plain object/],
    ['a __proto__ own key', JSON.parse('{"a":{"__proto__":1}}'), /forbidden key "__proto__"/],
    ['a constructor key', { constructor: 1 }, /forbidden key "constructor"/],
    ['a prototype key', { prototype: 1 }, /forbidden key "prototype"/],
    ['a symbol key', { [Symbol('k')]: 1 }, /symbol keys/],
    ['a lone surrogate', 'a\ud800', /lone surrogate/],
    ['a lone surrogate key', { '\udc00': 1 }, /lone surrogate/],
    ['nesting past maxDepth', [[[[1]]]], /deeper than 3/, small],
    ['a string past maxString', 'x'.repeat(9), /longer than 8/, small],
    ['an array past maxItems', [1, 2, 3, 4, 5], /more than 4 items/, small],
    ['an object past maxItems', { a: 1, b: 2, c: 3, d: 4, e: 5 }, /more than 4 members/, small],
    [
      'more nodes than maxNodes',
      [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      /more than 10 values/,
      small,
    ],
    [
      'a getter that throws',
      Object.defineProperty({}, 'a', {
        enumerable: true,
        get: () => {
          throw new Error('no');
        },
      }),
      /unreadable/,
    ],
    [
      'a proxy that throws',
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('no');
          },
        },
      ),
      /unreadable/,
    ],
  ];
  it.each(refusals)('refuses %s', (_what, value, reason, limits) => {
    expect(jsonProblem(value, limits)).toMatch(reason);
  });

  it('accepts plain bounded JSON, null-prototype objects and ±(2^53−1)', () => {
    for (const v of [
      null,
      true,
      0,
      '',
      [],
      {},
      Object.create(null),
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      { a: [1, 'é', { b: null }] },
    ]) {
      expect(jsonProblem(v)).toBeUndefined();
    }
  });
});

describe('ES256 and ES256K signatures interoperate across WebCrypto and noble', () => {
  const data = utf8('{"seqNumber":1}');

  it('a WebCrypto ES256 signature verifies under noble, and a noble one under WebCrypto', async () => {
    const { signer: web } = await generateWebCryptoSigner();
    const noble = nobleSigner('P-256', new Uint8Array(32).fill(7));
    expect(await nobleVerifier().verify(web.publicJwk, data, await web.sign(data))).toBe(true);
    expect(await webCryptoVerifier().verify(noble.publicJwk, data, await noble.sign(data))).toBe(true);
    expect(await webCryptoVerifier().verify(web.publicJwk, data, await web.sign(data))).toBe(true);
  });

  it('ES256K signs and verifies through noble, and the default verifier routes it there', async () => {
    const k1 = nobleSigner('secp256k1', new Uint8Array(32).fill(9));
    expect(k1.alg).toBe('ES256K');
    const sig = await k1.sign(data);
    expect(await nobleVerifier().verify(k1.publicJwk, data, sig)).toBe(true);
    expect(await defaultVerifier().verify(k1.publicJwk, data, sig)).toBe(true);
    expect(await webCryptoVerifier().verify(k1.publicJwk, data, sig)).toBe(false); // WebCrypto has no secp256k1
  });

  it('noble signatures are deterministic (RFC 6979), so a seeded simulation replays byte for byte', async () => {
    expect(await G1.signer.sign(data)).toEqual(await G1.signer.sign(data));
  });

  it('a signature over other data, or by another key, fails under every verifier', async () => {
    const sig = await G1.signer.sign(data);
    for (const v of [nobleVerifier(), webCryptoVerifier(), defaultVerifier()]) {
      expect(await v.verify(G1.jwk, utf8('{"seqNumber":2}'), sig)).toBe(false);
      expect(await v.verify(G2.jwk, data, sig)).toBe(false);
    }
  });

  it('a 63-byte, 65-byte or empty signature returns false without throwing', async () => {
    const sig = await G1.signer.sign(data);
    for (const v of [nobleVerifier(), webCryptoVerifier(), defaultVerifier()]) {
      for (const bad of [sig.slice(0, 63), new Uint8Array([...sig, 0]), new Uint8Array(0), new Uint8Array(64)]) {
        await expect(v.verify(G1.jwk, data, bad)).resolves.toBe(false);
      }
    }
  });
});

describe('sealing and chaining entries (recovery-04 §4)', () => {
  it('nextEntryBody links seqNumber, lastEntryHash and payloadHash to the head it continues', () => {
    const ctx = chainContext('k-link');
    const first = nextEntryBody(ctx, EMPTY_HEAD, step(0));
    expect(first).toMatchObject({
      seqNumber: 1,
      lastEntryHash: GENESIS_HASH,
      payloadHash: hashJson({ i: 0 }),
      author: G1.id,
    });
    const second = nextEntryBody(
      ctx,
      { seq: 1, hash: entryHashOf(first) },
      step(1, { recoveryMessage: 'recover-msg', recoveryPayload: { r: 1 } }),
    );
    expect(second).toMatchObject({
      seqNumber: 2,
      lastEntryHash: entryHashOf(first),
      payloadHash: hashJson({ i: 1 }),
      recoveryMessage: 'recover-msg',
    });
    expect('recoveryMessage' in first).toBe(false);
    expect(nextEntryBody(ctx, EMPTY_HEAD, step(0))).toEqual(first); // pure: same input, same body
  });

  it('sealEntry output verifies in full, hashes the canonical body, and is deeply frozen', async () => {
    const body = nextEntryBody(chainContext('k-seal'), EMPTY_HEAD, step(0));
    const entry = await sealEntry(body, G1.signer);
    expect(entry.entryHash).toBe(sha256Hex(canonicalBytes(body as never)));
    expect(entry.entryHash).toBe(entryHashOf(entry));
    expect(await verifyEntry(fromOutside(entry), verifyCtx)).toMatchObject({ ok: true });
    expect(Object.isFrozen(entry) && Object.isFrozen(entry.payload) && Object.isFrozen(entry.originGatewayPubkey)).toBe(
      true,
    );
    expect(() => {
      (entry as { seqNumber: number }).seqNumber = 2;
    }).toThrow(TypeError);
    expect(Object.isFrozen(body)).toBe(false); // the caller's body is copied, not frozen
  });

  it('sealEntry refuses an invalid body with a TypeError', async () => {
    const body = nextEntryBody(chainContext('k-bad'), EMPTY_HEAD, step(0));
    await expect(sealEntry({ ...body, seqNumber: 0 }, G1.signer)).rejects.toThrow(TypeError);
  });

  it(
    'verifyChain reports gap, broken-link, foreign-entry, ' + 'unknown-author and bad-signature at the right index',
    async () => {
      const c = fromOutside(await makeChain('k-chain', 4));
      expect(await verifyChain(c, verifyCtx)).toMatchObject({ ok: true, head: { seq: 4, hash: c[3]!.entryHash } });
      expect(await verifyChain([c[0], c[2]], verifyCtx)).toMatchObject({ ok: false, index: 1, reason: 'gap' });
      expect(await verifyChain(c.slice(1), verifyCtx)).toMatchObject({ ok: false, index: 0, reason: 'gap' });
      expect(await verifyChain(c.slice(1), verifyCtx, { from: { seq: 1, hash: c[1]!.entryHash } })).toMatchObject({
        ok: false,
        index: 0,
        reason: 'broken-link',
      });
      const peers = fromOutside(await makeChain('k-chain', 2, G2));
      expect(await verifyChain([c[0], peers[1]], verifyCtx)).toMatchObject({
        ok: false,
        index: 1,
        reason: 'foreign-entry',
      });
      // The same author's entry of another session, at the right seq: foreign before it is a broken link.
      const otherSession = fromOutside(await makeChain('k-chain-other', 2));
      expect(await verifyChain([c[0], otherSession[1]], verifyCtx)).toMatchObject({
        ok: false,
        index: 1,
        reason: 'foreign-entry',
      });
      expect(await verifyChain(fromOutside(await makeChain('k-chain', 2, MALLORY)), verifyCtx)).toMatchObject({
        ok: false,
        index: 0,
        reason: 'unknown-author',
      });
      const badSig = [...c];
      badSig[2] = { ...c[2]!, messageSignature: c[3]!.messageSignature };
      expect(await verifyChain(badSig, verifyCtx)).toMatchObject({ ok: false, index: 2, reason: 'bad-signature' });
      // The lowest index wins even when a later failure is found first: bad signature at 2, junk at 3.
      expect(await verifyChain([...badSig.slice(0, 3), 'junk'], verifyCtx)).toMatchObject({
        ok: false,
        index: 2,
        reason: 'bad-signature',
      });
    },
  );
});

describe('verifyChain never throws on hostile values', () => {
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw new Error('trap');
      },
      ownKeys: () => {
        throw new Error('trap');
      },
      getPrototypeOf: () => {
        throw new Error('trap');
      },
    },
  );
  const getter = Object.defineProperty({}, 'seqNumber', {
    enumerable: true,
    get: () => {
      throw new Error('getter');
    },
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', '[]'],
    ['a number', 7],
    ['an object', { 0: {}, length: 1 }],
  ])('calls %s not an array', async (_what, value) => {
    expect(await verifyChain(value, verifyCtx)).toMatchObject({ ok: false, index: 0, reason: 'not-an-array' });
  });

  it('calls junk elements, throwing getters and throwing proxies malformed at their index', async () => {
    const [first] = await makeChain('k-hostile', 1);
    for (const junk of [undefined, null, 'entry', 42, [], {}, throwing, getter]) {
      expect(await verifyChain([first, junk], verifyCtx)).toMatchObject({ ok: false, index: 1, reason: 'malformed' });
    }
    const holey = [first];
    Object.defineProperty(holey, 1, {
      enumerable: true,
      get: () => {
        throw new Error('index getter');
      },
    });
    expect(await verifyChain(holey, verifyCtx)).toMatchObject({ ok: false, index: 1, reason: 'malformed' });
    const lengthTrap = new Proxy([], {
      get: (t, k) =>
        k === 'length'
          ? (() => {
              throw new Error('length');
            })()
          : Reflect.get(t, k),
    });
    expect(await verifyChain(lengthTrap, verifyCtx)).toMatchObject({ ok: false, index: 0, reason: 'malformed' });
    expect(await verifyChain(new Array(3), verifyCtx)).toMatchObject({ ok: false, index: 0, reason: 'malformed' });
  });

  it('stops at the first bad element of a huge array of junk, after a valid prefix', async () => {
    const chain = await makeChain('k-huge', 2);
    const junk = Array.from({ length: 200_000 }, (_, i) => ({ seqNumber: i, junk: 'x'.repeat(i % 64) }));
    expect(await verifyChain(junk, verifyCtx)).toMatchObject({
      ok: false,
      index: 0,
      reason: 'malformed',
      seqNumber: 0,
    });
    expect(await verifyChain([...chain, ...junk], verifyCtx)).toMatchObject({
      ok: false,
      index: 2,
      reason: 'malformed',
    });
  });
});

describe('getLogDiff (recovery-04 §3), pure', () => {
  it('answers equal, prefix, genesis, limit, view-longer and diverged views', async () => {
    const chain = await makeChain('k-diff', 5);
    const fork = await makeChain('k-diff-fork', 3);
    const at = (k: number) => ({ seq: k, hash: chain[k - 1]!.entryHash });
    expect(getLogDiff(chain, at(5))).toEqual({ kind: 'extends', entries: [], more: false });
    expect(getLogDiff(chain, at(2))).toEqual({ kind: 'extends', entries: chain.slice(2), more: false });
    expect(getLogDiff(chain, { seq: 0, hash: GENESIS_HASH })).toEqual({ kind: 'extends', entries: chain, more: false });
    expect(getLogDiff(chain, at(1), 2)).toEqual({ kind: 'extends', entries: chain.slice(1, 3), more: true });
    expect(getLogDiff(chain, at(3), 2)).toEqual({ kind: 'extends', entries: chain.slice(3), more: false });
    expect(getLogDiff(chain, at(3), 0)).toEqual({ kind: 'extends', entries: [], more: true });
    expect(getLogDiff(chain, { seq: 6, hash: GENESIS_HASH })).toEqual({ kind: 'view-longer', length: 5 });
    expect(getLogDiff([], { seq: 0, hash: GENESIS_HASH })).toEqual({ kind: 'extends', entries: [], more: false });
    expect(getLogDiff(chain, { seq: 3, hash: fork[2]!.entryHash })).toEqual({
      kind: 'diverged',
      seq: 3,
      ours: chain[2]!.entryHash,
      theirs: fork[2]!.entryHash,
    });
    expect(getLogDiff(chain, { seq: 0, hash: chain[0]!.entryHash })).toEqual({
      kind: 'diverged',
      seq: 0,
      ours: GENESIS_HASH,
      theirs: chain[0]!.entryHash,
    });
  });
});

describe('verifyEntry: what an entry from outside must prove (recovery-04 §4)', () => {
  const LIMIT = ENTRY_LIMITS.maxPayloadChars;
  /** An entry from outside (no seal cache) whose canonical payload is exactly `chars` long. */
  const withPayload = async (chars: number, extra: Partial<EntryBody> = {}): Promise<LogEntry> => {
    const filler = 'x'.repeat(chars - '{"a":""}'.length);
    const body = nextEntryBody(chainContext('k-size'), EMPTY_HEAD, step(0, { payload: { a: filler } }));
    return fromOutside(await sealEntry({ ...body, ...extra }, G1.signer));
  };

  it('takes a payload of exactly the limit and refuses one character more, as malformed', async () => {
    expect(await verifyEntry(await withPayload(LIMIT), verifyCtx)).toMatchObject({ ok: true });
    expect(await verifyEntry(await withPayload(LIMIT + 1), verifyCtx)).toEqual({
      ok: false,
      reason: 'malformed',
      detail: `payload: larger than ${LIMIT}`,
    });
  });

  it('holds the recoveryPayload to the same limit', async () => {
    const recovery = (chars: number) => ({ recoveryPayload: { b: 'y'.repeat(chars - '{"b":""}'.length) } });
    expect(await verifyEntry(await withPayload(16, recovery(LIMIT)), verifyCtx)).toMatchObject({ ok: true });
    expect(await verifyEntry(await withPayload(16, recovery(LIMIT + 1)), verifyCtx)).toEqual({
      ok: false,
      reason: 'malformed',
      detail: `recoveryPayload: larger than ${LIMIT}`,
    });
  });

  it('takes a whole entry of exactly its limit and refuses one character more', async () => {
    // Escaped control characters make a credential block six times its length in canonical JSON.
    const big = { recoveryPayload: { b: 'y'.repeat(LIMIT - 8) }, credentialBlock: '\u0001'.repeat(8192) };
    const probe = await withPayload(1_024, big);
    const { entryHash: _h, messageSignature: _s, ...body } = probe;
    const room = ENTRY_LIMITS.maxEntryChars - canonicalJson(body as never).length;
    expect(room).toBeGreaterThan(0);
    expect(await verifyEntry(await withPayload(1_024 + room, big), verifyCtx)).toMatchObject({ ok: true });
    expect(await verifyEntry(await withPayload(1_024 + room + 1, big), verifyCtx)).toEqual({
      ok: false,
      reason: 'malformed',
      detail: `entry: larger than ${ENTRY_LIMITS.maxEntryChars}`,
    });
  });

  it('refuses a changed payload as bad-payload-hash, and a changed field as bad-entry-hash', async () => {
    const [entry] = fromOutside(await makeChain('k-tamper', 1));
    expect(await verifyEntry({ ...entry!, payload: { i: 99 } }, verifyCtx)).toEqual({
      ok: false,
      reason: 'bad-payload-hash',
      detail: 'seq 1: payloadHash does not match the payload',
    });
    expect(await verifyEntry({ ...entry!, timestamp: entry!.timestamp + 1 }, verifyCtx)).toEqual({
      ok: false,
      reason: 'bad-entry-hash',
      detail: 'seq 1: entryHash does not match the entry',
    });
  });

  it('an entry sealed with a signer whose output is no ES256 signature does not verify, even in memory', async () => {
    const short: Signer = { alg: 'ES256', publicJwk: G1.jwk, sign: async () => new Uint8Array(10) };
    const entry = await sealEntry(nextEntryBody(chainContext('k-short'), EMPTY_HEAD, step(0)), short);
    expect(await verifyEntry(entry, verifyCtx)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
