// The kernel's edge for entries: sealing (hash, sign) a body the kernel built, and checking one entry.
import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import {
  type ChainContext,
  type ChainHead,
  type EntryBody,
  type EntryStep,
  type LogEntry,
  ENTRY_LIMITS,
  nextEntryBody,
  entryBodySchema,
  logEntrySchema,
  SIGNATURE_PATTERN,
  wellShapedBody,
  wellShapedEntry,
} from './entry.ts';
import { HASH_PATTERN, sha256HexOfNewText, sha256HexOfText } from './hash.ts';
import { canonicalJson, canonicalJsonWith, type Json } from './json.ts';
import { type KeyResolver, type PublicJwk, sameKey, type Signer, type Verifier } from './crypto/types.ts';
import type { SuccessorAuthority } from './takeover.ts';

/**
 * Entries sealed in this process by sealEntry, with the public key that signed each and the outcome of
 * the content checks, made once at sealing. They are deeply frozen, so neither their content nor their
 * hash and signature can have gone stale: a store may reuse that outcome instead of canonicalizing and
 * hashing the entry again, and may skip re-verifying the signature it just made (the costly check), but
 * only when the signing key is the key trusted for the entry's author: a signer with the wrong key, or an
 * unknown author, is refused like any other. Entries from anywhere else are checked in full.
 */
interface Sealed {
  key: PublicJwk;
  content: EntryCheck & { canonical?: string };
  /** The entry as JSON text: its canonical body with the two seal members appended. */
  text: string;
}
const sealedHere = new WeakMap<object, Sealed>();

export const isSealedHere = (entry: object): boolean => sealedHere.has(entry);

/** The JSON text of an entry sealed here (what a store keeps), made at sealing; undefined for any other value. */
export const sealedText = (entry: object): string | undefined => sealedHere.get(entry)?.text;

/** Values deepFreeze was called on and froze with everything in them (only those: weak entries cost at GC). */
const frozenDeep = new WeakSet<object>();

/**
 * Freezes a value and everything in it. A value this function froze before is not walked again; one frozen by
 * someone else is, since Object.freeze alone leaves the objects inside it as they were.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !frozenDeep.has(value)) {
    freezeAll(value);
    frozenDeep.add(value);
  }
  return value;
}

function freezeAll(value: object): void {
  Object.freeze(value);
  for (const v of Object.values(value)) if (v && typeof v === 'object' && !frozenDeep.has(v)) freezeAll(v);
}

/** True for a value deepFreeze froze: nothing in it can change any more. */
export const isDeepFrozen = (value: object): boolean => frozenDeep.has(value);

/** The seal members as sealEntry appends them: `,"entryHash":"<64 hex>","messageSignature":"<86 base64url>"}`. */
const HASH_MEMBER = ',"entryHash":"';
const SIGNATURE_MEMBER = '","messageSignature":"';
const SEAL_CHARS = HASH_MEMBER.length + 64 + SIGNATURE_MEMBER.length + 86 + 2;

/**
 * The JSON text of an entry as a store keeps it: the canonical text of its body with the two seal members appended
 * (hex and base64url, which need no escaping). sealEntry makes it for the entries it seals, and a store for the
 * entries it verified, from the canonical text their hash and signature were checked over; entryFromSealedText
 * reads it back.
 */
export const sealedForm = (canonicalBody: string, entryHash: string, messageSignature: string): string =>
  `${canonicalBody.slice(0, -1)}${HASH_MEMBER}${entryHash}${SIGNATURE_MEMBER}${messageSignature}"}`;

/**
 * Bodies chainBody built, with the canonical texts their hashes were computed over and the entry hash: sealEntry signs
 * that text instead of canonicalizing the body again, and takes both hashes as made instead of hashing the texts
 * again. Only bodies chainBody deep-froze itself are kept, so each text and hash still describes its body.
 */
const chained = new WeakMap<object, { payloadText: string; text: string; hash: string }>();

/**
 * The body of the entry that follows `head` (nextEntryBody), deeply frozen, and its entry hash. The payload is
 * canonicalized once, for its hash, the body's canonical text and then sealEntry's: a transfer's entries carry whole
 * messages, and canonicalizing one costs more than hashing it. What the reducer chains its new entries with.
 */
export function chainBody(ctx: ChainContext, head: ChainHead, step: EntryStep): { body: EntryBody; hash: string } {
  const payloadText = canonicalJson(step.payload);
  const body = deepFreeze(nextEntryBody(ctx, head, step, payloadText));
  const text = canonicalJsonWith(body as unknown as Record<string, Json>, 'payload', payloadText);
  // A text made here and hashed once: the entry hash travels with the body to sealEntry, and the text is not kept in
  // the hash cache, where it would only outlive the entry.
  const hash = sha256HexOfNewText(text);
  chained.set(body, { payloadText, text, hash });
  return { body, hash };
}

export async function sealEntry(body: EntryBody, signer: Signer): Promise<LogEntry> {
  // The kernel built it: the hand check passes it, and the schema (about three times dearer) is asked only for a
  // body the hand check does not pass, to refuse it or to accept what the hand check is stricter about.
  const parsed = wellShapedBody(body) ? undefined : entryBodySchema.safeParse(body);
  if (parsed?.success === false) throw new TypeError(`entry body is invalid: ${parsed.error.issues[0]?.message}`);
  // The payload is canonicalized once and spliced into the body's canonical text (JCS sorts the top-level
  // members independently of their values), so the payload hash check below costs no second pass; for a body
  // chainBody built, both texts are its.
  const known = chained.get(body);
  const payloadText = known?.payloadText ?? canonicalJson(body.payload);
  const text = known?.text ?? canonicalJsonWith(body as unknown as Record<string, Json>, 'payload', payloadText);
  // Encoded once: the same bytes are hashed (unless chainBody hashed the text already) and signed.
  const bytes = utf8(text);
  const entryHash = known?.hash ?? sha256HexOfText(text, bytes);
  const messageSignature = toBase64Url(await signer.sign(bytes));
  // The entry's JSON text: the canonical body with the seal members added (hex and base64url need no
  // escaping); a store keeps the same text instead of serializing the entry again. The entry of a body chainBody
  // built shares that frozen body's members (sealedOfChained); any other body's is parsed from the text, a copy
  // that shares nothing with the caller's body, so freezing it does not freeze theirs.
  const stored = sealedForm(text, entryHash, messageSignature);
  const entry = known ? sealedOfChained(body, entryHash, messageSignature) : deepFreeze(JSON.parse(stored) as LogEntry);
  // Schema: the body passed entryBodySchema, the same shape as logEntrySchema without the two seal fields.
  const seal = HASH_PATTERN.test(entry.entryHash) && SIGNATURE_PATTERN.test(entry.messageSignature);
  // For a body chainBody built, the checks compare the hashes it computed from these very texts.
  const hashOf = known
    ? (t: string) => (t === text ? known.hash : t === payloadText ? body.payloadHash : sha256HexOfText(t))
    : sha256HexOfText;
  const content = seal ? contentChecks(entry, payloadText, text, hashOf) : checkEntryContent(entry);
  sealedHere.set(entry, { key: signer.publicJwk, content, text: stored });
  return entry;
}

/**
 * The sealed entry of a body chainBody built, frozen: the body's members in JCS order, then the two seal members,
 * as parsing the sealed text (sealedForm) gives them. Nothing is copied below the top: chainBody deep-froze the
 * body, so what the entry shares with it cannot change. Parsing the sealed text again and freezing the copy cost
 * about a tenth of the main thread's time per append. The values are the same (the body's texts were made from
 * them); members of objects inside the payload keep the order the kernel built them in.
 */
function sealedOfChained(body: EntryBody, entryHash: string, messageSignature: string): LogEntry {
  const b = body as unknown as Record<string, unknown>;
  const entry: Record<string, unknown> = {};
  for (const k of Object.keys(b).sort()) if (b[k] !== undefined) entry[k] = b[k]; // JSON leaves undefined out
  entry.entryHash = entryHash;
  entry.messageSignature = messageSignature;
  frozenDeep.add(Object.freeze(entry));
  return entry as unknown as LogEntry;
}

/**
 * In a body's canonical text, the members the two seal members go before (JCS order): entryHash before lastEntryHash,
 * messageSignature before operation. Every entry has both, and every member before them in JCS order is a string or a
 * public key, so the first `,"<key>":"` of each is the top-level one: a quote inside a string is escaped.
 */
const BEFORE_HASH = ',"lastEntryHash":"';
const BEFORE_SIGNATURE = ',"operation":"';

/**
 * An entry from the text sealEntry made for it (a store keeps that text), when the text is in that form and its
 * body hashes to the entryHash it carries: then the text is as it was written, and the entry it parses to is the one
 * sealed. Undefined for anything else, which the caller checks in full (checkEntryContent). Cheaper than the full
 * check (one hash over text already flat, instead of two canonicalizations and two hashes), for reading this
 * gateway's own chain back to send it to a peer, who verifies every entry anyway. The members come out in JCS order,
 * the seal members among the others, so a message carrying the entries is canonicalized natively: the seal members
 * are moved into their places in the text (BEFORE_HASH, BEFORE_SIGNATURE) and JSON.parse builds the entry in order
 * at once, where building a second, ordered object from the parsed one took about two fifths of the time this read
 * takes. The result is checked (the seal members at the top level with their values, every key after the one before
 * it): a text of any other shape, which no entry of the schema has, is undefined.
 */
export function entryFromSealedText(text: string): LogEntry | undefined {
  const at = text.length - SEAL_CHARS;
  if (at < 2 || !text.startsWith(HASH_MEMBER, at) || !text.startsWith(SIGNATURE_MEMBER, at + HASH_MEMBER.length + 64))
    return undefined;
  if (!text.endsWith('"}')) return undefined;
  const hash = text.slice(at + HASH_MEMBER.length, at + HASH_MEMBER.length + 64);
  if (!HASH_PATTERN.test(hash) || sha256HexOfNewText(`${text.slice(0, at)}}`) !== hash) return undefined;
  const signature = text.slice(at + HASH_MEMBER.length + 64 + SIGNATURE_MEMBER.length, text.length - 2);
  if (!SIGNATURE_PATTERN.test(signature)) return undefined;
  const h = text.indexOf(BEFORE_HASH);
  const o = h < 0 ? -1 : text.indexOf(BEFORE_SIGNATURE, h);
  if (o < 0 || o >= at) return undefined;
  let parsed: Record<string, Json>;
  try {
    const withHash = `${text.slice(0, h)}${HASH_MEMBER}${hash}"${text.slice(h, o)}`;
    parsed = JSON.parse(`${withHash},"messageSignature":"${signature}"${text.slice(o, at)}}`) as Record<string, Json>;
  } catch {
    return undefined;
  }
  if (parsed.entryHash !== hash || parsed.messageSignature !== signature) return undefined;
  const keys = Object.keys(parsed);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return undefined;
  return parsed as unknown as LogEntry;
}

export type EntryFailure = 'malformed' | 'bad-payload-hash' | 'bad-entry-hash' | 'unknown-author' | 'bad-signature';

export type EntryCheck = { ok: true; entry: LogEntry } | { ok: false; reason: EntryFailure; detail: string };

export interface VerifyContext {
  keys: KeyResolver;
  verifier: Verifier;
  /**
   * Who may take a gateway's place in its chains (kernel/takeover.ts). Without it a takeover entry is refused, and
   * every entry must be signed with its author's key from `keys`.
   */
  successor?: SuccessorAuthority;
}

/** The checks that need no signature: shape, sizes, payloadHash, entryHash. Never throws. */
export function checkEntryContent(value: unknown): EntryCheck & { canonical?: string } {
  // Sealed here: deeply frozen since its checks ran at sealing, so their outcome still holds.
  const sealed = value !== null && typeof value === 'object' ? sealedHere.get(value) : undefined;
  if (sealed) return sealed.content;
  try {
    // Inside the try: a getter or proxy that throws while the schema reads it is malformed input.
    // The hand check passes what the schema would; what it does not pass, the schema judges and names.
    const parsed = wellShapedEntry(value) ? undefined : logEntrySchema.safeParse(value);
    if (parsed && !parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, reason: 'malformed', detail: `${issue?.path.join('.') || '(entry)'}: ${issue?.message}` };
    }
    const entry = value as LogEntry;
    const payloadText = canonicalJson(entry.payload);
    const { entryHash: _h, messageSignature: _s, ...body } = entry;
    return contentChecks(
      entry,
      payloadText,
      canonicalJsonWith(body as unknown as Record<string, Json>, 'payload', payloadText),
      sha256HexOfNewText,
    );
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: String(err) };
  }
}

/** Sizes, payloadHash and entryHash of a well-shaped entry, given the canonical texts of its payload and body. */
function contentChecks(
  entry: LogEntry,
  payloadText: string,
  canonical: string,
  hashOf: (text: string) => string = sha256HexOfText,
): EntryCheck & { canonical?: string } {
  try {
    if (payloadText.length > ENTRY_LIMITS.maxPayloadChars) {
      return { ok: false, reason: 'malformed', detail: `payload: larger than ${ENTRY_LIMITS.maxPayloadChars}` };
    }
    if (
      entry.recoveryPayload !== undefined &&
      canonicalJson(entry.recoveryPayload).length > ENTRY_LIMITS.maxPayloadChars
    ) {
      return { ok: false, reason: 'malformed', detail: `recoveryPayload: larger than ${ENTRY_LIMITS.maxPayloadChars}` };
    }
    if (hashOf(payloadText) !== entry.payloadHash) {
      return {
        ok: false,
        reason: 'bad-payload-hash',
        detail: `seq ${entry.seqNumber}: payloadHash does not match the payload`,
      };
    }
    if (canonical.length > ENTRY_LIMITS.maxEntryChars) {
      return { ok: false, reason: 'malformed', detail: `entry: larger than ${ENTRY_LIMITS.maxEntryChars}` };
    }
    if (hashOf(canonical) !== entry.entryHash) {
      return {
        ok: false,
        reason: 'bad-entry-hash',
        detail: `seq ${entry.seqNumber}: entryHash does not match the entry`,
      };
    }
    return { ok: true, entry, canonical };
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: String(err) };
  }
}

/**
 * Verifies the signature of an entry whose content already checked out: with `key` when given (the key in force at
 * that point of its chain, a backup's after a takeover), else with its author's key. Never throws.
 */
export async function checkEntrySignature(
  entry: LogEntry,
  canonical: string | undefined,
  ctx: VerifyContext,
  key: PublicJwk | undefined = ctx.keys(entry.author),
): Promise<EntryCheck> {
  if (!key)
    return {
      ok: false,
      reason: 'unknown-author',
      detail: `seq ${entry.seqNumber}: no trusted key for ${entry.author}`,
    };
  const sealedWith = sealedHere.get(entry)?.key;
  if (sealedWith && sameKey(sealedWith, key)) return { ok: true, entry };
  try {
    const body = canonical ?? canonicalJson(stripSeal(entry));
    const ok = await ctx.verifier.verify(key, utf8(body), fromBase64Url(entry.messageSignature));
    return ok
      ? { ok: true, entry }
      : {
          ok: false,
          reason: 'bad-signature',
          detail: `seq ${entry.seqNumber}: signature does not verify for ${entry.author}`,
        };
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
