// Signed HTTP requests: a gateway signs method, path, timestamp and body hash with its identity key
// (ES256, or ES256K for a secp256k1 key), so no shared secret is stored by the server (recovery-04 §7). One
// scheme for the gateway app (transports/http/) and the Log Storage API, servers and clients alike.
import { fromBase64Url, toBase64Url, utf8 } from '../kernel/encoding.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import { sha256Hex } from '../kernel/hash.ts';
import type { Signer } from '../kernel/crypto/types.ts';

/** The Authorization scheme: `SATP-Sig <gatewayId> <timestampMs> <signature, base64url r‖s>`. */
export const SIGNED_SCHEME = 'SATP-Sig';

/**
 * The bytes a gateway signs: the scheme, the method, the path and query exactly as sent (so a
 * signature made for `/log/getLog/s/a?from=3` is not valid for another page or another log),
 * the timestamp (bounds replay to the server's clock-skew window) and SHA-256 of the raw body
 * (binds the entries; an empty body hashes the empty string). Lines are joined by "\n".
 */
export function stringToSign(method: string, pathAndQuery: string, timestampMs: number, bodySha256: string): string {
  return [SIGNED_SCHEME, method.toUpperCase(), pathAndQuery, String(timestampMs), bodySha256].join('\n');
}

export const pathAndQueryOf = (url: string | URL): string => {
  const u = typeof url === 'string' ? new URL(url) : url;
  return u.pathname + u.search;
};

/** The Authorization header value for a request, signed by `signer` as gateway `gatewayId`. */
export async function signRequest(
  signer: Signer,
  gatewayId: string,
  request: { method: string; url: string | URL; body?: Uint8Array },
  nowMs: number,
): Promise<string> {
  const timestamp = Math.floor(nowMs);
  const data = stringToSign(
    request.method,
    pathAndQueryOf(request.url),
    timestamp,
    sha256Hex(request.body ?? new Uint8Array()),
  );
  const signature = await signer.sign(utf8(data));
  return `${SIGNED_SCHEME} ${gatewayId} ${timestamp} ${toBase64Url(signature)}`;
}

export interface SignedAuthorization {
  gatewayId: string;
  timestampMs: number;
  signature: Uint8Array;
}

const TIMESTAMP = /^(0|[1-9][0-9]{0,15})$/;

/** Parses an Authorization value of the SATP-Sig scheme; undefined if it is not one. Never throws. */
export function parseSignedAuthorization(value: string): SignedAuthorization | undefined {
  const parts = value.split(' ');
  if (parts.length !== 4 || parts[0] !== SIGNED_SCHEME) return undefined;
  const [, gatewayId, ts, sig] = parts as [string, string, string, string];
  if (!ID_PATTERN.test(gatewayId) || !TIMESTAMP.test(ts) || sig.length !== 86) return undefined;
  const timestampMs = Number(ts);
  if (!Number.isSafeInteger(timestampMs)) return undefined;
  try {
    return { gatewayId, timestampMs, signature: fromBase64Url(sig) };
  } catch {
    return undefined;
  }
}
