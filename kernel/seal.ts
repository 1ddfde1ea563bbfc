// The kernel's edge for entries: sealing (hash, sign) a body the kernel built, and checking one entry.
import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import { type EntryBody, type LogEntry, ENTRY_LIMITS, entryBodySchema, logEntrySchema } from './entry.ts';
import { sha256Hex, hashJson } from './hash.ts';
import { canonicalJson, type Json } from './json.ts';
import { type KeyResolver, type PublicJwk, sameKey, type Signer, type Verifier } from './crypto/types.ts';

/**
 * Entries sealed in this process by sealEntry, with the public key that signed each. They are deeply
 * frozen, so their hash and signature cannot have gone stale, and a store may skip re-verifying the
 * signature it just made (the signature check is the only costly one), but only when the signing key
 * is the key trusted for the entry's author: a signer with the wrong key, or an unknown author, is
 * refused like any other. Entries from anywhere else are verified in full.
 */
const sealedHere = new WeakMap<object, PublicJwk>();

export const isSealedHere = (entry: object): boolean => sealedHere.has(entry);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export async function sealEntry(body: EntryBody, signer: Signer): Promise<LogEntry> {
  const parsed = entryBodySchema.safeParse(body);
  if (!parsed.success) throw new TypeError(`entry body is invalid: ${parsed.error.issues[0]?.message}`);
  const text = canonicalJson(body as unknown as Json);
  const bytes = utf8(text);
  const entry: LogEntry = {
    ...structuredCloneJson(body),
    entryHash: sha256Hex(bytes),
    messageSignature: toBase64Url(await signer.sign(bytes)),
  };
  deepFreeze(entry);
  sealedHere.set(entry, signer.publicJwk);
  return entry;
}

// A copy that shares nothing with the caller's body, so freezing it does not freeze theirs.
const structuredCloneJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export type EntryFailure =
  | 'malformed'
  | 'bad-payload-hash'
  | 'bad-entry-hash'
  | 'unknown-author'
  | 'bad-signature';

export type EntryCheck = { ok: true; entry: LogEntry } | { ok: false; reason: EntryFailure; detail: string };

export interface VerifyContext {
  keys: KeyResolver;
  verifier: Verifier;
}

/** The checks that need no signature: shape, sizes, payloadHash, entryHash. Never throws. */
export function checkEntryContent(value: unknown): EntryCheck & { canonical?: string } {
  try {
    // Inside the try: a getter or proxy that throws while the schema reads it is malformed input.
    const parsed = logEntrySchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, reason: 'malformed', detail: `${issue?.path.join('.') || '(entry)'}: ${issue?.message}` };
    }
    const entry = value as LogEntry;
    const payloadText = canonicalJson(entry.payload);
    if (payloadText.length > ENTRY_LIMITS.maxPayloadChars) {
      return { ok: false, reason: 'malformed', detail: `payload: larger than ${ENTRY_LIMITS.maxPayloadChars}` };
    }
    if (entry.recoveryPayload !== undefined && canonicalJson(entry.recoveryPayload).length > ENTRY_LIMITS.maxPayloadChars) {
      return { ok: false, reason: 'malformed', detail: `recoveryPayload: larger than ${ENTRY_LIMITS.maxPayloadChars}` };
    }
    if (hashJson(entry.payload) !== entry.payloadHash) {
      return { ok: false, reason: 'bad-payload-hash', detail: `seq ${entry.seqNumber}: payloadHash does not match the payload` };
    }
    const { entryHash: _h, messageSignature: _s, ...body } = entry;
    const canonical = canonicalJson(body as unknown as Json);
    if (canonical.length > ENTRY_LIMITS.maxEntryChars) {
      return { ok: false, reason: 'malformed', detail: `entry: larger than ${ENTRY_LIMITS.maxEntryChars}` };
    }
    if (sha256Hex(utf8(canonical)) !== entry.entryHash) {
      return { ok: false, reason: 'bad-entry-hash', detail: `seq ${entry.seqNumber}: entryHash does not match the entry` };
    }
    return { ok: true, entry, canonical };
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: String(err) };
  }
}

/** Verifies the author's signature of an entry whose content already checked out. Never throws. */
export async function checkEntrySignature(entry: LogEntry, canonical: string | undefined, ctx: VerifyContext): Promise<EntryCheck> {
  const key = ctx.keys(entry.author);
  if (!key) return { ok: false, reason: 'unknown-author', detail: `seq ${entry.seqNumber}: no trusted key for ${entry.author}` };
  const sealedWith = sealedHere.get(entry);
  if (sealedWith && sameKey(sealedWith, key)) return { ok: true, entry };
  try {
    const body = canonical ?? canonicalJson(stripSeal(entry));
    const ok = await ctx.verifier.verify(key, utf8(body), fromBase64Url(entry.messageSignature));
    return ok ? { ok: true, entry } : { ok: false, reason: 'bad-signature', detail: `seq ${entry.seqNumber}: signature does not verify for ${entry.author}` };
  } catch (err) {
    return { ok: false, reason: 'bad-signature', detail: `seq ${entry.seqNumber}: ${String(err)}` };
  }
}

/** Every check on one entry, in order: shape, payload hash, entry hash, author, signature. */
export async function verifyEntry(value: unknown, ctx: VerifyContext): Promise<EntryCheck> {
  const content = checkEntryContent(value);
  if (!content.ok) return content;
  return checkEntrySignature(content.entry, content.canonical, ctx);
}

function stripSeal(entry: LogEntry): Json {
  const { entryHash: _h, messageSignature: _s, ...body } = entry;
  return body as unknown as Json;
}
