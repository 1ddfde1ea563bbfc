// The WebSocket client on Node 20, which has no stable global WebSocket: the same client (ws/web/client.ts), given
// `ws`'s class with the message limit enforced by `ws` itself (1009 before buffering more). Node-only: imports `ws`.
import { request } from 'node:https';
import { WebSocket as NodeWebSocket } from 'ws';
import { MAX_MESSAGE_BYTES } from '../../types.ts';
import { type WebSocketConstructor, WsClientTransport, type WsClientOptions } from '../web/client.ts';

/** wss:// peers whose certificates chain to these roots (PEM), instead of the system's. */
export interface WsClientTls {
  ca: string | string[];
}

export function nodeWebSocket(maxPayload = MAX_MESSAGE_BYTES, tls?: WsClientTls): WebSocketConstructor {
  class BoundedWebSocket extends NodeWebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols, { maxPayload, perMessageDeflate: false, ...(tls ? { ca: tls.ca } : {}) });
    }
  }
  return BoundedWebSocket as unknown as WebSocketConstructor;
}

/**
 * The fetch the handshake uses for its challenge (a GET), over node:https with `tls.ca` as the trusted roots:
 * Node 20's global fetch cannot be given roots of its own. Bodies are bounded like the challenge itself (64 KiB).
 */
export function httpsFetch(tls: WsClientTls): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.protocol !== 'https:') return reject(new TypeError(`not an https: URL: ${url.protocol}`));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers,
          ca: tls.ca,
          minVersion: 'TLSv1.3',
          signal: init?.signal ?? undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 64 * 1024) req.destroy(new Error('reply larger than 64 KiB'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: h }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    })) as typeof fetch;
}

/** A WsClientTransport whose sockets are `ws` sockets; with `tls`, wss:// peers are checked against `tls.ca`. */
export function createNodeWsClient(
  options: Omit<WsClientOptions, 'WebSocket'> & { tls?: WsClientTls },
): WsClientTransport {
  const { tls, ...rest } = options;
  return new WsClientTransport({
    ...rest,
    ...(tls && !rest.fetch ? { fetch: httpsFetch(tls) } : {}),
    WebSocket: nodeWebSocket(options.maxMessageBytes, tls),
  });
}

export { WsClientTransport, type WsClientOptions } from '../web/client.ts';

/**
 * The runtime-neutral name (package subpath `satp-recovery/transports/ws/client`, whose `node` condition is
 * this file): a WebSocket client transport on `ws`'s sockets, unless `options.WebSocket` names another class.
 */
export function createWsClient(options: WsClientOptions & { tls?: WsClientTls }): WsClientTransport {
  if (!options.WebSocket) return createNodeWsClient(options);
  if (options.tls)
    throw new TypeError('tls configures ws sockets: with a WebSocket class of your own, trust roots there');
  return new WsClientTransport(options);
}
