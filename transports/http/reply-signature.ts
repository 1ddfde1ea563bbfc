// Signed HTTP replies: the receiving gateway signs status, body and the request's own signature, so the
// sender knows who answered and that the answer is to its request (the request side: http/signed-request.ts).
import { fromBase64Url, toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { ID_PATTERN } from '../../kernel/entry.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import type { KeyResolver, Signer, Verifier } from '../../kernel/crypto/types.ts';
import { parseSignedAuthorization } from '../../http/signed-request.ts';

/** Header `SATP-Reply-Sig: <gatewayId> <timestampMs> <signature, base64url r‖s>`. */
export const REPLY_SIGNATURE_HEADER = 'satp-reply-sig';
export const REPLY_SCHEME = 'SATP-Reply-Sig';

/** The request signature a reply is bound to: the one in the request's Authorization, or "-" if none parsed. */
export function requestSignatureOf(authorization: string | null | undefined): string {
  const parsed = authorization ? parseSignedAuthorization(authorization) : undefined;
  return parsed ? toBase64Url(parsed.signature) : '-';
}

/** Lines joined by "\n", like the request scheme; the scheme name keeps the two kinds of signature apart. */
export const replyStringToSign = (
  status: number,
  requestSignature: string,
  timestampMs: number,
  bodySha256: string,
): string => [REPLY_SCHEME, String(status), requestSignature, String(timestampMs), bodySha256].join('\n');

export async function signReply(
  signer: Signer,
  gatewayId: string,
  status: number,
  requestSignature: string,
  body: Uint8Array,
  nowMs: number,
): Promise<string> {
  const ts = Math.floor(nowMs);
  const sig = await signer.sign(utf8(replyStringToSign(status, requestSignature, ts, sha256Hex(body))));
  return `${gatewayId} ${ts} ${toBase64Url(sig)}`;
}

/**
 * Checks a reply's signature: made by `expectedSigner`'s key, over this status and body, for the
 * request whose signature was `requestSignature`. Never throws.
 */
export async function verifyReply(
  header: string | null,
  expectedSigner: string,
  status: number,
  requestSignature: string,
  body: Uint8Array,
  keys: KeyResolver,
  verifier: Verifier,
): Promise<{ ok: true } | { ok: false; detail: string }> {
  const parts = header?.split(' ') ?? [];
  if (parts.length !== 3) return { ok: false, detail: 'the reply is not signed' };
  const [id, ts, sig] = parts as [string, string, string];
  if (!ID_PATTERN.test(id) || !/^(0|[1-9][0-9]{0,15})$/.test(ts))
    return { ok: false, detail: 'malformed reply signature' };
  if (id !== expectedSigner) return { ok: false, detail: `the reply is signed by ${id}, not ${expectedSigner}` };
  const key = keys(id);
  if (!key) return { ok: false, detail: `no trusted key for ${id}` };
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(sig);
  } catch {
    return { ok: false, detail: 'malformed reply signature' };
  }
  const ok = await verifier.verify(
    key,
    utf8(replyStringToSign(status, requestSignature, Number(ts), sha256Hex(body))),
    signature,
  );
  return ok ? { ok: true } : { ok: false, detail: 'the reply signature does not verify' };
}
