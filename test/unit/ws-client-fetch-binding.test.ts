// Bug: the WebSocket client called the runtime's fetch as a method of its handshake options
// (`h.fetch(url)`), so `this` was that object. Browsers and workerd refuse a fetch called on anything but the
// global object ("TypeError: Illegal invocation"): a browser gateway could never dial a peer.
// This fetch refuses as they do, so the test fails wherever the client calls fetch with a foreign `this`.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { keyTable } from '../../kernel/crypto/types.ts';
import { WsClientTransport } from '../../transports/ws/web/client.ts';

function strictFetch(calls: string[]): typeof fetch {
  return function (this: unknown, input: RequestInfo | URL): Promise<Response> {
    if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
    calls.push(String(input));
    return Promise.resolve(new Response('busy', { status: 503 }));
  } as typeof fetch;
}

class NeverOpens {
  readonly bufferedAmount = 0;
  binaryType = 'arraybuffer';
  send(): void {}
  close(): void {}
  addEventListener(): void {}
}

async function dialOnce(options: { fetch?: typeof fetch }): Promise<unknown> {
  const { signer } = await generateWebCryptoSigner();
  const peer = await generateWebCryptoSigner();
  const client = new WsClientTransport({
    self: 'gw-a',
    signer,
    keys: keyTable({ 'gw-b': peer.signer.publicJwk }),
    peers: { 'gw-b': 'ws://127.0.0.1:9/satp/ws' },
    WebSocket: NeverOpens as never,
    ...options,
  });
  try {
    return await client.connect('gw-b').then(
      () => 'connected',
      (e: unknown) => e,
    );
  } finally {
    await client.close();
  }
}

describe('ws client fetch binding (Illegal invocation in browsers and workerd)', () => {
  afterEach(() => vi.unstubAllGlobals());

  it("calls the runtime's own fetch with the global object as this", async () => {
    const calls: string[] = [];
    vi.stubGlobal('fetch', strictFetch(calls));
    const outcome = await dialOnce({});
    expect(calls).toEqual(['http://127.0.0.1:9/satp/ws/challenge?client=gw-a']);
    expect(outcome).toMatchObject({ code: 'PEER_UNAVAILABLE' });
  });

  it('calls a fetch given in the options the same way', async () => {
    const calls: string[] = [];
    const outcome = await dialOnce({ fetch: strictFetch(calls) });
    expect(calls).toHaveLength(1);
    expect(outcome).toMatchObject({ code: 'PEER_UNAVAILABLE' });
  });
});
