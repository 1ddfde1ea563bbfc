// The WebSocket client on Node 20, which has no stable global WebSocket: the same client (ws/web/client.ts), given
// `ws`'s class with the message limit enforced by `ws` itself (1009 before buffering more). Node-only: imports `ws`.
import { WebSocket as NodeWebSocket } from 'ws';
import { MAX_MESSAGE_BYTES } from '../../types.ts';
import { type WebSocketConstructor, WsClientTransport, type WsClientOptions } from '../web/client.ts';

export function nodeWebSocket(maxPayload = MAX_MESSAGE_BYTES): WebSocketConstructor {
  class BoundedWebSocket extends NodeWebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols, { maxPayload, perMessageDeflate: false });
    }
  }
  return BoundedWebSocket as unknown as WebSocketConstructor;
}

/** A WsClientTransport whose sockets are `ws` sockets. */
export function createNodeWsClient(options: Omit<WsClientOptions, 'WebSocket'>): WsClientTransport {
  return new WsClientTransport({ ...options, WebSocket: nodeWebSocket(options.maxMessageBytes) });
}

export { WsClientTransport, type WsClientOptions } from '../web/client.ts';

/**
 * The runtime-neutral name (package subpath `satp-recovery/transports/ws/client`, whose `node` condition is
 * this file): a WebSocket client transport on `ws`'s sockets, unless `options.WebSocket` names another class.
 */
export function createWsClient(options: WsClientOptions): WsClientTransport {
  return options.WebSocket ? new WsClientTransport(options) : createNodeWsClient(options);
}
