// The default verifier: WebCrypto for ES256 where the runtime has it, noble for ES256K (and as fallback).
import { nobleVerifier } from './noble.ts';
import type { Verifier } from './types.ts';
import { webCryptoVerifier } from './webcrypto.ts';

export function defaultVerifier(): Verifier {
  const noble = nobleVerifier();
  const web = globalThis.crypto?.subtle ? webCryptoVerifier() : noble;
  return {
    verify: (jwk, data, sig) => (jwk.crv === 'P-256' ? web.verify(jwk, data, sig) : noble.verify(jwk, data, sig)),
  };
}
