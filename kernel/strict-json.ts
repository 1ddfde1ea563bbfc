// The one parser for untrusted JSON text: JSON.parse silently keeps the last of duplicate
// keys, rounds numbers past 2^53 and accepts any depth; this parser refuses all of that. Never throws.
import { DEFAULT_JSON_LIMITS, FORBIDDEN_KEYS, type Json, jsonProblem, type JsonLimits, wellFormed } from './json.ts';

export type StrictJsonResult = { ok: true; value: Json } | { ok: false; problem: string; at: number };

/** What ends a run of plain characters in a string: its closing quote, an escape, or a (refused) control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const SPECIAL = /["\\\u0000-\u001f]/g;

/** The one-character escapes (after the backslash) and, at the same place, what each stands for. */
const ESCAPES = '"\\/bfnrt';
const ESCAPED = '"\\/\b\f\n\r\t';

class Refusal {
  constructor(
    readonly problem: string,
    readonly at: number,
  ) {}
}

export function parseStrictJson(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): StrictJsonResult {
  if (typeof text !== 'string') return { ok: false, problem: 'input is not text', at: 0 };
  const value = parseFlatStrings(text, limits) ?? parseAsWritten(text, limits);
  return value === undefined ? parseStrictJsonByHand(text, limits) : { ok: true, value };
}

/** What a string in JSON text cannot hold as it stands: a backslash (an escape begins) or a control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const NOT_PLAIN = /[\\\u0000-\u001f]/;

/**
 * An object of strings written with no whitespace and no escapes, `{"k":"v",...}`: every message envelope (three
 * base64url texts). Text without a backslash or a control character (which JSON text never holds raw) is cut at its
 * quotes, so a recovery page's 700 KB payload is sliced out of the message text, not copied as JSON.parse copies it:
 * such text means what it says, `{`, then key, `:`, value, `,` or `}` in turn. A key met twice, a forbidden key or
 * anything else in another form is left to the other paths, which judge it and name the problem.
 */
function parseFlatStrings(text: string, limits: JsonLimits): Json | undefined {
  // An array or a nested object (a recovery page's payload) is not this form: found by indexOf, which scans natively
  // many times faster than a regular expression, before the text is tested and cut at every quote in vain.
  if (text.indexOf('[') >= 0 || text.indexOf('{', 1) >= 0) return undefined;
  const p = NOT_PLAIN.test(text) ? [] : text.split('"');
  const n = p.length;
  if (n < 5 || n % 4 !== 1 || p[0] !== '{') return undefined;
  const out: Record<string, string> = {};
  for (let i = 1; i < n; i += 4) {
    const key = p[i] as string;
    if (p[i + 1] !== ':' || p[i + 3] !== (i + 4 < n ? ',' : '}') || FORBIDDEN_KEYS.has(key) || Object.hasOwn(out, key))
      return undefined;
    out[key] = p[i + 2] as string;
  }
  return jsonProblem(out, limits) === undefined ? out : undefined;
}

/**
 * Text exactly as JSON.stringify writes its value (canonical JSON is such text: every message payload and log entry a
 * gateway sends, and the envelopes around them), parsed natively: JSON.parse, then the value must keep every rule the
 * hand parser enforces, and the text must be the one JSON.stringify writes for it. Then the hand parser would have
 * returned the same value: such text has no whitespace, no duplicate key (JSON.stringify writes each key once), no
 * number JSON.parse rounds (it would be written back otherwise) and only the escapes JSON.stringify writes; the rest
 * of the rules are jsonProblem's. Undefined for anything else, which the hand parser judges and names.
 * The rules are checked first: jsonProblem's walk stops at the depth limit, and JSON.stringify of a value nested
 * 100,000 deep (which JSON.parse reads) threw instead of answering. A recovery page of entries parses here in about
 * two thirds of the hand parser's time (docs/decisions.md), and `test/unit/strict-json.test.ts` holds the two parsers
 * to the same answers.
 */
function parseAsWritten(text: string, limits: JsonLimits): Json | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (jsonProblem(value, limits) !== undefined) return undefined;
  // Most values are judged by their length alone (plainLength): writing back a recovery page (its envelope, then its
  // payload) to compare made a new string of up to a megabyte, whose fresh memory cost more than parsing it.
  return plainLength(value) === text.length || JSON.stringify(value) === text ? (value as Json) : undefined;
}

/**
 * The length of JSON.stringify(value) were none of its strings to need an escape, or -1 if the value holds a number
 * that some shorter text also stands for. Text that JSON.parse reads as `value` and is exactly this long is the text
 * JSON.stringify writes for it, up to how its numbers are spelled: every other text of the same value is longer, by
 * its whitespace, its escapes (each stands for fewer characters than it takes), or a member written twice (JSON.parse
 * keeps one of them, the text holds both). So the length rules all of those out only if no number in the text can be
 * shorter than JSON.stringify writes it, making room for them: an integer with fewer than three trailing zeros has no
 * shorter text (1e3 is shorter than 1000; 1e2 is as long as 100, and 1.5e3 longer than 1500); any other number
 * answers -1. A number spelled as long another way (1e2, 1E2) is the same number, which is all the hand parser keeps.
 * Called on a value jsonProblem accepted: its numbers are safe, and its recursion is bounded by the depth limit.
 */
function plainLength(v: unknown): number {
  if (typeof v === 'string') return v.length + 2;
  if (typeof v === 'number') return Number.isInteger(v) && (v === 0 || v % 1000 !== 0) ? String(v).length : -1;
  if (v === null || typeof v !== 'object') return String(v).length; // null, true, false
  const array = Array.isArray(v);
  const keys = Object.keys(v); // an array's are its indices
  let n = 1 + Math.max(keys.length, 1); // the brackets or braces and the commas between items
  for (const key of keys) {
    const k = plainLength((v as Record<string, unknown>)[key]);
    if (k < 0) return -1;
    n += k + (array ? 0 : key.length + 3); // a member's key, its quotes and its colon
  }
  return n;
}

/**
 * The parser itself, one character class at a time, for any text: what parseStrictJson falls back to, and the
 * reference its native path is tested against.
 */
export function parseStrictJsonByHand(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): StrictJsonResult {
  if (typeof text !== 'string') return { ok: false, problem: 'input is not text', at: 0 };
  let i = 0;
  let nodes = 0;
  const fail = (problem: string, at = i): never => {
    throw new Refusal(problem, at);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const literal = (word: string, value: Json): Json => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail('invalid literal');
  };
  const string = (): string => {
    const start = ++i; // after the opening quote
    let out = '';
    let chunk = start;
    for (;;) {
      // The native regex skips to the next quote, backslash or control character: a long string (a JWS payload)
      // is not walked one character at a time in JavaScript.
      SPECIAL.lastIndex = i;
      if (!SPECIAL.test(text)) fail('unterminated string', start - 1);
      i = SPECIAL.lastIndex - 1;
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunk, i);
        const e = text[i + 1];
        const k = e === undefined ? -1 : ESCAPES.indexOf(e);
        if (k >= 0) {
          out += ESCAPED[k];
          i += 2;
        } else if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else fail('bad escape');
        chunk = i;
        if (out.length > limits.maxString) fail(`string longer than ${limits.maxString}`);
      }
    }
    out += text.slice(chunk, i);
    i++; // closing quote
    if (out.length > limits.maxString) fail(`string longer than ${limits.maxString}`, start - 1);
    if (!wellFormed(out)) fail('string has a lone surrogate', start - 1);
    return out;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const number = (): number => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('invalid number');
    const n = Number(m[0]);
    if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER) fail('number beyond 2^53-1');
    i += m[0].length;
    return n;
  };
  const value = (depth: number): Json => {
    if (++nodes > limits.maxNodes) fail(`more than ${limits.maxNodes} values`);
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= limits.maxDepth) fail(`nested deeper than ${limits.maxDepth}`);
      return c === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    return fail(c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
  };
  const object = (depth: number): Json => {
    i++;
    const out: Record<string, Json> = {};
    const seen = new Set<string>();
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a key');
      const at = i;
      const key = string();
      if (FORBIDDEN_KEYS.has(key)) fail(`forbidden key ${JSON.stringify(key)}`, at);
      if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key)}`, at);
      seen.add(key);
      if (seen.size > limits.maxItems) fail(`more than ${limits.maxItems} members`, at);
      ws();
      if (text[i] !== ':') fail('expected ":"');
      i++;
      out[key] = value(depth);
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      fail('expected "," or "}"');
    }
  };
  const array = (depth: number): Json => {
    i++;
    const out: Json[] = [];
    ws();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      if (out.length > limits.maxItems) fail(`more than ${limits.maxItems} items`);
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return out;
      }
      fail('expected "," or "]"');
    }
  };
  try {
    const v = value(0);
    ws();
    if (i !== text.length) fail('trailing characters');
    return { ok: true, value: v };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, problem: err.problem, at: err.at };
    return { ok: false, problem: `unparseable (${String(err)})`, at: i };
  }
}
