// The Log Storage API's choke point for untrusted input: raw body bytes to strict JSON, path and
// query parameters to checked values. Refusals are SatpError INVALID_INPUT (400).
import { SatpError } from '../kernel/errors.ts';
import { ID_PATTERN, logIdOf, parseLogId } from '../kernel/entry.ts';
import type { Json, JsonLimits } from '../kernel/json.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';

/**
 * Limits on a request body's JSON. An entry nests at most 16 deep inside its payload
 * (kernel/entry.ts ENTRY_LIMITS); `{"entries":[{"payload":…}]}` adds three levels.
 */
export const BODY_JSON_LIMITS: JsonLimits = { maxDepth: 20, maxString: 64 * 1024, maxItems: 1024, maxNodes: 65_536 };

// fatal: invalid UTF-8 is refused, not replaced by U+FFFD (which would change what was signed);
// ignoreBOM: a BOM stays in the text, and the JSON parser refuses it (RFC 8259 §8.1).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body's JSON value. Never JSON.parse: duplicate keys, __proto__ and huge numbers are refused. */
export function parseBody(bytes: Uint8Array, limits: JsonLimits = BODY_JSON_LIMITS): Json {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new SatpError('INVALID_INPUT', 'the body is not valid UTF-8');
  }
  const parsed = parseStrictJson(text, limits);
  if (!parsed.ok)
    throw new SatpError('INVALID_INPUT', `the body is not acceptable JSON: ${parsed.problem} at offset ${parsed.at}`);
  return parsed.value;
}

export const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** The log a route names: `/:sessionId/:author`, the two halves of logIdOf (kernel/entry.ts). */
export function logIdParam(
  sessionId: string | undefined,
  author: string | undefined,
): { logId: string; sessionId: string; author: string } {
  if (!sessionId || !author || !ID_PATTERN.test(sessionId) || !ID_PATTERN.test(author)) {
    throw new SatpError(
      'INVALID_INPUT',
      'the log is named by /<sessionId>/<author>, each matching [A-Za-z0-9][A-Za-z0-9._:-]{0,127}',
    );
  }
  return { logId: logIdOf(sessionId, author), sessionId, author };
}

/** A log named by one value, as recovery-04 §3.4's single-segment routes name it. */
export interface NamedLog {
  logId: string;
  sessionId: string;
  author: string;
}

/**
 * The log a recovery-04 §3.4 single-segment route names (`/writeLogEntry/:logId`, `?log=`): the log id itself,
 * `<sessionId>/<author>` (kernel/entry.ts logIdOf), its `/` sent as `%2F` in a path segment (docs/log-storage-api.md,
 * "Log ids in paths"). `what` says where it came from, for the refusal.
 */
export function singleLogIdParam(value: string | undefined, what: string): NamedLog {
  const parsed = value === undefined ? undefined : parseLogId(value);
  if (!parsed || value === undefined) {
    throw new SatpError(
      'INVALID_INPUT',
      `${what} names the log as <sessionId>/<author> (in a path segment, its "/" as %2F), ` +
        'each half matching [A-Za-z0-9][A-Za-z0-9._:-]{0,127}',
    );
  }
  return { logId: value, ...parsed };
}

/**
 * The entry recovery-04 §3.4's `GET /getLogEntry/:id` names: `<sessionId>/<author>/<seqNumber>`, the log id and the
 * entry's place in it, its slashes sent as `%2F`.
 */
export function entryIdParam(value: string | undefined): { log: NamedLog; seq: number } {
  const at = value?.lastIndexOf('/') ?? -1;
  const bad = () =>
    new SatpError(
      'INVALID_INPUT',
      'the entry id is <sessionId>/<author>/<seqNumber>, its "/" sent as %2F (e.g. s-1%2Fgw-a%2F2)',
    );
  if (value === undefined || at < 0) throw bad();
  const parsed = parseLogId(value.slice(0, at));
  if (!parsed) throw bad();
  return {
    log: { logId: value.slice(0, at), ...parsed },
    seq: intParam(value.slice(at + 1), 'the seqNumber of the entry id', 1, 1),
  };
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** A decimal integer parameter in [min, MAX_SAFE_INTEGER], or `fallback` when absent. */
export function intParam(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new SatpError('INVALID_INPUT', `${name} must be a decimal integer ≥ ${min}`);
  return n;
}
