// ES256 signing with node:crypto's one-shot sign, for Node gateways and ledger servers: the signing half of
// verifier-node.ts. Both it and WebCrypto's sign run the curve arithmetic in the libuv pool; node:crypto costs the
// calling thread less, and the pool less too. Measured on this repository's 2-core machine, 10,000 signs of a
// 2,377-byte entry body, the main thread's CPU time (/proc/self/task): 32 in flight, WebCrypto 31 to 33 µs a call
// and 16,000 to 20,000 signs/s, node:crypto 10 to 12 µs and about 30,000 signs/s; one at a time, WebCrypto 80 to
// 115 µs, node:crypto 35 to 57 µs. Every entry and message a gateway writes is signed. Same signatures: ECDSA over
// SHA-256 in the 64-byte r‖s form, which WebCrypto, node:crypto and noble verify alike
// (`test/unit/signer-node.test.ts`). Beside sha256-node.ts for the same reason: server runtimes only, and the
// kernel may not import node:crypto.
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { PublicJwk, Signer } from '../kernel/crypto/types.ts';
import type { PrivateJwk } from '../kernel/crypto/webcrypto.ts';

const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/** A Signer for a P-256 private key given as JWK (what gateway/keys.ts keeps in a key file). */
export function nodeSignerFromJwk(privateJwk: PrivateJwk): Signer {
  const { kty, crv, x, y, d } = privateJwk;
  if (kty !== 'EC' || crv !== 'P-256' || !d || !x || !y || ![x, y, d].every((v) => COORDINATE.test(v)))
    throw new TypeError('expected a P-256 private JWK');
  // Node keeps the x and y it is given without checking them against d (Deno's compat layer refuses the key), and a
  // signer that signs with one key while naming another writes entries nobody can verify: one signature, checked
  // against x and y, first.
  let key: KeyObject;
  let matches = false;
  try {
    key = createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' });
    const probe = new TextEncoder().encode('satp-recovery signer check');
    const named = createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' });
    matches = verify('sha256', probe, named, sign('sha256', probe, key));
  } catch (err) {
    throw new TypeError(`not a usable P-256 private JWK: ${String(err)}`);
  }
  if (!matches) throw new TypeError('the JWK x and y are not the public point of its d');
  const publicJwk: PublicJwk = Object.freeze({ kty: 'EC', crv: 'P-256', x, y });
  return {
    alg: 'ES256',
    publicJwk,
    sign(data) {
      return new Promise((resolve, reject) => {
        // With a callback, the signing runs in the libuv pool, as WebCrypto's does.
        sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, (err, signature) => {
          if (err) reject(err);
          else resolve(new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength));
        });
      });
    },
  };
}
