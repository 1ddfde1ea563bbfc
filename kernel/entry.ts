// The log entry of recovery-04 §4 in camelCase, its schema, and the pure builder of the next body.
import * as z from './zod.ts';
import { hashJson, HASH_PATTERN, sha256HexOfText } from './hash.ts';
import { canonicalJson, jsonProblem, type Json, type JsonLimits } from './json.ts';
import type { PublicJwk } from './crypto/types.ts';

export const LOG_VERSION = '1.0';
/** lastEntryHash of the first entry (seqNumber 1) of every chain. */
export const GENESIS_HASH: string = '0'.repeat(64);
/** The step label of the entry that closes a session's chain (committed, rolled back or aborted). */
export const END_STEP = 'end';

export const OPERATIONS = ['init', 'exec', 'done', 'ack', 'fail'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Limits on one entry; a value over any of them is refused as INVALID_INPUT. */
export const ENTRY_LIMITS = {
  /** Canonical JSON of the payload (and of recoveryPayload), in bytes of UTF-16 length. */
  maxPayloadChars: 64 * 1024,
  /** Canonical JSON of the whole entry. */
  maxEntryChars: 160 * 1024,
  json: { maxDepth: 16, maxString: 64 * 1024, maxItems: 1024, maxNodes: 8192 } satisfies JsonLimits,
};

/** Ids: session, context, gateway. A bounded token alphabet keeps them safe in keys, paths and URLs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const JWK_COORDINATE = /^[A-Za-z0-9_-]{43}$/;
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
/** The most characters of each required text field. */
const TEXT_MAX = {
  version: 16,
  phase: 64,
  step: 64,
  resourceUrl: 2048,
  developerUrn: 512,
  actionResponse: 512,
  credentialProfile: 128,
  credentialBlock: 8192,
  payloadProfile: 512,
  applicationProfile: 512,
  originGatewaySystem: 256,
  destinationGatewaySystem: 256,
  loggingProfile: 128,
  accessControlProfile: 512,
} as const;
const RECOVERY_MESSAGE_MAX = 128;

const id = z.string().check(z.regex(ID_PATTERN));
const text = (max: number) => z.string().check(z.maxLength(max));
const hex64 = z.string().check(z.regex(HASH_PATTERN));
const jwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string().check(z.regex(JWK_COORDINATE)),
  y: z.string().check(z.regex(JWK_COORDINATE)),
});
const json = (what: string) =>
  z.custom<Json>((v) => jsonProblem(v, ENTRY_LIMITS.json) === undefined, {
    message: `${what} is not bounded plain JSON`,
  });

const bodyShape = {
  version: text(TEXT_MAX.version),
  sessionId: id,
  contextId: id,
  seqNumber: z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  phase: text(TEXT_MAX.phase),
  step: text(TEXT_MAX.step),
  author: id,
  resourceUrl: text(TEXT_MAX.resourceUrl),
  developerUrn: text(TEXT_MAX.developerUrn),
  actionResponse: text(TEXT_MAX.actionResponse),
  credentialProfile: text(TEXT_MAX.credentialProfile),
  credentialBlock: text(TEXT_MAX.credentialBlock),
  payloadProfile: text(TEXT_MAX.payloadProfile),
  applicationProfile: text(TEXT_MAX.applicationProfile),
  payload: json('payload'),
  payloadHash: hex64,
  timestamp: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
  originGatewayPubkey: jwk,
  originGatewaySystem: text(TEXT_MAX.originGatewaySystem),
  destinationGatewayPubkey: jwk,
  destinationGatewaySystem: text(TEXT_MAX.destinationGatewaySystem),
  loggingProfile: text(TEXT_MAX.loggingProfile),
  lastEntryHash: hex64,
  accessControlProfile: text(TEXT_MAX.accessControlProfile),
  operation: z.enum(OPERATIONS),
  recoveryMessage: z.optional(text(RECOVERY_MESSAGE_MAX)),
  recoveryPayload: z.optional(json('recoveryPayload')),
};

export const entryBodySchema = z.strictObject(bodyShape);
export const logEntrySchema = z.strictObject({
  ...bodyShape,
  entryHash: hex64,
  messageSignature: z.string().check(z.regex(SIGNATURE_PATTERN)),
});

const TEXT_BOUNDS = Object.entries(TEXT_MAX);
const BODY_KEYS: ReadonlySet<string> = new Set(Object.keys(bodyShape));
const ENTRY_KEYS: ReadonlySet<string> = new Set([...BODY_KEYS, 'entryHash', 'messageSignature']);
const JWK_KEYS: ReadonlySet<string> = new Set(['kty', 'crv', 'x', 'y']);

/** A plain object (JSON's kind) whose own keys are all in `allowed`. */
function plainWithin(v: unknown, allowed: ReadonlySet<string>): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(v)) if (!allowed.has(k)) return false;
  return true;
}

/** The fields that match a pattern, and the pattern. */
const PATTERNED: readonly (readonly [string, RegExp])[] = [
  ['sessionId', ID_PATTERN],
  ['contextId', ID_PATTERN],
  ['author', ID_PATTERN],
  ['payloadHash', HASH_PATTERN],
  ['lastEntryHash', HASH_PATTERN],
  ['entryHash', HASH_PATTERN],
  ['messageSignature', SIGNATURE_PATTERN],
];
const isCount = (v: unknown, least: number): boolean => Number.isSafeInteger(v) && (v as number) >= least;
const isJwk = (v: unknown): boolean =>
  plainWithin(v, JWK_KEYS) &&
  v.kty === 'EC' &&
  (v.crv === 'P-256' || v.crv === 'secp256k1') &&
  typeof v.x === 'string' &&
  JWK_COORDINATE.test(v.x) &&
  typeof v.y === 'string' &&
  JWK_COORDINATE.test(v.y);
const isBoundedJson = (v: unknown): boolean => jsonProblem(v, ENTRY_LIMITS.json) === undefined;

/**
 * Whether `value` is a log entry, checked by hand: about ten times cheaper than logEntrySchema, and every entry a
 * recovered gateway receives is checked. Never more lenient than the schema: true only for what the schema accepts
 * (`test/unit/entry-shape.test.ts` holds the two to that). False asks the schema, which names what is wrong; so
 * it may be stricter, as it is for an object that is not plain or an optional field present but undefined.
 */
export const wellShapedEntry = (value: unknown): value is LogEntry => wellShaped(value, ENTRY_KEYS);

/**
 * Whether `value` is an entry body (no seal members), checked by hand as wellShapedEntry checks an entry: true only
 * for what entryBodySchema accepts. sealEntry takes it for the bodies the kernel built, and asks the schema only
 * when it is false.
 */
export const wellShapedBody = (value: unknown): value is EntryBody => wellShaped(value, BODY_KEYS);

function wellShaped(value: unknown, keys: ReadonlySet<string>): boolean {
  if (!plainWithin(value, keys)) return false;
  const e = value;
  for (const [key, most] of TEXT_BOUNDS) {
    const v = e[key];
    if (typeof v !== 'string' || v.length > most) return false;
  }
  for (const [key, pattern] of PATTERNED) {
    const v = e[key];
    // A body has no seal members.
    if (keys.has(key) && (typeof v !== 'string' || !pattern.test(v))) return false;
  }
  return (
    isCount(e.seqNumber, 1) &&
    isCount(e.timestamp, 0) &&
    OPERATIONS.includes(e.operation as Operation) &&
    isJwk(e.originGatewayPubkey) &&
    isJwk(e.destinationGatewayPubkey) &&
    (!('recoveryMessage' in e) ||
      (typeof e.recoveryMessage === 'string' && e.recoveryMessage.length <= RECOVERY_MESSAGE_MAX)) &&
    (!('recoveryPayload' in e) || isBoundedJson(e.recoveryPayload)) &&
    isBoundedJson(e.payload)
  );
}

/** What the kernel builds: every field but the seal. */
export type EntryBody = z.infer<typeof entryBodySchema> & {
  originGatewayPubkey: PublicJwk;
  destinationGatewayPubkey: PublicJwk;
};
/** A sealed entry: the body plus its hash and its author's signature over the body's canonical JSON. */
export type LogEntry = EntryBody & { entryHash: string; messageSignature: string };

/** Fields fixed for one gateway's chain of one session. */
export type ChainContext = Pick<
  EntryBody,
  | 'sessionId'
  | 'contextId'
  | 'author'
  | 'resourceUrl'
  | 'developerUrn'
  | 'credentialProfile'
  | 'credentialBlock'
  | 'payloadProfile'
  | 'applicationProfile'
  | 'originGatewayPubkey'
  | 'originGatewaySystem'
  | 'destinationGatewayPubkey'
  | 'destinationGatewaySystem'
  | 'loggingProfile'
  | 'accessControlProfile'
> & { version?: string };

/** Fields that change from entry to entry. */
export interface EntryStep {
  phase: string;
  step: string;
  operation: Operation;
  actionResponse?: string;
  payload: Json;
  /** Milliseconds since the UNIX epoch; handed in, never read from a clock. */
  timestamp: number;
  recoveryMessage?: string;
  recoveryPayload?: Json;
}

/** Where a chain stands: its last seqNumber and entry hash (seq 0 and GENESIS_HASH when empty). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export const headOf = (entry: Pick<LogEntry, 'seqNumber' | 'entryHash'> | undefined): ChainHead =>
  entry ? { seq: entry.seqNumber, hash: entry.entryHash } : EMPTY_HEAD;

/**
 * The body of the entry that follows `head` in the chain described by `ctx`. Pure. `payloadText`: the payload's
 * canonical JSON, when the caller has it (seal.ts `chainBody`), so it is not canonicalized again; a wrong one gives a
 * payloadHash that sealing and every check refuse.
 */
export function nextEntryBody(ctx: ChainContext, head: ChainHead, step: EntryStep, payloadText?: string): EntryBody {
  const body: EntryBody = {
    version: ctx.version ?? LOG_VERSION,
    sessionId: ctx.sessionId,
    contextId: ctx.contextId,
    seqNumber: head.seq + 1,
    phase: step.phase,
    step: step.step,
    author: ctx.author,
    resourceUrl: ctx.resourceUrl,
    developerUrn: ctx.developerUrn,
    actionResponse: step.actionResponse ?? '',
    credentialProfile: ctx.credentialProfile,
    credentialBlock: ctx.credentialBlock,
    payloadProfile: ctx.payloadProfile,
    applicationProfile: ctx.applicationProfile,
    payload: step.payload,
    payloadHash: payloadText === undefined ? hashJson(step.payload) : sha256HexOfText(payloadText),
    timestamp: step.timestamp,
    originGatewayPubkey: ctx.originGatewayPubkey,
    originGatewaySystem: ctx.originGatewaySystem,
    destinationGatewayPubkey: ctx.destinationGatewayPubkey,
    destinationGatewaySystem: ctx.destinationGatewaySystem,
    loggingProfile: ctx.loggingProfile,
    lastEntryHash: head.hash,
    accessControlProfile: ctx.accessControlProfile,
    operation: step.operation,
  };
  if (step.recoveryMessage !== undefined) body.recoveryMessage = step.recoveryMessage;
  if (step.recoveryPayload !== undefined) body.recoveryPayload = step.recoveryPayload;
  return body;
}

/** The entry's hash: SHA-256 of the canonical JSON of the entry without entryHash and messageSignature. */
export function entryHashOf(entry: EntryBody | LogEntry): string {
  const { entryHash: _h, messageSignature: _s, ...body } = entry as LogEntry;
  return hashJson(body as unknown as Json);
}

export const canonicalBody = (body: EntryBody): string => canonicalJson(body as unknown as Json);

/** The id of the chain a gateway writes for a session: one chain per gateway per session. */
export const logIdOf = (sessionId: string, author: string): string => `${sessionId}/${author}`;

export function parseLogId(logId: string): { sessionId: string; author: string } | undefined {
  const slash = logId.indexOf('/');
  if (slash < 0) return undefined;
  const sessionId = logId.slice(0, slash);
  const author = logId.slice(slash + 1);
  return ID_PATTERN.test(sessionId) && ID_PATTERN.test(author) ? { sessionId, author } : undefined;
}

export const isEndEntry = (entry: Pick<EntryBody, 'step'>): boolean => entry.step === END_STEP;
