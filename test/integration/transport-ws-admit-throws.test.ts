// Bug: a throw while a WebSocket message was admitted ended the process. The inbound drain runs unawaited, so a
// throw in it (here an onError hook that throws, as a logger writing to a closed stream does, called when the
// validator threw) became an unhandled rejection, which ends a Node process. Now it is reported if it can be, the
// socket closes 1011, and the transport keeps serving other sockets. ws/node/server.ts in this process (on Node, and
// under Deno through its Node compat) and ws/deno/server.ts on Deno.serve (under Deno); the drain is the shared core
// (transports/ws/peers.ts) of every WebSocket transport.
import { afterEach, describe, expect, it } from 'vitest';
import type { Json } from '../../kernel/json.ts';
import { conformanceValidator, ECHO_TYPE, serveEcho } from '../../transports/conformance/echo.ts';
import { nonce } from '../../transports/conformance/inbox.ts';
import { craftProtocols, rawUpgrade, type RawSocket } from '../../transports/conformance/wire.ts';
import type { InboundValidator } from '../../transports/types.ts';
import { DenoWsServer, type DenoWsServerOptions } from '../../transports/ws/deno/server.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import { within } from '../support/raw-tcp-ws.ts';
import { serveFetch } from '../support/serve.ts';
import { inDeno } from '../support/transport-harnesses.ts';
import { TRANSPORT_IDS as ids, transportKeys } from '../support/transport-identities.ts';

/** The bound on every awaited event: generous, so a loaded machine is slow, not flaky. */
const WAIT_MS = 10_000;

/** A validator with a bug: it throws on a message marked `throwMe`, and judges the rest as the suite's does. */
const buggyValidator: InboundValidator = (from, message) => {
  if (message !== null && typeof message === 'object' && !Array.isArray(message) && message.throwMe === true)
    throw new Error('validator bug');
  return conformanceValidator(from, message);
};

type ServerOptions = Pick<DenoWsServerOptions, 'self' | 'signer' | 'keys' | 'validate' | 'onError'>;
type Kind = 'node' | 'deno';
const KINDS: Kind[] = inDeno ? ['deno', 'node'] : ['node'];

/** The echo gateway on one server kind: its ws:// URL and how to stop it. */
async function start(kind: Kind, options: ServerOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  if (kind === 'node') {
    const server = await WsServerTransport.listen(options);
    serveEcho(server);
    return { url: server.url, stop: () => server.close() };
  }
  const server = new DenoWsServer(options);
  serveEcho(server);
  const http = await serveFetch(async (req) => (await server.fetch(req)) ?? new Response(null, { status: 404 }));
  return {
    url: `${http.url.replace(/^http/, 'ws')}${server.path}`,
    stop: async () => {
      await server.close();
      await http.close();
    },
  };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function open(url: string): Promise<RawSocket> {
  const protocols = await craftProtocols(url, ids.server.id, ids.c.id, ids.c.id, ids.c.signer);
  const o = await rawUpgrade(url, protocols);
  if ('refused' in o) throw new Error(`upgrade refused with ${o.refused}`);
  return o.socket;
}

describe.each(KINDS)('a throw while a WebSocket message is admitted, %s server', (kind) => {
  it('closes that socket 1011 and the server keeps serving (an onError that throws ended the process)', async () => {
    const reported: string[] = [];
    const server = await start(kind, {
      self: ids.server.id,
      signer: ids.server.signer,
      keys: transportKeys,
      validate: buggyValidator,
      // A broken logger: it records what it was given, then throws.
      onError: (err) => {
        reported.push(String(err));
        throw new Error('logger down');
      },
    });
    stop = server.stop;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const first = await open(server.url);
      first.ws.send(JSON.stringify({ nonce: nonce(), throwMe: true }));
      expect(await within(first.closed, WAIT_MS, 'the close')).toBe(1011);
      expect(reported.some((r) => r.includes('validator bug'))).toBe(true);

      // Another socket of the same peer is served: its message comes back as an echo.
      const second = await open(server.url);
      const n = nonce();
      second.ws.send(JSON.stringify({ nonce: n }));
      const echo = (await second.next(WAIT_MS)) as Record<string, Json>;
      expect(echo.messageType).toBe(ECHO_TYPE);
      expect((echo.message as Record<string, Json>).nonce).toBe(n);
      second.ws.close();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
