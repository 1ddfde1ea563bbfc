// Bug: the WebSocket challenge route answered without CORS headers, so a gateway in a browser page (another
// origin than the peer's server) could never read its challenge, and so never dial a Node or Deno gateway.
// The challenge is a signed public nonce, worth nothing without the client's key: any origin may read it.
import { describe, expect, it } from 'vitest';
import { keyTable } from '../../kernel/crypto/types.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { Gatekeeper } from '../../transports/ws/gatekeeper.ts';

describe('ws challenge CORS (a browser gateway reads the challenge)', () => {
  it('lets any origin read the challenge and its refusals', async () => {
    const server = await generateWebCryptoSigner();
    const client = await generateWebCryptoSigner();
    const gate = new Gatekeeper({
      self: 'gw-server',
      signer: server.signer,
      keys: keyTable({ 'gw-browser': client.signer.publicJwk }),
    });
    const ok = await gate.challengeResponse('http://127.0.0.1/satp/ws/challenge?client=gw-browser');
    const stranger = await gate.challengeResponse('http://127.0.0.1/satp/ws/challenge?client=gw-stranger');
    const malformed = await gate.challengeResponse('http://127.0.0.1/satp/ws/challenge?client=');
    expect([ok.status, stranger.status, malformed.status]).toEqual([200, 403, 400]);
    for (const r of [ok, stranger, malformed]) expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(await ok.json()).toMatchObject({ clientId: 'gw-browser', serverId: 'gw-server' });
  });
});
