// The gateway app and the HTTP client without sockets (Hono's app.request and injected fetch): signed
// replies, time as an input, the request timeout, shutdown, the Log Storage mount, and the client's mapping
// of replies to SatpError codes.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { utf8 } from '../../kernel/encoding.ts';
import { isSatpError } from '../../kernel/errors.ts';
import type { InboundValidator } from '../../transports/types.ts';
import { signRequest } from '../../http/signed-request.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { REPLY_SIGNATURE_HEADER, requestSignatureOf, verifyReply } from '../../transports/http/reply-signature.ts';
import { TRANSPORT_IDS as ids, transportKeys } from '../support/transport-identities.ts';

const NOW = 1_700_000_000_000;
const URL_TO_SERVER = `http://gw-server.test/satp/messages?to=${ids.server.id}`;

function gateway(options: { validate?: InboundValidator; requestTimeoutMs?: number; logStorage?: Hono } = {}) {
  const transport = new HttpTransport({
    self: ids.server.id,
    signer: ids.server.signer,
    keys: transportKeys,
    peers: {},
    clock: () => NOW,
    validate: options.validate,
    onError: () => {},
  });
  const app = createGatewayApp({
    transport,
    requestTimeoutMs: options.requestTimeoutMs,
    logStorage: options.logStorage,
  });
  const got: unknown[] = [];
  transport.onMessage((from, m) => got.push({ from, m }));
  return { transport, app, got };
}

async function signed(body: string, at = NOW, contentType = 'application/json') {
  const bytes = utf8(body);
  return {
    method: 'POST',
    body: bytes as Uint8Array<ArrayBuffer>,
    headers: {
      'content-type': contentType,
      authorization: await signRequest(ids.a.signer, ids.a.id, { method: 'POST', url: URL_TO_SERVER, body: bytes }, at),
    },
  };
}

describe('createGatewayApp', () => {
  it(
    'accepts a signed message (202), hands it on with the authenticated sender, ' +
      'and signs the reply bound to the request',
    async () => {
      const { app, got } = gateway();
      const init = await signed('{"hello":"world"}');
      const res = await app.request(URL_TO_SERVER, init);
      expect(res.status).toBe(202);
      expect(got).toEqual([{ from: ids.a.id, m: { hello: 'world' } }]);
      const body = new Uint8Array(await res.arrayBuffer());
      const header = res.headers.get(REPLY_SIGNATURE_HEADER);
      const reqSig = requestSignatureOf(init.headers.authorization);
      expect(await verifyReply(header, ids.server.id, 202, reqSig, body, transportKeys, defaultVerifier())).toEqual({
        ok: true,
      });
      // Bound: the same reply does not verify for another request, another status or another signer.
      expect((await verifyReply(header, ids.server.id, 202, '-', body, transportKeys, defaultVerifier())).ok).toBe(
        false,
      );
      expect((await verifyReply(header, ids.server.id, 200, reqSig, body, transportKeys, defaultVerifier())).ok).toBe(
        false,
      );
      expect((await verifyReply(header, ids.b.id, 202, reqSig, body, transportKeys, defaultVerifier())).ok).toBe(false);
    },
  );

  it('signs refusals too (here a 401 for a request from outside the clock window)', async () => {
    const { app } = gateway();
    const init = await signed('{}', NOW - 31_000);
    const res = await app.request(URL_TO_SERVER, init);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(
      await verifyReply(
        res.headers.get(REPLY_SIGNATURE_HEADER),
        ids.server.id,
        401,
        requestSignatureOf(init.headers.authorization),
        body,
        transportKeys,
        defaultVerifier(),
      ),
    ).toEqual({ ok: true });
  });

  it('refuses a body that is not application/json with 415', async () => {
    const { app } = gateway();
    expect((await app.request(URL_TO_SERVER, await signed('{}', NOW, 'text/plain'))).status).toBe(415);
  });

  it('answers 408 when the request takes longer than requestTimeoutMs (a validator that never settles)', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const validate = async () => {
      await stuck;
      return { ok: true as const };
    };
    const { app, got } = gateway({ validate, requestTimeoutMs: 50 });
    const res = await app.request(URL_TO_SERVER, await signed('{"slow":true}'));
    expect(res.status).toBe(408);
    expect(res.headers.get('connection')).toBe('close');
    release();
    expect(got).toEqual([]);
  });

  it('answers 503 once its transport is closed', async () => {
    const { app, transport } = gateway();
    await transport.close();
    expect((await app.request(URL_TO_SERVER, await signed('{}'))).status).toBe(503);
  });

  it('mounts the Log Storage API at /log, outside the message routes', async () => {
    const logStorage = new Hono().get('/getLogLength/:log', (c) =>
      c.json({ success: true, response_data: { log: c.req.param('log') } }),
    );
    const { app } = gateway({ logStorage });
    const res = await app.request('http://gw-server.test/log/getLogLength/s1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, response_data: { log: 's1' } });
    expect(res.headers.get(REPLY_SIGNATURE_HEADER)).toBeNull();
  });
});

describe('HttpTransport.send: replies mapped to outcomes', () => {
  const client = (fetchFn: typeof fetch, timeoutMs?: number) =>
    new HttpTransport({
      self: ids.a.id,
      signer: ids.a.signer,
      keys: transportKeys,
      peers: { [ids.server.id]: 'http://gw-server.test' },
      fetch: fetchFn,
      timeoutMs,
      clock: () => NOW,
    });

  it(
    'delivers through the peer app (the app as the fetch), ' +
      'and rejects a reply not signed by the peer with BAD_SIGNATURE',
    async () => {
      const { app, got } = gateway();
      await client(async (input, init) => app.request(String(input), init)).send(ids.server.id, { via: 'app' });
      expect(got).toEqual([{ from: ids.a.id, m: { via: 'app' } }]);
      const unsigned = client(async () => new Response('{"accepted":true}', { status: 202 }));
      await expect(unsigned.send(ids.server.id, {})).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    },
  );

  it('a peer that is down, times out or is closed mid-send gives PEER_UNAVAILABLE', async () => {
    const down = client(async () => {
      throw new TypeError('fetch failed');
    });
    await expect(down.send(ids.server.id, {})).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_, reject) => {
        const abort = () => reject(new DOMException('aborted', 'AbortError'));
        if (init?.signal?.aborted) abort();
        init?.signal?.addEventListener('abort', abort);
      });
    await expect(client(hanging, 30).send(ids.server.id, {})).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
      message: expect.stringMatching(/timed out/),
    });
    const closing = client(hanging, 60_000);
    const pending = closing.send(ids.server.id, {}).catch((e: unknown) => e);
    await closing.close();
    expect(isSatpError(await pending, 'PEER_UNAVAILABLE')).toBe(true);
  });
});
