// The crypto the kernel is handed: signers, verifiers and a key resolver (crypto is injected).
import { fromBase64Url, toHex } from '../encoding.ts';

export type Curve = 'P-256' | 'secp256k1';
/** JOSE algorithm names: ES256 is mandatory in SATP core; ES256K (RFC 8812) is the option. */
export type Alg = 'ES256' | 'ES256K';

/** A public key as a JWK (RFC 7517): uncompressed EC point coordinates, base64url. */
export interface PublicJwk {
  kty: 'EC';
  crv: Curve;
  x: string;
  y: string;
}

export const algOf = (crv: Curve): Alg => (crv === 'P-256' ? 'ES256' : 'ES256K');

/**
 * Signs `data` as JWS does: ECDSA over SHA-256(data), output as the 64-byte r‖s form.
 * Implementations: WebCrypto ES256 (default, fast), noble ES256 (deterministic, RFC 6979), noble ES256K.
 */
export interface Signer {
  readonly alg: Alg;
  readonly publicJwk: PublicJwk;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Verifies a 64-byte r‖s signature over SHA-256(data). Returns false, never throws, on any bad input. */
export interface Verifier {
  verify(key: PublicJwk, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** Maps a gateway id to the public key trusted for it; undefined means unknown author. */
export type KeyResolver = (gatewayId: string) => PublicJwk | undefined;

/** A resolver over a fixed table of gateway ids and keys. */
export function keyTable(entries: Record<string, PublicJwk> | Iterable<[string, PublicJwk]>): KeyResolver {
  const map = new Map(
    Symbol.iterator in entries ? (entries as Iterable<[string, PublicJwk]>) : Object.entries(entries),
  );
  return (id) => map.get(id);
}

export const sameKey = (a: PublicJwk, b: PublicJwk): boolean => a.crv === b.crv && a.x === b.x && a.y === b.y;

/**
 * A key as given in a SATP claim, a JWK or the SEC 1 point in hex (compressed 02/03 and x, or 04, x and y; SATP
 * core's examples), is the known key `key`. The hex form names no curve: its point must be `key`'s.
 */
export function sameKeyAs(given: PublicJwk | string, key: PublicJwk): boolean {
  if (typeof given !== 'string') return sameKey(given, key);
  let x: string;
  let y: string;
  try {
    [x, y] = [toHex(fromBase64Url(key.x)), toHex(fromBase64Url(key.y))];
  } catch {
    return false;
  }
  const hex = given.toLowerCase();
  if (hex.startsWith('04')) return hex === `04${x}${y}`;
  const odd = (Number.parseInt(y.slice(-1), 16) & 1) === 1;
  return hex === `${odd ? '03' : '02'}${x}`;
}
