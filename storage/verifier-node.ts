// ES256 verification with node:crypto's one-shot verify, for Node gateways. Both it and WebCrypto's verify run the
// curve arithmetic in the libuv pool; what each call costs the calling thread is the difference. Measured as the
// main thread's CPU time (/proc/self/task) over 20,000 verifies of an entry, 32 in flight: WebCrypto 14 to 17 µs
// (algorithm normalisation, WebIDL conversion, key checks, the job's set-up), node:crypto 8 to 9 µs. A recovered
// gateway verifies every entry it lacked, and its main thread is its bottleneck. Same answers: ECDSA over SHA-256,
// the 64-byte r‖s form (`test/unit/verifier-node.test.ts` holds it to WebCrypto and noble). It sits beside
// sha256-node.ts, for the same reason: it serves server runtimes only, and the kernel may not import node:crypto.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { PublicJwk, Verifier } from '../kernel/crypto/types.ts';

/**
 * A Verifier for ES256 keys, over node:crypto; keys of other curves go to `other` (noble's ES256K, say), or are
 * refused without it. Imported keys are kept, at most `cacheSize` of them.
 */
export function nodeVerifier(other?: Verifier, cacheSize = 1024): Verifier {
  const cache = new Map<string, KeyObject>();
  const keyFor = (jwk: PublicJwk): KeyObject => {
    const id = `${jwk.x}.${jwk.y}`;
    let key = cache.get(id);
    if (!key) {
      key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, format: 'jwk' });
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(id, key);
    }
    return key;
  };
  return {
    verify(jwk, data, signature) {
      if (jwk.crv !== 'P-256') return other ? other.verify(jwk, data, signature) : Promise.resolve(false);
      if (signature.length !== 64) return Promise.resolve(false);
      return new Promise((resolve) => {
        try {
          // With a callback, the verification runs in the libuv pool, as WebCrypto's does.
          verify('sha256', data, { key: keyFor(jwk), dsaEncoding: 'ieee-p1363' }, signature, (err, ok) =>
            resolve(!err && ok === true),
          );
        } catch {
          resolve(false); // a key that is not a point of the curve, a value that is not bytes
        }
      });
    },
  };
}
