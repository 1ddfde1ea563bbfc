// Authentication of Log Storage API callers (recovery-04 §7: "authentication … is done at the Log Storage
// API level"): bearer tokens from a table, and requests signed with the gateway's identity key.
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../kernel/encoding.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import { signRequest } from '../../http/signed-request.ts';
import { createAuthenticator, type AuthRequest } from '../../log-api/auth.ts';
import { G1, G2, GATEWAYS, TOKENS } from '../support/log-storage-fixtures.ts';

const NOW = 1_750_000_000_000;
const URL_ = 'http://127.0.0.1:1/log/writeLogEntry/s-1/gw-origin?x=1';
const BODY = utf8('{"entries":[]}');

const req = (authorization: string | null, over: Partial<AuthRequest> = {}): AuthRequest => ({
  method: 'POST',
  url: URL_,
  authorization,
  body: BODY,
  ...over,
});
const signed = (at = NOW, signer = G1.signer, id = G1.id) =>
  signRequest(signer, id, { method: 'POST', url: URL_, body: BODY }, at);

describe('bearer tokens', () => {
  const auth = createAuthenticator({ gateways: GATEWAYS, now: () => NOW });

  it('a configured token authenticates its gateway; an unknown one, none or another scheme does not', async () => {
    expect(await auth(req(`Bearer ${TOKENS[G2.id]}`))).toMatchObject({
      ok: true,
      gatewayId: G2.id,
      role: 'gateway',
      via: 'token',
    });
    expect(await auth(req('Bearer not-a-configured-token'))).toMatchObject({ ok: false });
    expect(await auth(req(null))).toMatchObject({ ok: false });
    expect(await auth(req(`Basic ${btoa('gw-origin:pw')}`))).toMatchObject({ ok: false });
  });

  it("a table may hold only the token's SHA-256, so the server keeps no secret", async () => {
    const token = 'only-the-hash-is-configured-42';
    const a = createAuthenticator({ gateways: { 'gw-h': { tokenSha256: sha256Hex(utf8(token)) } } });
    expect(await a(req(`Bearer ${token}`))).toMatchObject({ ok: true, gatewayId: 'gw-h' });
  });

  it('a table with a short token, a shared token or a bad id is refused when the server starts', () => {
    expect(() => createAuthenticator({ gateways: { 'gw-a': { token: 'short' } } })).toThrow(TypeError);
    expect(() =>
      createAuthenticator({
        gateways: { 'gw-a': { token: 'the-same-token-0123' }, 'gw-b': { token: 'the-same-token-0123' } },
      }),
    ).toThrow(/share a token/);
    expect(() => createAuthenticator({ gateways: { 'gw a': { token: 'a-long-enough-token-123' } } })).toThrow(
      TypeError,
    );
  });
});

describe('signed requests (SATP-Sig)', () => {
  const auth = createAuthenticator({ gateways: GATEWAYS, now: () => NOW, maxClockSkewMs: 30_000 });

  it("a signature by the gateway's key over method, path, timestamp and body hash authenticates it", async () => {
    expect(await auth(req(await signed()))).toMatchObject({ ok: true, gatewayId: G1.id, via: 'signature' });
  });

  it('the clock-skew bound holds both ways', async () => {
    expect(await auth(req(await signed(NOW - 30_000)))).toMatchObject({ ok: true });
    expect(await auth(req(await signed(NOW + 30_000)))).toMatchObject({ ok: true });
    expect(await auth(req(await signed(NOW - 30_001)))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/timestamp/),
    });
    expect(await auth(req(await signed(NOW + 30_001)))).toMatchObject({ ok: false });
  });

  it('a signature is bound to its method, path and query, and body', async () => {
    const header = await signed();
    expect(await auth(req(header, { method: 'GET' }))).toMatchObject({ ok: false });
    expect(await auth(req(header, { url: URL_.replace('s-1', 's-2') }))).toMatchObject({ ok: false });
    expect(await auth(req(header, { url: URL_.replace('?x=1', '?x=2') }))).toMatchObject({ ok: false });
    expect(await auth(req(header, { body: utf8('{"entries":[1]}') }))).toMatchObject({ ok: false });
  });

  it('a signature by another key, by an unconfigured gateway, or malformed is refused', async () => {
    expect(await auth(req(await signed(NOW, G2.signer, G1.id)))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/does not verify/),
    });
    expect(await auth(req(await signed(NOW, G2.signer, 'gw-unknown')))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/no key/),
    });
    const header = await signed();
    for (const bad of [
      header.replace(/ \S+$/, ' x'),
      `${header} extra`,
      header.replace('SATP-Sig', 'SATP-Sig '),
      header.replace(String(NOW), '01'),
    ]) {
      expect(await auth(req(bad)), bad).toMatchObject({ ok: false });
    }
  });
});
