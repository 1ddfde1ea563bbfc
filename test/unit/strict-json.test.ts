// The wire's JSON parser: agrees with JSON.parse on valid input and refuses what JSON.parse lets through.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStrictJson, parseStrictJsonByHand } from '../../kernel/strict-json.ts';

const refused = (text: string, problem: RegExp) => {
  const r = parseStrictJson(text);
  expect(r.ok, text).toBe(false);
  if (!r.ok) expect(r.problem).toMatch(problem);
};

/** Every number in `v` is one the parser takes, at most 2^53-1 in magnitude (fast-check draws -2^53 too). */
const numbersSafe = (v: unknown): boolean =>
  typeof v === 'number'
    ? Math.abs(v) <= Number.MAX_SAFE_INTEGER
    : v !== null && typeof v === 'object'
      ? Object.values(v).every(numbersSafe)
      : true;

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses, to the same value, for arbitrary safe JSON', () => {
    const safe = fc
      .jsonValue({ maxDepth: 6 })
      .filter(
        (v) => numbersSafe(v) && !JSON.stringify(v).match(/"(__proto__|constructor|prototype)"|e\+?\d{2}|\d{17}/),
      );
    fc.assert(
      fc.property(safe, (v) => {
        const text = JSON.stringify(v, null, 1);
        const r = parseStrictJson(text);
        expect(r).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 300, seed: 7493 },
    );
  });

  it('reads every string as JSON.parse does, long runs and escapes included; refuses raw control characters', () => {
    // Strings from any code units (surrogate pairs, escapes, quotes, backslashes), long and short: the parser
    // skips plain runs natively, so each escape, quote and control character must still stop it where it stands.
    const unit = fc.oneof(
      fc.constantFrom('"', '\\', '/', '\b', '\n', '\u0000', '\u001f', ' ', 'é', '\ud83d\ude00', 'x'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    const text = fc.array(unit, { maxLength: 300 }).map((u) => u.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 2_000 }), (s, pad) => {
        if (/\p{Cs}/u.test(s)) return; // a lone surrogate: refused, and tested below
        const long = 'a'.repeat(pad) + s;
        const json = JSON.stringify({ k: long, [[...long].slice(0, 40).join('')]: [long] });
        const r = parseStrictJson(json);
        expect(r).toEqual({ ok: true, value: JSON.parse(json) });
        // The same text with its escapes undone where they stand for control characters: raw, they are refused.
        const raw = json.replace(/\\u00(0[0-9a-f]|1[0-9a-f])/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        // (Only without backslashes of its own, whose escapes would run into the ones undone.)
        if (raw !== json && !long.includes('\\')) refused(raw, /control character/);
      }),
      { numRuns: 300, seed: 2231 },
    );
  });

  it('answers text as JSON.stringify writes it (the native path) as the hand parser does, within any limits', () => {
    // Values of every kind the hand parser refuses somewhere: unsafe and negative-zero numbers, forbidden keys,
    // integer-like keys, lone surrogates, long strings, deep nesting; written compactly, as the native path takes
    // them, and checked under limits drawn small enough to be hit.
    const key = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom('__proto__', 'constructor', '0', '10', '9', 'a', '\udbffx', 'a-key-longer-than-most'),
    );
    const leaf = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 53 - 1, -0, 1e21, 5e-324, '\ud800', 'a\udc00b'),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 5 }),
      object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
    })).node;
    const limits = fc.record({
      maxDepth: fc.integer({ min: 0, max: 6 }),
      maxString: fc.integer({ min: 0, max: 40 }),
      maxItems: fc.integer({ min: 0, max: 6 }),
      maxNodes: fc.integer({ min: 1, max: 60 }),
    });
    let native = 0;
    fc.assert(
      fc.property(value, limits, (v, l) => {
        const text = JSON.stringify(v);
        if (text === undefined) return;
        const hand = parseStrictJsonByHand(text, l);
        expect(parseStrictJson(text, l)).toEqual(hand);
        if (hand.ok && JSON.stringify(JSON.parse(text)) === text) native++;
        // The same text edited into forms the native path must turn down: a member written twice, whitespace.
        const twice = text.replace(/^\{("[^"\\]*":[^,{}[\]]*)/, '{$1,$1');
        for (const t of [twice, ` ${text}`, text.replace(':', ': ')])
          expect(parseStrictJson(t, l), t).toEqual(parseStrictJsonByHand(t, l));
      }),
      { numRuns: 600, seed: 2812 },
    );
    expect(native).toBeGreaterThan(50); // the native path did answer, not only turn text down
    // And by name, each rule on keys, the limits at their edges.
    const tight = { maxDepth: 2, maxString: 3, maxItems: 2, maxNodes: 4 };
    for (const [text, ok] of [
      ['{"abcd":1}', false],
      ['{"abc":1}', true],
      ['{"\udbff":1}', false],
      ['{"constructor":1}', false],
      ['[[1]]', true],
      ['[[[1]]]', false],
      ['[1,2,3]', false],
      ['{"a":"abcd"}', false],
      ['[1,2,[3]]', false],
      [`[${2 ** 53}]`, false],
    ] as const) {
      expect(parseStrictJson(text, tight), text).toEqual(parseStrictJsonByHand(text, tight));
      expect(parseStrictJson(text, tight).ok, text).toBe(ok);
    }
  });

  it('answers text as the hand parser does, edited into other forms of the same value (its length decides)', () => {
    // The native path accepts text by its length alone (strict-json.ts, plainLength) when no number in it has a
    // shorter spelling: any other text of the same value is then longer. Each edit below makes another text, and
    // writes numbers shorter (1e3 for 1000) to make room for a duplicate; each must get the hand parser's answer.
    const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('0', '7', 'a', 'b', '__proto__', '"', '\\'));
    const leaf = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 10 }),
      fc.constantFrom('', '"', '\\', '\u2028', '\u0000', 'é', '\ud83d\ude00', '\ud800'),
      fc.integer({ min: -2_000_000, max: 2_000_000 }),
      fc.constantFrom(0, -0, 100, 1000, -3000, 25_000_000, 1e10, -1e14, 1.5, 9007199254740991, 2 ** 53),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
    })).node;
    let fast = 0;
    fc.assert(
      fc.property(value, fc.nat(), (v, at) => {
        const text = JSON.stringify(v);
        const same = (t: string) => expect(parseStrictJson(t), t).toEqual(parseStrictJsonByHand(t));
        same(text);
        if (parseStrictJsonByHand(text).ok) fast++;
        const i = at % (text.length + 1);
        // A space anywhere, whitespace after a token, a member written twice, a letter written as an escape, and two
        // members swapped.
        same(`${text.slice(0, i)} ${text.slice(i)}`);
        same(text.replace(/([,:[{])/, '$1\n'));
        same(text.replace(/^\{("(?:[^"\\]|\\.)*":(?:"(?:[^"\\]|\\.)*"|true|false|null))/, '{$1,$1'));
        const escaped = (m: string, c: string) => `${m.slice(0, -1)}\\u00${c.charCodeAt(0).toString(16)}`;
        same(text.replace(/"(?:[^"\\]|\\.)*?([a-z])/, escaped));
        same(text.replace(/^\{("[^"\\]*":"[^"\\]*"),("[^"\\]*":"[^"\\]*")\}$/, '{$2,$1}'));
        // Numbers spelled with an exponent (shorter: 1e3; as long: 1e2), then with a member written twice as well.
        const short = text.replace(
          /(?<=[:,[])(-?[1-9]\d*?)(0{2,})(?=[,\]}])/g,
          (_, m: string, z: string) => `${m}e${z.length}`,
        );
        same(short);
        same(short.replace(/^\{("(?:[^"\\]|\\.)*":(?:"(?:[^"\\]|\\.)*"|true|false|null|-?\d+))/, '{$1,$1'));
      }),
      { numRuns: 600, seed: 4410 },
    );
    expect(fast).toBeGreaterThan(100);
    // By name: a duplicate whose dropped member is longer than the kept one, the same text with its keys swapped.
    refused('{"a":"xxxxxxxx","a":""}', /duplicate key "a"/);
    refused('{"a":"","a":"xxxxxxxx"}', /duplicate key "a"/);
    expect(parseStrictJson('{"b":"x","1":"y"}')).toEqual({ ok: true, value: { 1: 'y', b: 'x' } });
    expect(parseStrictJson('{"a":"\\u0041"}')).toEqual({ ok: true, value: { a: 'A' } });
    // 1e10 is 7 characters shorter than 10000000000, room for the duplicate ,"a":"" (the text is exactly as long as
    // the value written out): refused, not taken by its length.
    refused('{"n":1e10,"a":"","a":""}', /duplicate key "a"/);
    refused('{"n":10000000000,"a":"","a":""}', /duplicate key "a"/);
    expect(parseStrictJson('{"n":1e2}')).toEqual({ ok: true, value: { n: 100 } });
    // An object of plain strings (an envelope) is read by slicing between its quotes: each rule still holds there.
    refused('{"__proto__":"x"}', /forbidden key/);
    refused('{"a":"x","constructor":"y"}', /forbidden key/);
    refused('{"a":"x\u0001"}', /control character/);
    refused('{"a":"x","a":"x"}', /duplicate key "a"/);
    refused('{"a":"x\ud800"}', /lone surrogate/);
    refused('{"a":"x",}', /expected a key/);
    refused('{"a":"x""b":"y"}', /expected "," or "}"/);
    refused('{"a":"x"}{"b":"y"}', /trailing characters/);
    refused('{"a":"x"},"b":"y"}', /trailing characters/);
    refused('["a":"x"}', /expected "," or "]"/);
    refused('x{"a":"x"}', /unexpected "x"/);
    refused('{"a","x"}', /expected ":"/);
    expect(parseStrictJson('{"a":"x","b":"\\"y"}')).toEqual({ ok: true, value: { a: 'x', b: '"y' } });
    expect(parseStrictJson('{"":""}')).toEqual({ ok: true, value: { '': '' } });
  });

  it('refuses duplicate keys, which JSON.parse silently resolves to the last', () =>
    refused('{"a":1,"a":2}', /duplicate key "a"/));
  it('refuses __proto__, constructor and prototype keys', () => {
    refused('{"__proto__":{"x":1}}', /forbidden key/);
    refused('{"a":{"constructor":1}}', /forbidden key/);
    refused('{"\\u005f_proto__":1}', /forbidden key/);
  });
  it('refuses numbers beyond 2^53-1, which JSON.parse rounds', () => {
    refused('9007199254740993', /2\^53/);
    refused('[-9007199254740992]', /2\^53/);
    refused('1e400', /2\^53/);
    expect(parseStrictJson('9007199254740991')).toEqual({ ok: true, value: 9007199254740991 });
  });
  it('refuses nesting deeper than the limit', () => {
    refused('['.repeat(33) + ']'.repeat(33), /deeper/);
    expect(parseStrictJson('['.repeat(32) + ']'.repeat(32)).ok).toBe(true);
  });
  it('refuses nesting 100,000 deep, arrays and objects, without throwing (it threw RangeError, stack overflow)', () => {
    // JSON.parse reads any depth; writing such a value back with JSON.stringify overflowed the stack, and the throw
    // went out of the transports' inbound check. 200 KB: a message well within the size limit.
    refused(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, /deeper than 32/);
    refused(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, /deeper than 32/);
  });
  it('refuses lone surrogates, raw control characters and bad escapes', () => {
    refused('"\\ud800"', /surrogate/);
    refused('"a\u0001"', /control/);
    refused('"\\x41"', /escape/);
  });
  it('refuses invalid JSON with a position, and never throws', () => {
    for (const bad of ['', '{', '{"a"}', '[1,]', '01', '+1', 'tru', '{"a":1}x', 'NaN', "{'a':1}", '"abc']) {
      const r = parseStrictJson(bad);
      expect(r.ok, bad).toBe(false);
    }
    expect(parseStrictJson(undefined as unknown as string).ok).toBe(false);
  });
  it('refuses oversize strings, arrays and objects', () => {
    refused(JSON.stringify('x'.repeat(70_000)), /longer/);
    refused(JSON.stringify(Array.from({ length: 5000 }, () => 0)), /items/);
  });
});
