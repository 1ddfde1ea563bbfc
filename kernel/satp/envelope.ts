// Messages on the wire: JWS flattened JSON (RFC 7515 §7.2.2). This gateway signs the message's canonical JSON
// (RFC 8785); it reads any JSON serialization a peer signed. One rule for the hash of a message, whoever sent it:
// SHA-256 of the payload bytes as signed (docs/names.md, "Message hashes"). For our messages those bytes are the
// canonical JSON, so the hash is messageHash(message).
import * as z from '../zod.ts';
import { encodeInto, fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../encoding.ts';
import { SIGNATURE_PATTERN } from '../entry.ts';
import { sha256Hex } from '../hash.ts';
import { canonicalJson, type Json } from '../json.ts';
import { parseStrictJson } from '../strict-json.ts';
import type { KeyResolver, PublicJwk, Signer, Verifier } from '../crypto/types.ts';
import { algOf, sameKey } from '../crypto/types.ts';
import type { SuccessorAuthority } from '../takeover.ts';
import { RMSG } from './recovery-messages.ts';
import { mismatch, SATP_ERRORS, type SatpErrorCode } from './error-codes.ts';
import { isMessageType, parseMessage, type SatpMessage } from './messages.ts';

export interface Envelope {
  protected: string;
  payload: string;
  signature: string;
  /**
   * The unprotected header (RFC 7515 §7.2.1). Only `x5c` (§4.1.6): a backup that took a gateway's place sends its
   * certificate with every message, so a counterparty can check it (recovery-04 §6.1) before trusting its key,
   * restarted or not. Its authenticity is the certificate's own, checked by the successor authority.
   */
  header?: { x5c: string[] };
}

const MAX = 1_400_000; // 1 MiB of JSON, base64url-encoded
// The envelope's bounds, drawn once for the schema and the hand check (wellShapedEnvelope).
const PROTECTED_MAX = 512;
const X5C_MAX = 4;
const CERTIFICATE_MAX = 16_384;
const envelopeSchema = z.strictObject({
  protected: z.string().check(z.maxLength(PROTECTED_MAX)),
  payload: z.string().check(z.maxLength(MAX)),
  signature: z.string().check(z.regex(SIGNATURE_PATTERN)),
  header: z.optional(
    z.strictObject({
      x5c: z.array(z.string().check(z.maxLength(CERTIFICATE_MAX))).check(z.minLength(1), z.maxLength(X5C_MAX)),
    }),
  ),
});
const headerSchema = z.strictObject({
  alg: z.enum(['ES256', 'ES256K']),
  kid: z.string().check(z.maxLength(128)),
  typ: z.literal('satp+json'),
});
type ProtectedHeader = z.infer<typeof headerSchema>;

/** Whether the envelope schema accepts `value`: the answer wellShapedEnvelope is held to (never more lenient). */
export const envelopeSchemaAccepts = (value: unknown): boolean => envelopeSchema.safeParse(value).success;

const ENVELOPE_KEYS: ReadonlySet<string> = new Set(['protected', 'payload', 'signature', 'header']);

/**
 * Whether `value` is an envelope envelopeSchema accepts, checked by hand: every inbound message is one, and the
 * schema cost more than the rest of the envelope's own checks. Never more lenient than the schema
 * (`test/unit/envelope-shape.test.ts` holds the two to that); false asks the schema, which decides.
 */
export function wellShapedEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(value)) if (!ENVELOPE_KEYS.has(k)) return false;
  const e = value as Record<string, unknown>;
  if (typeof e.protected !== 'string' || e.protected.length > PROTECTED_MAX) return false;
  if (typeof e.payload !== 'string' || e.payload.length > MAX) return false;
  if (typeof e.signature !== 'string' || !SIGNATURE_PATTERN.test(e.signature)) return false;
  if (!Object.hasOwn(e, 'header')) return true;
  const h = e.header;
  if (typeof h !== 'object' || h === null || Array.isArray(h) || Object.getPrototypeOf(h) !== Object.prototype)
    return false;
  const keys = Object.keys(h);
  if (keys.length !== 1 || keys[0] !== 'x5c') return false;
  const x5c = (h as { x5c: unknown }).x5c;
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > X5C_MAX) return false;
  for (const c of x5c) if (typeof c !== 'string' || c.length > CERTIFICATE_MAX) return false;
  return true;
}

/**
 * Protected headers read before, by their base64url text: a peer sends the same one with every message, and
 * reading it (base64url, UTF-8, strict JSON, the schema) cost about what the envelope's own checks cost. Only
 * headers that were read and accepted are kept, at most HEADERS_KEPT of them.
 */
const headersRead = new Map<string, ProtectedHeader>();
const HEADERS_KEPT = 256;

function protectedHeader(text: string): ProtectedHeader | undefined {
  const known = headersRead.get(text);
  if (known) return known;
  const h = parseStrictJson(fromUtf8(fromBase64Url(text)));
  const parsed = h.ok ? headerSchema.safeParse(h.value) : undefined;
  if (!parsed?.success) return undefined;
  if (headersRead.size >= HEADERS_KEPT) headersRead.delete(headersRead.keys().next().value!);
  const header = Object.freeze(parsed.data);
  headersRead.set(text, header);
  return header;
}

/**
 * Signs a message as its sender `kid`. The payload is the canonical JSON, so its hash is the message hash. A backup
 * acting as `kid` passes its `certificate` (base64 DER), sent in the unprotected header as x5c. `canonical`: the
 * message's canonical JSON when the caller made it already (it must be canonicalJson(message)).
 */
export async function sealMessage(
  message: SatpMessage,
  kid: string,
  signer: Signer,
  certificate?: string,
  canonical?: string,
): Promise<Envelope> {
  const header = toBase64Url(utf8(canonicalJson({ alg: signer.alg, kid, typ: 'satp+json' })));
  // base64url through the runtime's codec where one is installed (useBase64Url): for a recovery page, a megabyte.
  const payload = toBase64Url(utf8(canonical ?? canonicalJson(message as unknown as Json)));
  const signature = toBase64Url(await signer.sign(signingInput(header, payload)));
  return {
    protected: header,
    payload,
    signature,
    ...(certificate ? { header: { x5c: [certificate] } } : {}),
  };
}

/**
 * The JWS signing input, the ASCII bytes of `protected.payload`, written into one buffer: the two texts are not joined
 * into a third first (for a page, that copy of more than half a megabyte cost as much as encoding it).
 */
export function signingInput(header: string, payload: string): Uint8Array {
  const out = new Uint8Array(header.length + 1 + payload.length);
  const h = encodeInto(header, out);
  const p = encodeInto(payload, out.subarray(header.length + 1));
  // Both decoded as base64url already, so both are ASCII, one byte a character; were either not, the input would be
  // what TextEncoder writes for the joined text, as before.
  const ascii = (r: { read: number; written: number }, n: number) => r.read === n && r.written === n;
  if (!ascii(h, header.length) || !ascii(p, payload.length)) return utf8(`${header}.${payload}`);
  out[header.length] = 0x2e; // '.'
  return out;
}

/** How a message from a successor (a backup in a gateway's place) is trusted: an authority, and the time now. */
export interface SuccessorTrust {
  authority: SuccessorAuthority;
  now: number;
}

/** What a refusal needs to answer with an error-msg, when the message was readable enough to say. */
export interface RefusalHint {
  sessionId: string;
  transferContextId: string;
  messageType?: string;
  hash: string;
}

export type Opened =
  | {
      ok: true;
      message: SatpMessage;
      hash: string;
      from: string;
      /** Set when a successor of `from` signed it: the backup's name and key, from its certificate (x5c). */
      successor?: { name: string; key: PublicJwk };
    }
  /** authentic: the signature verified, so the peer really sent this and may be told (error-msg). */
  | { ok: false; error: SatpErrorCode; detail: string; authentic: boolean; hint?: RefusalHint };

/**
 * The one choke point for inbound messages: envelope shape, header, sender = the
 * transport-authenticated peer, signature, then payload strict JSON (in any serialization) and schema.
 * Never throws.
 */
export async function openEnvelope(
  value: unknown,
  authenticatedPeer: string,
  keys: KeyResolver,
  verifier: Verifier,
  successors?: SuccessorTrust,
): Promise<Opened> {
  let authentic = false;
  const bad = (error: SatpErrorCode, detail: string, hint?: RefusalHint): Opened => ({
    ok: false,
    error,
    detail,
    authentic,
    ...(hint ? { hint } : {}),
  });
  const env = wellShapedEnvelope(value) ? { data: value } : envelopeSchema.safeParse(value);
  if (!env.data) return bad(SATP_ERRORS.invalidMessageType, 'not a JWS flattened JSON envelope');
  let header: ProtectedHeader;
  let text: string;
  let payloadBytes: Uint8Array;
  try {
    const h = protectedHeader(env.data.protected);
    if (!h) return bad(SATP_ERRORS.invalidMessageType, 'bad JWS protected header');
    header = h;
    payloadBytes = fromBase64Url(env.data.payload);
    text = fromUtf8(payloadBytes);
  } catch (err) {
    return bad(SATP_ERRORS.invalidMessageType, `undecodable envelope: ${String(err)}`);
  }
  // The signature first: a message that is not authentic must not make this gateway say anything
  // about the session it names (a forger could replay a genuine payload with a bad signature).
  if (header.kid !== authenticatedPeer)
    return bad(SATP_ERRORS.forbidden, `signed as ${header.kid} but sent by ${authenticatedPeer}`);
  const signed = signingInput(env.data.protected, env.data.payload);
  const signature = fromBase64Url(env.data.signature);
  let successor: { name: string; key: PublicJwk } | undefined;
  const certificate = env.data.header?.x5c[0];
  if (certificate !== undefined) {
    // A successor's message: its certificate must make it one of the sender's (§6.1), and sign it.
    if (!successors) return bad(SATP_ERRORS.forbidden, `a certificate for ${header.kid}, and no successor is trusted`);
    const verdict = await successors.authority(header.kid, certificate, successors.now).catch((err: unknown) => ({
      ok: false as const,
      detail: `the successor authority failed: ${String(err)}`,
    }));
    if (!verdict.ok) return bad(SATP_ERRORS.forbidden, `not a successor of ${header.kid}: ${verdict.detail}`);
    if (algOf(verdict.key.crv) !== header.alg)
      return bad(SATP_ERRORS.forbidden, `the certificate's key is not an ${header.alg} key`);
    if (!(await verifier.verify(verdict.key, signed, signature)))
      return bad(SATP_ERRORS.badSignature, `signature of ${verdict.name} for ${header.kid} does not verify`);
    successor = { name: verdict.name, key: verdict.key };
  } else {
    const key = keys(header.kid);
    if (!key || algOf(key.crv) !== header.alg)
      return bad(SATP_ERRORS.forbidden, `no trusted ${header.alg} key for ${header.kid}`);
    if (!(await verifier.verify(key, signed, signature)))
      return bad(SATP_ERRORS.badSignature, `signature of ${header.kid} does not verify`);
  }
  authentic = true;
  const json = parseStrictJson(text);
  if (!json.ok) return bad(SATP_ERRORS.invalidMessageType, `payload: ${json.problem}`);
  const v = json.value as Record<string, unknown>;
  const hash = sha256Hex(payloadBytes);
  const hint =
    typeof v?.sessionId === 'string' && typeof v?.transferContextId === 'string'
      ? {
          sessionId: v.sessionId,
          transferContextId: v.transferContextId,
          hash,
          ...(typeof v.messageType === 'string' ? { messageType: v.messageType } : {}),
        }
      : undefined;
  const m = parseMessage(json.value);
  if (!m.ok) {
    const code =
      m.messageType && isMessageType(m.messageType) && /sessionId/.test(m.problem)
        ? mismatch(m.messageType, 'session')
        : SATP_ERRORS.invalidMessageType;
    return bad(code, m.problem, hint);
  }
  // recovery-04 §6.1: a RECOVER says whether a backup sends it, and with which key; that must be what signed it.
  const claim = m.message as { messageType: string; isBackup?: boolean; newIdentityPublicKey?: PublicJwk };
  if (claim.messageType === RMSG.recover) {
    const stated = claim.isBackup === true ? claim.newIdentityPublicKey : undefined;
    if (claim.isBackup === true && !successor)
      return bad(SATP_ERRORS.forbidden, 'a RECOVER from a backup without its certificate', hint);
    if (successor && (!stated || !sameKey(stated, successor.key)))
      return bad(
        SATP_ERRORS.forbidden,
        `a RECOVER signed by ${successor.name} must say isBackup with its key as newIdentityPublicKey`,
        hint,
      );
  }
  return { ok: true, message: m.message, hash, from: header.kid, ...(successor ? { successor } : {}) };
}
