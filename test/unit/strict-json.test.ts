// The wire's JSON parser: agrees with JSON.parse on valid input and refuses what JSON.parse lets through.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStrictJson } from '../../kernel/strict-json.ts';

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
