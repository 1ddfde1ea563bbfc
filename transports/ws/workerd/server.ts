// The WebSocket server transport in workerd (Cloudflare Workers, Durable Objects): a fetch-style handler that runs
// the same gatekeeper and core as the Node and Deno servers (ws/node/server.ts, ws/deno/server.ts), with the
// runtime's WebSocketPair for the upgrade. Typed against the slice of the Workers API it uses, so the package needs
// no @cloudflare/workers-types. A Durable Object serves it (edge/gateway-object.ts): one object holds the sockets.
import { FetchWsServer, type FetchWsServerOptions } from '../fetch-server.ts';
import type { PeerConnection } from '../peers.ts';

/** The server end of a WebSocketPair, as this transport uses it. */
export interface WorkerdSocket {
  /** workerd has none (it buffers without bound); the core reads 0 then. */
  readonly bufferedAmount?: number;
  accept(): void;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message' | 'close' | 'error', listener: (event: { data?: unknown }) => void): void;
}

/** `new WebSocketPair()`: two connected sockets, the client end returned in the 101 response. */
export type WebSocketPairConstructor = new () => { 0: WorkerdSocket; 1: WorkerdSocket };

export interface WorkerdWsServerOptions extends FetchWsServerOptions {
  /** Default `globalThis.WebSocketPair`. */
  WebSocketPair?: WebSocketPairConstructor;
}

export class WorkerdWsServer extends FetchWsServer<WorkerdSocket> {
  readonly #Pair: WebSocketPairConstructor;

  constructor(options: WorkerdWsServerOptions) {
    const Pair = options.WebSocketPair ?? (globalThis as { WebSocketPair?: WebSocketPairConstructor }).WebSocketPair;
    if (!Pair) throw new TypeError('WorkerdWsServer needs WebSocketPair (workerd); on Node use ws/node/server.ts');
    super(options);
    this.#Pair = Pair;
  }

  protected openSocket(_req: Request, peer: string, protocol: string): Response {
    const pair = new this.#Pair();
    const [client, socket] = [pair[0], pair[1]];
    socket.accept();
    this.sockets.add(socket);
    this.held.add(peer, socket);
    // Accepted means open: frames sent now are delivered once the 101 below reaches the peer.
    const conn: PeerConnection = this.core.attach(peer, {
      get bufferedAmount() {
        return socket.bufferedAmount ?? 0;
      },
      sendText: (text) => socket.send(text),
      close: (code, reason) => socket.close(code, reason),
    });
    // workerd delivers text frames as strings (it checks their UTF-8) and binary ones as ArrayBuffers; it bounds a
    // frame's size itself, and the core closes 1009 past maxMessageBytes.
    socket.addEventListener('message', (e) => {
      if (typeof e.data === 'string') conn.receive(e.data, false);
      else conn.receive(new Uint8Array(e.data as ArrayBuffer), true);
    });
    socket.addEventListener('error', (e) => this.core.ctx.onError(e, { peer, what: 'socket error' }));
    socket.addEventListener('close', () => {
      this.sockets.delete(socket);
      this.held.delete(peer, socket);
      this.core.detach(conn);
      // Answer the peer's close frame; workerd does not always do it by itself, and a socket closed already throws.
      try {
        socket.close(1000, 'closed');
      } catch {
        // already closed
      }
    });
    return new Response(null, {
      status: 101,
      headers: { 'sec-websocket-protocol': protocol },
      webSocket: client,
    } as ResponseInit);
  }

  /** Closes every socket with 1001. */
  override async close(): Promise<void> {
    await this.core.close();
    for (const s of this.sockets) {
      try {
        s.close(1001, 'server closing');
      } catch {
        // already closed
      }
    }
    this.sockets.clear();
  }
}
