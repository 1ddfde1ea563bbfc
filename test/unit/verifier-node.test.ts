// node:crypto's ES256 verifier (storage/verifier-node.ts) stands in for WebCrypto's on Node gateways: it must give the
// same answer for every signature, good, tampered or malformed, and route other curves to the verifier it is given.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleSigner, nobleVerifier, randomSecretKey } from '../../kernel/crypto/noble.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { generateWebCryptoSigner, webCryptoVerifier } from '../../kernel/crypto/webcrypto.ts';
import { nodeVerifier } from '../../storage/verifier-node.ts';

const web = webCryptoVerifier();
const node = nodeVerifier(nobleVerifier());
const signers = [(await generateWebCryptoSigner()).signer, nobleSigner('P-256', randomSecretKey('P-256'))];

describe('nodeVerifier', () => {
  it('agrees with WebCrypto on good, tampered and foreign signatures over any data', async () => {
    const cases = fc.record({
      data: fc.uint8Array({ maxLength: 3_000 }),
      by: fc.integer({ min: 0, max: 1 }),
      checkedWith: fc.integer({ min: 0, max: 1 }),
      flipData: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
      flipSignature: fc.option(fc.nat({ max: 63 }), { nil: undefined, freq: 2 }),
    });
    let good = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ({ data, by, checkedWith, flipData, flipSignature }) => {
        const signature = await signers[by]!.sign(data);
        const signed = data.slice();
        if (flipData !== undefined && signed.length > 0) signed[flipData % signed.length]! ^= 1;
        if (flipSignature !== undefined) signature[flipSignature]! ^= 0x80;
        const key = signers[checkedWith]!.publicJwk;
        const expected = await web.verify(key, signed, signature);
        expect(await node.verify(key, signed, signature)).toBe(expected);
        if (expected) good++;
      }),
      { numRuns: 300, seed: 7717 },
    );
    expect(good).toBeGreaterThan(20); // both answers were tried
  });

  it('refuses what WebCrypto refuses: wrong lengths, zero and all-ones signatures, keys off the curve', async () => {
    const data = new TextEncoder().encode('entry');
    const signer = signers[0]!;
    const signature = await signer.sign(data);
    const off: PublicJwk = { ...signer.publicJwk, y: signer.publicJwk.x };
    const short: PublicJwk = { ...signer.publicJwk, x: 'AAAA' };
    const tries: [PublicJwk, Uint8Array][] = [
      [signer.publicJwk, signature.slice(0, 63)],
      [signer.publicJwk, new Uint8Array([...signature, 0])],
      [signer.publicJwk, new Uint8Array(64)],
      [signer.publicJwk, new Uint8Array(64).fill(0xff)],
      [off, signature],
      [short, signature],
    ];
    for (const [key, sig] of tries) {
      expect(await web.verify(key, data, sig)).toBe(false);
      expect(await node.verify(key, data, sig)).toBe(false);
    }
    expect(await node.verify(signer.publicJwk, data, signature)).toBe(true);
  });

  it('hands secp256k1 keys to the verifier it was given, and refuses them without one', async () => {
    const k1 = nobleSigner('secp256k1', randomSecretKey('secp256k1'));
    const data = new TextEncoder().encode('entry');
    const signature = await k1.sign(data);
    expect(await node.verify(k1.publicJwk, data, signature)).toBe(true);
    expect(await nodeVerifier().verify(k1.publicJwk, data, signature)).toBe(false);
  });
});
