// node:crypto's ES256 signer (storage/signer-node.ts) signs for the Node gateway and ledger processes: every
// signature it makes must verify wherever WebCrypto's do (WebCrypto, node:crypto, noble: browsers, workers and
// Deno peers read these entries), and a key file it cannot sign for truthfully must be refused, not used.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleVerifier } from '../../kernel/crypto/noble.ts';
import { generateWebCryptoSigner, type PrivateJwk, webCryptoVerifier } from '../../kernel/crypto/webcrypto.ts';
import { loadOrCreateKey } from '../../gateway/keys.ts';
import { nodeSignerFromJwk } from '../../storage/signer-node.ts';
import { nodeVerifier } from '../../storage/verifier-node.ts';

const verifiers = { webcrypto: webCryptoVerifier(), node: nodeVerifier(), noble: nobleVerifier() };
const { privateJwk } = await generateWebCryptoSigner();
const signer = nodeSignerFromJwk(privateJwk);

describe('nodeSignerFromJwk', () => {
  it('signs what WebCrypto, node:crypto and noble all verify, and nothing else', async () => {
    const cases = fc.record({
      data: fc.uint8Array({ maxLength: 3_000 }),
      flip: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
    });
    let tampered = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ({ data, flip }) => {
        const signature = await signer.sign(data);
        expect(signature).toBeInstanceOf(Uint8Array);
        expect(signature.length).toBe(64);
        const signed = data.slice();
        const changed = flip !== undefined && signed.length > 0;
        if (changed) {
          signed[flip % signed.length]! ^= 1;
          tampered++;
        }
        for (const v of Object.values(verifiers))
          expect(await v.verify(signer.publicJwk, signed, signature)).toBe(!changed);
      }),
      { numRuns: 120, seed: 4242 },
    );
    expect(tampered).toBeGreaterThan(10);
  });

  it('names the public key of the private key it signs with', async () => {
    expect(signer.alg).toBe('ES256');
    expect(signer.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: privateJwk.x, y: privateJwk.y });
    expect(Object.isFrozen(signer.publicJwk)).toBe(true);
  });

  it('refuses a JWK that is not a P-256 private key, or whose x and y are not its d', async () => {
    const other = (await generateWebCryptoSigner()).privateJwk;
    const bad: PrivateJwk[] = [
      { ...privateJwk, crv: 'secp256k1' },
      { ...privateJwk, kty: 'RSA' },
      { ...privateJwk, d: undefined },
      { ...privateJwk, d: 'AAAA' },
      { ...privateJwk, x: other.x, y: other.y },
      { ...privateJwk, d: other.d },
    ];
    for (const jwk of bad) expect(() => nodeSignerFromJwk(jwk), JSON.stringify(jwk)).toThrow(TypeError);
  });

  it('signs for a key file as the WebCrypto signer of the same file does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signer-node-'));
    try {
      const path = join(dir, 'gw.key.json');
      const created = await loadOrCreateKey(path, nodeSignerFromJwk);
      const again = await loadOrCreateKey(path, nodeSignerFromJwk);
      const web = await loadOrCreateKey(path);
      const stored = JSON.parse(await readFile(path, 'utf8')) as PrivateJwk;
      for (const s of [created, again, web])
        expect(s.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: stored.x, y: stored.y });
      const data = new TextEncoder().encode('an entry body');
      for (const s of [created, again])
        expect(await verifiers.webcrypto.verify(web.publicJwk, data, await s.sign(data))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
