// A log entry in the form of recovery-04 §4 Figure 5 ("Version", "Session ID", …), and back; Figure 6's camelCase
// form is read too where it maps. Pure and never throwing on input. The mapping and its reasons: docs/log-format.md.
import { type EntryBody, entryBodySchema, ENTRY_LIMITS, type LogEntry } from './entry.ts';
import { sha256HexOfText } from './hash.ts';
import { canonicalJson, type Json } from './json.ts';
import type { PublicJwk } from './crypto/types.ts';
import { checkEntryContent } from './seal.ts';
import { parseStrictJson } from './strict-json.ts';

/** The member that holds what our entry has and Figure 5 lacks, so an export loses nothing. */
export const DRAFT_EXTENSION_KEY = 'x-satp-recovery';

/**
 * Each field of our entry (kernel/entry.ts) and the Figure 5 key it is written under, in Figure 5's order. Every
 * key of Figure 5 has a field here ("Context ID" is in §4's list though not in the figure); our `author` and `step`
 * have no key in the draft, and `entryHash` none either (the draft names only the previous entry's hash), so they
 * go in the extension.
 */
export const DRAFT_KEYS = {
  version: 'Version',
  sessionId: 'Session ID',
  contextId: 'Context ID',
  seqNumber: 'Sequence Number',
  phase: 'SATP Phase',
  resourceUrl: 'Resource URL',
  developerUrn: 'Developer URN',
  actionResponse: 'Action/Response',
  credentialProfile: 'Credential Profile',
  credentialBlock: 'Credential Block',
  payloadProfile: 'Payload Profile',
  applicationProfile: 'Application Profile',
  payload: 'Payload',
  payloadHash: 'Payload Hash',
  timestamp: 'timestamp',
  originGatewayPubkey: 'origin_gateway_pubkey',
  originGatewaySystem: 'origin_gateway_system',
  destinationGatewayPubkey: 'destination_gateway_pubkey',
  destinationGatewaySystem: 'destination_gateway_system',
  loggingProfile: 'logging_profile',
  messageSignature: 'Message_signature',
  lastEntryHash: 'Last_entry_hash',
  accessControlProfile: 'Access_control_profile',
  operation: 'Operation',
  recoveryMessage: 'recovery message',
  recoveryPayload: 'recovery payload',
} as const satisfies Record<Exclude<keyof LogEntry, 'author' | 'step' | 'entryHash'>, string>;

type Field = keyof typeof DRAFT_KEYS;
const OPTIONAL_FIELDS: readonly Field[] = ['recoveryMessage', 'recoveryPayload'];

/** What the extension holds: the fields Figure 5 has no key for, and the milliseconds its seconds drop. */
export interface DraftExtension {
  author: string;
  step: string;
  entryHash: string;
  /** The entry's timestamp modulo 1000: "timestamp" holds whole seconds (§4: "UNIX format"), ours milliseconds. */
  subsecondMs: number;
}

/** A log entry in Figure 5's form. "Payload" and "recovery payload" hold the canonical JSON text of ours. */
export interface DraftFormEntry {
  Version: string;
  'Session ID': string;
  'Context ID': string;
  'Sequence Number': number;
  'SATP Phase': string;
  'Resource URL': string;
  'Developer URN': string;
  'Action/Response': string;
  'Credential Profile': string;
  'Credential Block': string;
  'Payload Profile': string;
  'Application Profile': string;
  Payload: string;
  'Payload Hash': string;
  /** Whole seconds since the UNIX epoch. */
  timestamp: number;
  origin_gateway_pubkey: PublicJwk;
  origin_gateway_system: string;
  destination_gateway_pubkey: PublicJwk;
  destination_gateway_system: string;
  logging_profile: string;
  Message_signature: string;
  Last_entry_hash: string;
  Access_control_profile: string;
  Operation: string;
  'recovery message'?: string;
  'recovery payload'?: string;
  [DRAFT_EXTENSION_KEY]: DraftExtension;
}

/** The entry in Figure 5's form: a new object sharing nothing with the entry. */
export function toDraftForm(entry: LogEntry): DraftFormEntry {
  const out: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(DRAFT_KEYS) as [Field, string][]) {
    const value = entry[field];
    if (value === undefined) continue;
    if (field === 'payload' || field === 'recoveryPayload') out[key] = canonicalJson(value as Json);
    else if (field === 'timestamp') out[key] = Math.floor(entry.timestamp / 1000);
    else if (typeof value === 'object') out[key] = { ...value };
    else out[key] = value;
  }
  out[DRAFT_EXTENSION_KEY] = {
    author: entry.author,
    step: entry.step,
    entryHash: entry.entryHash,
    subsecondMs: entry.timestamp % 1000,
  } satisfies DraftExtension;
  return out as unknown as DraftFormEntry;
}

export type DraftImport =
  | {
      ok: true;
      /** The entry, as sealEntry made it: its canonical body with entryHash and messageSignature after it. */
      entry: LogEntry;
      form: 'figure-5' | 'figure-6';
      /** Keys of a Figure 6 entry that our entry has no field for (its gateways' addresses); dropped. */
      ignored: string[];
    }
  | { ok: false; error: string };

const FIELD_OF_KEY = new Map<string, Field>(Object.entries(DRAFT_KEYS).map(([f, k]) => [k, f as Field]));
const EXTENSION_KEYS = ['author', 'step', 'entryHash', 'subsecondMs'];
/** Figure 6's names that are not ours, and the field each maps to (undefined: no field; ignored). */
const FIGURE_6_KEYS: Readonly<Record<string, keyof EntryBody | undefined>> = {
  phaseId: 'phase',
  originNetworkId: 'originGatewaySystem',
  destinationNetworkId: 'destinationGatewaySystem',
  originGatewayId: undefined,
  destinationGatewayId: undefined,
};
const BODY_FIELDS = Object.keys(entryBodySchema.shape) as (keyof EntryBody)[];
const REQUIRED_BODY_FIELDS = BODY_FIELDS.filter((f) => f !== 'recoveryMessage' && f !== 'recoveryPayload');
const SECONDS = /^(0|[1-9][0-9]{0,15})$/;

const fail = (error: string): DraftImport => ({ ok: false, error });
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const quote = (keys: readonly string[]) => keys.map((k) => JSON.stringify(k)).join(', ');
const has = (o: object, k: string): boolean => Object.hasOwn(o, k);

/**
 * The LogEntry an object in Figure 5's form (as toDraftForm makes it) or Figure 6's camelCase form stands for,
 * with its payload and entry hashes checked (the signature is the caller's to verify: verifyEntry, verifyChain).
 * Never throws; a refusal says which key is wrong and why.
 */
export function fromDraftForm(value: unknown): DraftImport {
  try {
    if (!isPlainObject(value)) return fail('a draft-form entry is a JSON object');
    const keys = Object.keys(value);
    // "timestamp" is a key of both forms (and of ours); any other Figure 5 key, or the extension, tells Figure 5.
    const figure5 = keys.some((k) => (FIELD_OF_KEY.has(k) && k !== 'timestamp') || k === DRAFT_EXTENSION_KEY);
    return figure5 ? fromFigure5(value, keys) : fromFigure6(value, keys);
  } catch (err) {
    return fail(`not a draft-form entry: ${String(err)}`);
  }
}

function fromFigure5(value: Record<string, unknown>, keys: string[]): DraftImport {
  const unknown = keys.filter((k) => !FIELD_OF_KEY.has(k) && k !== DRAFT_EXTENSION_KEY);
  if (unknown.length) return fail(`Figure 5 form: unknown key(s) ${quote(unknown)}`);
  const missing: string[] = Object.values(DRAFT_KEYS).filter(
    (k) => !has(value, k) && !OPTIONAL_FIELDS.includes(FIELD_OF_KEY.get(k)!),
  );
  if (!has(value, DRAFT_EXTENSION_KEY)) missing.push(DRAFT_EXTENSION_KEY);
  if (missing.length)
    return fail(
      `Figure 5 form: missing ${quote(missing)}` +
        (missing.includes(DRAFT_EXTENSION_KEY)
          ? ` (without "${DRAFT_EXTENSION_KEY}" the entry's author, step and milliseconds are unknown, ` +
            'so no entry that verifies can be rebuilt)'
          : ''),
    );
  const ext = value[DRAFT_EXTENSION_KEY];
  if (!isPlainObject(ext)) return fail(`"${DRAFT_EXTENSION_KEY}" must be an object`);
  const extUnknown = Object.keys(ext).filter((k) => !EXTENSION_KEYS.includes(k));
  const extMissing = ['author', 'step', 'subsecondMs'].filter((k) => !has(ext, k));
  if (extUnknown.length || extMissing.length)
    return fail(
      `"${DRAFT_EXTENSION_KEY}" holds ${quote(EXTENSION_KEYS)} (entryHash optional)` +
        (extUnknown.length ? `; unknown ${quote(extUnknown)}` : '') +
        (extMissing.length ? `; missing ${quote(extMissing)}` : ''),
    );
  const { subsecondMs } = ext;
  if (typeof subsecondMs !== 'number' || !Number.isInteger(subsecondMs) || subsecondMs < 0 || subsecondMs > 999)
    return fail(`"${DRAFT_EXTENSION_KEY}".subsecondMs must be an integer from 0 to 999`);
  const seconds = value.timestamp;
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds < 0)
    return fail('"timestamp" must be whole seconds since the UNIX epoch (an integer ≥ 0)');

  const body: Record<string, unknown> = { author: ext.author, step: ext.step };
  for (const [field, key] of Object.entries(DRAFT_KEYS) as [Field, string][]) {
    if (!has(value, key)) continue;
    const v = value[key];
    if (field === 'payload' || field === 'recoveryPayload') {
      if (typeof v !== 'string') return fail(`"${key}" must be the payload's JSON text (a string)`);
      const parsed = parseStrictJson(v, ENTRY_LIMITS.json);
      if (!parsed.ok) return fail(`"${key}" is not acceptable JSON text: ${parsed.problem} at offset ${parsed.at}`);
      body[field] = parsed.value;
    } else if (field === 'timestamp') body[field] = seconds * 1000 + subsecondMs;
    else body[field] = v;
  }
  const { messageSignature, ...rest } = body;
  const keyOf = (f: string) => (has(DRAFT_KEYS, f) ? DRAFT_KEYS[f as Field] : `${DRAFT_EXTENSION_KEY}.${f}`);
  return seal(rest, messageSignature, ext.entryHash, 'figure-5', [], keyOf);
}

function fromFigure6(value: Record<string, unknown>, keys: string[]): DraftImport {
  const body: Record<string, unknown> = {};
  const ignored: string[] = [];
  let secondsTimestamp = false;
  for (const k of keys) {
    if (has(FIGURE_6_KEYS, k)) {
      const field = FIGURE_6_KEYS[k];
      if (field === undefined) ignored.push(k);
      else if (has(value, field)) return fail(`Figure 6 form: both "${k}" and "${field}" are given`);
      else body[field] = value[k];
    } else if (k === 'timestamp' && typeof value[k] === 'string') {
      // Figure 6 writes UNIX seconds as a string ("1606157333"); a number is our own milliseconds.
      const s = value[k] as string;
      if (!SECONDS.test(s)) return fail('Figure 6 form: a string "timestamp" must be decimal UNIX seconds');
      body.timestamp = Number(s) * 1000;
      secondsTimestamp = true;
    } else if ((BODY_FIELDS as string[]).includes(k) || k === 'messageSignature' || k === 'entryHash') {
      body[k] = value[k];
    } else return fail(`Figure 6 form: unknown key "${k}"`);
  }
  const missing = [...REQUIRED_BODY_FIELDS, 'messageSignature'].filter((f) => !has(body, f));
  if (missing.length)
    return fail(
      `Figure 6 form: missing ${quote(missing)}; Figure 6 carries no signature, hashes, keys or profiles, ` +
        'so an entry that verifies can be rebuilt only from one that also has these fields of ours',
    );
  const { messageSignature, entryHash, ...rest } = body;
  const hint = secondsTimestamp
    ? ' (its "timestamp" was whole seconds: if the entry was signed with milliseconds, they are lost)'
    : '';
  return seal(rest, messageSignature, entryHash, 'figure-6', ignored, (f) => f, hint);
}

/** Checks the rebuilt body, then the entry with its seal, and returns it as sealEntry's text would parse. */
function seal(
  body: Record<string, unknown>,
  messageSignature: unknown,
  entryHash: unknown,
  form: 'figure-5' | 'figure-6',
  ignored: string[],
  keyOf: (field: string) => string,
  hint = '',
): DraftImport {
  const prefix = form === 'figure-5' ? 'Figure 5 form' : 'Figure 6 form';
  const shaped = entryBodySchema.safeParse(body);
  if (!shaped.success) {
    const issue = shaped.error.issues[0];
    const [field, ...path] = (issue?.path ?? []).map(String);
    const where = field ? [JSON.stringify(keyOf(field)), ...path].join('.') : '(entry)';
    return fail(`${prefix}: ${where}: ${issue?.message}`);
  }
  const canonical = canonicalJson(body as Json);
  const hash = entryHash === undefined ? sha256HexOfText(canonical) : entryHash;
  const check = checkEntryContent({ ...body, entryHash: hash, messageSignature });
  if (!check.ok) {
    const detail = check.detail.replace(/^(\w+)(?=[.:])/, (f) =>
      has(DRAFT_KEYS, f) || f === 'entryHash' ? JSON.stringify(keyOf(f)) : f,
    );
    return fail(`${prefix}: ${check.reason}: ${detail}${check.reason === 'bad-entry-hash' ? hint : ''}`);
  }
  const text = `${canonical.slice(0, -1)},"entryHash":"${hash}","messageSignature":"${messageSignature}"}`;
  return { ok: true, entry: JSON.parse(text) as LogEntry, form, ignored };
}
