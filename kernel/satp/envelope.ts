// Messages on the wire: JWS flattened JSON (RFC 7515 §7.2.2) over the message's canonical JSON.
import * as z from '../zod.ts';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../encoding.ts';
import { sha256Hex } from '../hash.ts';
import { canonicalJson, type Json } from '../json.ts';
import { parseStrictJson } from '../strict-json.ts';
import type { KeyResolver, Signer, Verifier } from '../crypto/types.ts';
import { algOf } from '../crypto/types.ts';
import { mismatch, SATP_ERRORS, type SatpErrorCode } from './error-codes.ts';
import { isMessageType, parseMessage, type SatpMessage } from './messages.ts';

export interface Envelope {
  protected: string;
  payload: string;
  signature: string;
}

const MAX = 1_400_000; // 1 MiB of JSON, base64url-encoded
const envelopeSchema = z.strictObject({
  protected: z.string().check(z.maxLength(512)),
  payload: z.string().check(z.maxLength(MAX)),
  signature: z.string().check(z.regex(/^[A-Za-z0-9_-]{86}$/)),
});
const headerSchema = z.strictObject({
  alg: z.enum(['ES256', 'ES256K']),
  kid: z.string().check(z.maxLength(128)),
  typ: z.literal('satp+json'),
});

/** Signs a message as its sender `kid`. The payload is the canonical JSON, so its hash is the message hash. */
export async function sealMessage(message: SatpMessage, kid: string, signer: Signer): Promise<Envelope> {
  const header = toBase64Url(utf8(canonicalJson({ alg: signer.alg, kid, typ: 'satp+json' })));
  const payload = toBase64Url(utf8(canonicalJson(message as unknown as Json)));
  const signature = toBase64Url(await signer.sign(utf8(`${header}.${payload}`)));
  return { protected: header, payload, signature };
}

/** What a refusal needs to answer with an error-msg, when the message was readable enough to say. */
export interface RefusalHint {
  sessionId: string;
  transferContextId: string;
  messageType?: string;
  hash: string;
}

export type Opened =
  | { ok: true; message: SatpMessage; hash: string; from: string }
  /** authentic: the signature verified, so the peer really sent this and may be told (error-msg). */
  | { ok: false; error: SatpErrorCode; detail: string; authentic: boolean; hint?: RefusalHint };

/**
 * The one choke point for inbound messages: envelope shape, header, sender = the
 * transport-authenticated peer, signature, then payload strict JSON in canonical form and schema.
 * Never throws.
 */
export async function openEnvelope(
  value: unknown,
  authenticatedPeer: string,
  keys: KeyResolver,
  verifier: Verifier,
): Promise<Opened> {
  let authentic = false;
  const bad = (error: SatpErrorCode, detail: string, hint?: RefusalHint): Opened => ({
    ok: false,
    error,
    detail,
    authentic,
    ...(hint ? { hint } : {}),
  });
  const env = envelopeSchema.safeParse(value);
  if (!env.success) return bad(SATP_ERRORS.invalidMessageType, 'not a JWS flattened JSON envelope');
  let header: z.infer<typeof headerSchema>;
  let text: string;
  let payloadBytes: Uint8Array;
  try {
    const h = parseStrictJson(fromUtf8(fromBase64Url(env.data.protected)));
    const parsed = h.ok ? headerSchema.safeParse(h.value) : undefined;
    if (!parsed?.success) return bad(SATP_ERRORS.invalidMessageType, 'bad JWS protected header');
    header = parsed.data;
    payloadBytes = fromBase64Url(env.data.payload);
    text = fromUtf8(payloadBytes);
  } catch (err) {
    return bad(SATP_ERRORS.invalidMessageType, `undecodable envelope: ${String(err)}`);
  }
  // The signature first: a message that is not authentic must not make this gateway say anything
  // about the session it names (a forger could replay a genuine payload with a bad signature).
  if (header.kid !== authenticatedPeer)
    return bad(SATP_ERRORS.forbidden, `signed as ${header.kid} but sent by ${authenticatedPeer}`);
  const key = keys(header.kid);
  if (!key || algOf(key.crv) !== header.alg)
    return bad(SATP_ERRORS.forbidden, `no trusted ${header.alg} key for ${header.kid}`);
  const ok = await verifier.verify(
    key,
    utf8(`${env.data.protected}.${env.data.payload}`),
    fromBase64Url(env.data.signature),
  );
  if (!ok) return bad(SATP_ERRORS.badSignature, `signature of ${header.kid} does not verify`);
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
  if (canonicalJson(json.value) !== text)
    return bad(SATP_ERRORS.invalidMessageType, 'payload is not canonical JSON (RFC 8785)', hint);
  const m = parseMessage(json.value);
  if (!m.ok) {
    const code =
      m.messageType && isMessageType(m.messageType) && /sessionId/.test(m.problem)
        ? mismatch(m.messageType, 'session')
        : SATP_ERRORS.invalidMessageType;
    return bad(code, m.problem, hint);
  }
  return { ok: true, message: m.message, hash, from: header.kid };
}
