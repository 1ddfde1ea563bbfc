// Time and count limits for the node:http servers this project starts (the Node WebSocket server's own listener,
// serveOnNode in node-serve.ts, the example ledger servers): node's own timeouts, checked often enough to matter,
// and a cap on the sockets a server holds before they are released. Node-only (it also runs on Deno's node:http
// compat); the imports are types only.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface HttpTimeouts {
  /**
   * The request head must arrive within this time, counted from the connection: a socket that trickles its
   * head, or sends nothing at all, is answered 408 and closed.
   */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this time (at least headersTimeoutMs). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
}

/** What serveOnNode and the example servers use: 10 s for a request head, 30 s for a request, 5 s of keep-alive. */
export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
});

/**
 * createServer options that enforce `t`. Node checks headersTimeout and requestTimeout only every
 * connectionsCheckingInterval (30 s by default), so a slow client could outlive its deadline by that much:
 * the interval is set to a quarter of headersTimeout, between 50 ms and 1 s. Node stops timing a socket
 * once it is handed to an 'upgrade' listener; the WebSocket server bounds the upgrade from there.
 */
export function nodeServerTimeouts(t: HttpTimeouts): ServerOptions {
  const headersTimeout = t.headersTimeoutMs;
  return {
    headersTimeout,
    requestTimeout: Math.max(t.requestTimeoutMs, headersTimeout),
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
  };
}

/**
 * Counts the sockets of `server` from the moment they connect until they close or are released (a WebSocket
 * server releases a socket once it is an authenticated WebSocket). Past `max`, a new connection is destroyed
 * before anything is read from it.
 */
export class SocketCap {
  readonly #sockets = new Set<Socket>();

  constructor(
    server: Server,
    readonly max: number,
  ) {
    server.on('connection', (socket: Socket) => this.#admit(socket));
  }

  /** Sockets counted now. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Stops counting `socket`; a no-op for a socket not counted here. */
  release(socket: Duplex): void {
    this.#sockets.delete(socket as Socket);
  }

  /** Destroys every counted socket (the server is closing). */
  destroyAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #admit(socket: Socket): void {
    if (this.#sockets.size >= this.max) {
      socket.destroy(); // too many sockets not yet authenticated: drop this one unread
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}
