// The WebSocket client on Node 20, which has no stable global WebSocket: the same client (ws/web/client.ts), given
// `ws`'s class with the message limit enforced by `ws` itself (1009 before buffering more). Node-only: imports `ws`.
import { WebSocket as NodeWebSocket } from 'ws';
import { type HttpsTrust, httpsFetch } from '../../../http/https-fetch.ts';
import { MAX_MESSAGE_BYTES } from '../../types.ts';
import { type WebSocketConstructor, WsClientTransport, type WsClientOptions } from '../web/client.ts';

/** wss:// peers whose certificates chain to these roots (PEM), instead of the system's. */
export type WsClientTls = HttpsTrust;

export function nodeWebSocket(maxPayload = MAX_MESSAGE_BYTES, tls?: WsClientTls): WebSocketConstructor {
  class BoundedWebSocket extends NodeWebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols, { maxPayload, perMessageDeflate: false, ...(tls ? { ca: tls.ca } : {}) });
    }
  }
  return BoundedWebSocket as unknown as WebSocketConstructor;
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
