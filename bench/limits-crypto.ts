// Part 1, crypto: raw ES256 sign and verify rates of WebCrypto (the gateway's default), of node:crypto (the Node
// processes') and of noble (P-256 deterministic, the simulator's; secp256k1, the option), over the bytes an entry
// signature covers.
import { canonicalJson, type Json } from '../kernel/json.ts';
import { utf8 } from '../kernel/encoding.ts';
import { nobleSigner, nobleVerifier, randomSecretKey } from '../kernel/crypto/noble.ts';
import { generateWebCryptoSigner, webCryptoVerifier } from '../kernel/crypto/webcrypto.ts';
import { nodeVerifier } from '../storage/verifier-node.ts';
import { identities } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { now, rateOf } from './lib/measure.ts';
import { check, type Results } from './lib/report.ts';
import { sampleBody } from './lib/sample-entry.ts';

export async function limitsCrypto(results: Results, limits: Partial<Limits>, ms: number): Promise<void> {
  const id = await identities();
  const data = utf8(canonicalJson(sampleBody(id.origin, id.destination) as unknown as Json));
  // WebCrypto, the default everywhere, and node:crypto, which the Node gateway and ledger processes (and the bench's
  // identities) use: storage/signer-node.ts and storage/verifier-node.ts.
  const web = (await generateWebCryptoSigner()).signer;
  const nodeSigner = id.origin;
  const webVerifier = webCryptoVerifier();
  const sig = await web.sign(data);
  check(await webVerifier.verify(web.publicJwk, data, sig), 'a WebCrypto signature verifies');
  check(
    await webVerifier.verify(nodeSigner.publicJwk, data, await nodeSigner.sign(data)),
    'a node:crypto signature verifies with WebCrypto',
  );

  const signSeq = await rateOf(() => web.sign(data), ms, 1);
  const sign32 = await rateOf(() => web.sign(data), ms, 32);
  const nodeSignSeq = await rateOf(() => nodeSigner.sign(data), ms, 1);
  const nodeSign32 = await rateOf(() => nodeSigner.sign(data), ms, 32);
  const verifySeq = await rateOf(() => webVerifier.verify(web.publicJwk, data, sig), ms, 1);
  const verify32 = await rateOf(() => webVerifier.verify(web.publicJwk, data, sig), ms, 32);
  const native = nodeVerifier();
  check(await native.verify(web.publicJwk, data, sig), 'a WebCrypto signature verifies with node:crypto');
  const nodeSeq = await rateOf(() => native.verify(web.publicJwk, data, sig), ms, 1);
  const node32 = await rateOf(() => native.verify(web.publicJwk, data, sig), ms, 32);
  // The bound of every figure that signs or verifies: the faster of the two ways this machine does it.
  Object.assign(limits, {
    signSeq: Math.max(signSeq.perSecond, nodeSignSeq.perSecond),
    sign32: Math.max(sign32.perSecond, nodeSign32.perSecond),
    verifySeq: Math.max(verifySeq.perSecond, nodeSeq.perSecond),
    verify32: Math.max(verify32.perSecond, node32.perSecond),
  });
  const bytes = `${data.length} B entry body`;
  results.rate('limits', 'ES256 sign, WebCrypto, sequential', signSeq.perSecond, undefined, '', { note: bytes });
  results.rate('limits', 'ES256 sign, WebCrypto, 32 in flight', sign32.perSecond, undefined, '');
  results.rate('limits', 'ES256 sign, node:crypto, sequential', nodeSignSeq.perSecond, undefined, '');
  results.rate('limits', 'ES256 sign, node:crypto, 32 in flight', nodeSign32.perSecond, undefined, '');
  results.rate('limits', 'ES256 verify, WebCrypto, sequential', verifySeq.perSecond, undefined, '');
  results.rate('limits', 'ES256 verify, WebCrypto, 32 in flight', verify32.perSecond, undefined, '');
  results.rate('limits', 'ES256 verify, node:crypto, sequential', nodeSeq.perSecond, undefined, '');
  results.rate('limits', 'ES256 verify, node:crypto, 32 in flight', node32.perSecond, undefined, '');
  // What each call costs the main thread before the work goes to the thread pool (argument conversion, a
  // copy of the data, job setup): with requests in flight this, not the curve arithmetic, sets the rate.
  for (const [name, signer] of [
    ['WebCrypto', web],
    ['node:crypto', nodeSigner],
  ] as const) {
    let dispatch = 0;
    let calls = 0;
    await rateOf(
      () => {
        const t = now();
        const p = signer.sign(data);
        dispatch += now() - t;
        calls++;
        return p;
      },
      ms,
      32,
    );
    results.add({
      section: 'limits',
      name: `ES256 sign, ${name}: main-thread time per call`,
      value: (1000 * dispatch) / calls,
      unit: 'µs',
      note: '32 in flight; the curve arithmetic runs in the libuv pool',
    });
  }

  // noble computes synchronously on the main thread: requests in flight change nothing, so one loop.
  const noble = nobleVerifier();
  for (const crv of ['P-256', 'secp256k1'] as const) {
    const signer = nobleSigner(crv, randomSecretKey(crv));
    const s = await signer.sign(data);
    check(await noble.verify(signer.publicJwk, data, s), `a noble ${crv} signature verifies`);
    const label = crv === 'P-256' ? 'ES256 (P-256, RFC 6979)' : 'ES256K (secp256k1)';
    results.rate(
      'limits',
      `${label} sign, noble`,
      (await rateOf(() => signer.sign(data), ms)).perSecond,
      undefined,
      '',
    );
    results.rate(
      'limits',
      `${label} verify, noble`,
      (await rateOf(() => noble.verify(signer.publicJwk, data, s), ms)).perSecond,
      undefined,
      '',
    );
  }
}
