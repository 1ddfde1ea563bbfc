// noble signers and verifiers: ES256K (secp256k1, which WebCrypto lacks) and deterministic ES256
// (RFC 6979: the same key and data give the same bytes, so a simulator seed replays byte-identically).
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromBase64Url, toBase64Url } from '../encoding.ts';
import type { Curve, PublicJwk, Signer, Verifier } from './types.ts';

const CURVES = { 'P-256': p256, secp256k1 } as const;

export function jwkFromPublicKey(crv: Curve, uncompressed: Uint8Array): PublicJwk {
  if (uncompressed.length !== 65 || uncompressed[0] !== 4) throw new RangeError('expected an uncompressed EC point');
  return Object.freeze({
    kty: 'EC',
    crv,
    x: toBase64Url(uncompressed.slice(1, 33)),
    y: toBase64Url(uncompressed.slice(33)),
  });
}

function publicKeyFromJwk(jwk: PublicJwk): Uint8Array {
  const x = fromBase64Url(jwk.x);
  const y = fromBase64Url(jwk.y);
  if (x.length !== 32 || y.length !== 32) throw new RangeError('bad JWK coordinates');
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(x, 1);
  out.set(y, 33);
  return out;
}

/** A signer from a 32-byte secret key. Signatures are deterministic (RFC 6979) and low-S. */
export function nobleSigner(crv: Curve, secretKey: Uint8Array): Signer {
  const curve = CURVES[crv];
  const publicJwk = jwkFromPublicKey(crv, curve.getPublicKey(secretKey, false));
  return {
    alg: crv === 'P-256' ? 'ES256' : 'ES256K',
    publicJwk,
    // prehash: ECDSA over SHA-256(data), exactly what WebCrypto's ECDSA/SHA-256 signs.
    sign: async (data) => curve.sign(data, secretKey, { prehash: true }),
  };
}

/** A fresh secret key from the runtime's CSPRNG; pass your own bytes for reproducible keys. */
export const randomSecretKey = (crv: Curve): Uint8Array => CURVES[crv].utils.randomSecretKey();

/**
 * Verifies ES256 and ES256K. P-256 accepts high-S signatures because WebCrypto produces them;
 * secp256k1 requires low-S, as its ecosystem does.
 */
export function nobleVerifier(): Verifier {
  return {
    async verify(jwk, data, signature) {
      const curve = CURVES[jwk.crv];
      if (!curve || signature.length !== 64) return false;
      try {
        return curve.verify(signature, data, publicKeyFromJwk(jwk), { prehash: true, lowS: jwk.crv === 'secp256k1' });
      } catch {
        return false;
      }
    },
  };
}
