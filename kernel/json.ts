// Canonical JSON (RFC 8785, JCS) and the structural check every untrusted JSON value passes first.
import { SatpError } from './errors.ts';
import { utf8 } from './encoding.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface JsonLimits {
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Longest string, in UTF-16 code units. */
  maxString: number;
  /** Most members in one object or items in one array. */
  maxItems: number;
  /** Most nodes (values) in the whole tree. */
  maxNodes: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxString: 65_536, maxItems: 4_096, maxNodes: 65_536 };

/** Keys that would reach an object's prototype when copied naively; never accepted (here and in strict-json.ts). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Returns a reason string if `value` is not plain, bounded, safe JSON, or undefined if it is.
 * Plain means: null, booleans, finite numbers within ±(2^53−1), strings without lone surrogates,
 * arrays, and objects whose prototype is Object.prototype or null. Never throws.
 */
export function jsonProblem(value: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS, path = '$'): string | undefined {
  let nodes = 0;
  // A refusal names the path of the value refused, which only a refusal needs: it is put together on the way back
  // out of the walk, so a plain value (a received entry's payload, every parsed message) costs no path strings.
  type Refusal = { reason: string; at: string[] };
  const refuse = (reason: string): Refusal => ({ reason, at: [] });
  const walk = (v: unknown, depth: number): Refusal | undefined => {
    if (++nodes > limits.maxNodes) return refuse(`more than ${limits.maxNodes} values`);
    if (v === null || typeof v === 'boolean') return undefined;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return refuse('number is not finite');
      if (Math.abs(v) > Number.MAX_SAFE_INTEGER) return refuse('number beyond 2^53-1');
      return undefined;
    }
    if (typeof v === 'string') {
      if (v.length > limits.maxString) return refuse(`string longer than ${limits.maxString}`);
      if (!wellFormed(v)) return refuse('string has a lone surrogate');
      return undefined;
    }
    if (typeof v !== 'object') return refuse(`${typeof v} is not JSON`);
    if (depth >= limits.maxDepth) return refuse(`nested deeper than ${limits.maxDepth}`);
    if (Array.isArray(v)) {
      if (v.length > limits.maxItems) return refuse(`more than ${limits.maxItems} items`);
      for (let i = 0; i < v.length; i++) {
        const r = walk(v[i], depth + 1);
        if (r) {
          r.at.push(`[${i}]`);
          return r;
        }
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return refuse('not a plain object');
    const keys = Object.keys(v);
    if (keys.length > limits.maxItems) return refuse(`more than ${limits.maxItems} members`);
    if (Object.getOwnPropertySymbols(v).length > 0) return refuse('symbol keys');
    for (const k of keys) {
      if (FORBIDDEN_KEYS.has(k)) return refuse(`forbidden key ${JSON.stringify(k)}`);
      if (k.length > limits.maxString) return refuse(`key longer than ${limits.maxString}`);
      if (!wellFormed(k)) return refuse('key has a lone surrogate');
      const r = walk((v as Record<string, unknown>)[k], depth + 1);
      if (r) {
        r.at.push(`.${k}`);
        return r;
      }
    }
    return undefined;
  };
  try {
    const r = walk(value, 0);
    return r && `${path}${r.at.reverse().join('')}: ${r.reason}`;
  } catch (err) {
    // Getters or proxies on hostile objects: report, never throw.
    return `${path}: unreadable (${String(err)})`;
  }
}

/** Throws INVALID_INPUT unless `value` passes jsonProblem. */
export function assertJson(value: unknown, what: string, limits?: JsonLimits): asserts value is Json {
  const problem = jsonProblem(value, limits, what);
  if (problem) throw new SatpError('INVALID_INPUT', problem);
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** RFC 8785 canonical JSON text of a value that already passed jsonProblem. */
export function canonicalJson(value: Json): string {
  // Values parsed from canonical JSON (every entry and message that arrives) have their members in order already:
  // then JSON.stringify writes the canonical text, natively and as one flat string, which is cheaper to build and
  // to hash than the one jcs concatenates.
  if (stringifiesCanonically(value, 0)) return JSON.stringify(value);
  const text = jcs(value, 0);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * Whether JSON.stringify writes `v` exactly as JCS does: plain objects and arrays only (no toJSON), members in JCS
 * order already, every string and key well formed, every number finite, nothing JSON.stringify would leave out or
 * turn into null. False for anything else, which jcs then writes or refuses.
 */
function stringifiesCanonically(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return wellFormed(v);
    case 'number':
      return Number.isFinite(v);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth >= MAX_CANONICAL_DEPTH || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!stringifiesCanonically(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(v);
  // The order first, before any member is walked: an object built out of order (most that the gateway builds) is
  // turned down at the cost of its keys alone.
  for (let i = 0; i < keys.length; i++) {
    if ((i > 0 && keys[i - 1]! >= keys[i]!) || !wellFormed(keys[i]!)) return false;
  }
  for (let i = 0; i < keys.length; i++) {
    if (!stringifiesCanonically((v as Record<string, unknown>)[keys[i]!], depth + 1)) return false;
  }
  return true;
}

/**
 * The canonical text of a member, from JSON.stringify when it is an array that JSON.stringify writes as JCS does (a
 * recovery page's entries, read back in order, inside a message the gateway built), else from jcs. Arrays only: for
 * the small objects the kernel builds, the check and the native call cost more than jcs (about 6 % on an entry body).
 */
function jcsMember(v: unknown, depth: number): string | undefined {
  return Array.isArray(v) && stringifiesCanonically(v, depth) ? JSON.stringify(v) : jcs(v, depth);
}

/**
 * The canonical JSON of a plain object whose member `key` has the canonical text `text` already (JCS sorts
 * members by name alone, so a member's text can be spliced in): saves canonicalizing a large member twice.
 */
export function canonicalJsonWith(value: Record<string, Json>, key: string, text: string): string {
  let out = '{';
  for (const k of sortedKeys(value)) {
    const t = k === key ? text : jcsMember(value[k], 1);
    if (t === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${quotedKey(k)}:${t}`;
  }
  return `${out}}`;
}

/**
 * An object's own keys in JCS order (UTF-16 code units, Array.prototype.sort's default); parsed canonical JSON is
 * sorted already.
 */
function sortedKeys(v: object): string[] {
  const keys = Object.keys(v);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) return keys.sort();
  }
  return keys;
}

/**
 * Member names recur in every entry and message: their quoted (and checked) form is kept, for short names, up to a
 * bound.
 */
const quoted = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quoted.get(k);
  if (q === undefined) {
    if (!wellFormed(k)) throw new TypeError('a key has a lone surrogate');
    q = JSON.stringify(k);
    if (k.length <= 64 && quoted.size < 4_096) quoted.set(k, q);
  }
  return q;
}

/** Deeper than any value jsonProblem admits; past it the value is circular or hostile. */
const MAX_CANONICAL_DEPTH = 1_000;

/** No lone surrogate: the native check where the runtime has it (Node 20, Deno, current browsers), else a loop. */
export const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : isWellFormed;

/**
 * RFC 8785 §3.2: members sorted by UTF-16 code units (Array.prototype.sort's default order), strings and
 * numbers exactly as ECMAScript's JSON.stringify writes them (§3.2.2.2, §3.2.2.3), no whitespace. Written
 * here rather than taken from a package because it runs several times per log entry on the hot path, and
 * string building with native JSON.stringify for the leaves is several times faster. Returns undefined for
 * what JSON.stringify omits (undefined, functions, symbols); throws on what JCS refuses.
 */
function jcs(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      if (!wellFormed(v)) throw new TypeError('a string has a lone surrogate');
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${v} has no JSON form`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('a bigint has no JSON form');
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'null';
  if (depth >= MAX_CANONICAL_DEPTH) throw new RangeError('nested too deeply, or circular');
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return jcs((v as { toJSON(): unknown }).toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + (jcs(v[i], depth + 1) ?? 'null');
    return `${out}]`;
  }
  let out = '{';
  for (const k of sortedKeys(v)) {
    const t = jcsMember((v as Record<string, unknown>)[k], depth + 1);
    if (t === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${quotedKey(k)}:${t}`;
  }
  return `${out}}`;
}

export const canonicalBytes = (value: Json): Uint8Array => utf8(canonicalJson(value));
