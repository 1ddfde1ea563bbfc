// The WebSocket server transport on Deno's own HTTP server: a fetch-style handler for Deno.serve that runs
// the same gatekeeper and core as the Node server (ws/node/server.ts), with Deno.upgradeWebSocket instead of `ws`.
// It bounds what reaches its handler; Deno.serve itself offers no header or idle timeout (docs/transports.md).
import { FetchWsServer, type FetchWsServerOptions } from '../fetch-server.ts';
import type { PeerConnection } from '../peers.ts';
import { closeSocketsWithin } from '../transport.ts';

/** The slice of Deno's API used here, declared so the file type-checks without Deno's types. */
interface DenoSocket {
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  onerror: ((e: unknown) => void) | null;
  addEventListener(type: 'close', listener: () => void): void;
}
interface DenoApi {
  upgradeWebSocket(
    req: Request,
    options: { protocol?: string; idleTimeout?: number },
  ): { socket: DenoSocket; response: Response };
}

export interface DenoWsServerOptions extends FetchWsServerOptions {
  /**
   * Deno's own heartbeat (Deno.upgradeWebSocket's idleTimeout, in seconds): after half this time with nothing
   * received, Deno pings; a socket that has still received nothing (no pong) at this time is closed 1001.
   * Default 30: a ping after 15 s of silence, a dead peer closed after 30 s.
   */
  idleTimeoutSeconds?: number;
}

export class DenoWsServer extends FetchWsServer<DenoSocket> {
  readonly #idle: number;
  readonly #deno: DenoApi;

  constructor(options: DenoWsServerOptions) {
    const deno = (globalThis as { Deno?: DenoApi }).Deno;
    if (!deno?.upgradeWebSocket) {
      throw new TypeError('DenoWsServer runs on Deno only; on Node use transports/ws/node/server.ts');
    }
    super(options);
    this.#deno = deno;
    this.#idle = options.idleTimeoutSeconds ?? 30;
    if (!(this.#idle > 0)) throw new RangeError('idleTimeoutSeconds must be positive');
  }

  protected openSocket(req: Request, peer: string, protocol: string): Response {
    // Deno's `protocol` option splits the offered list on ", " only, and `ws` clients join it with ","
    // (both valid, RFC 6455 §4.1), so the selected protocol is set on the 101 response here instead.
    const { socket, response } = this.#deno.upgradeWebSocket(req, { idleTimeout: this.#idle });
    response.headers.set('sec-websocket-protocol', protocol);
    socket.binaryType = 'arraybuffer';
    this.sockets.add(socket);
    this.held.add(peer, socket);
    let conn: PeerConnection | undefined;
    socket.onopen = () => {
      conn = this.core.attach(peer, {
        get bufferedAmount() {
          return socket.bufferedAmount;
        },
        sendText: (text) => socket.send(text),
        close: (code, reason) => socket.close(code, reason),
      });
    };
    // Deno checks UTF-8 itself (an invalid text frame aborts the connection: 1006, not 1007) but not size:
    // the core closes 1009 past maxMessageBytes, after Deno has buffered the message.
    socket.onmessage = (e) => {
      if (typeof e.data === 'string') conn?.receive(e.data, false);
      else conn?.receive(new Uint8Array(e.data as ArrayBuffer), true);
    };
    socket.onerror = (e) => this.core.ctx.onError(e, { peer, what: 'socket error' });
    // Deno may fire close twice (seen with idleTimeout: 1001, then 1005); every step here is idempotent.
    socket.onclose = () => {
      this.sockets.delete(socket);
      this.held.delete(peer, socket);
      if (conn) this.core.detach(conn);
    };
    return response;
  }

  /**
   * Closes every socket with 1001 and waits for them to close, 1 s at most, as the Node server gives its peers a grace
   * to answer; the caller then closes its Deno.serve listener, which cuts what is left (cli/deno-serve.ts).
   */
  override async close(): Promise<void> {
    await this.core.close();
    const open = [...this.sockets];
    this.sockets.clear();
    await closeSocketsWithin(open, 1001, 'server closing');
  }
}
