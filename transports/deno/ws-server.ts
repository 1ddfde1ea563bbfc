// The WebSocket server transport on Deno's own HTTP server: a fetch-style handler for Deno.serve that runs
// the same gatekeeper and core as transports/ws-server.ts, with Deno.upgradeWebSocket instead of `ws`.
import type { Json } from '../../kernel/json.ts';
import { problemResponse, type ProblemDetails } from '../http/problem.ts';
import type { MessageHandler, PeerHandler, Transport } from '../types.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody } from '../ws-gatekeeper.ts';
import { type PeerConnection, SocketPeers, type SocketPeersOptions } from '../ws-peers.ts';

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
}
interface DenoApi {
  upgradeWebSocket(req: Request, options: { protocol?: string; idleTimeout?: number }): { socket: DenoSocket; response: Response };
}

export interface DenoWsServerOptions extends SocketPeersOptions, Omit<GatekeeperOptions, 'self' | 'clock'> {
  /** Default /satp/ws; the challenge is at `${path}/challenge`. */
  path?: string;
  /**
   * Deno pings after this many idle seconds and closes (1001) a socket that does not answer within as
   * many again: Deno's own heartbeat, in whole seconds (default 30).
   */
  idleTimeoutSeconds?: number;
}

export class DenoWsServer implements Transport {
  readonly core: SocketPeers;
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  readonly #idle: number;
  readonly #deno: DenoApi;
  readonly #sockets = new Set<DenoSocket>();

  constructor(options: DenoWsServerOptions) {
    const deno = (globalThis as { Deno?: DenoApi }).Deno;
    if (!deno?.upgradeWebSocket) throw new TypeError('DenoWsServer runs on Deno only; on Node use transports/ws-server.ts');
    this.#deno = deno;
    this.core = new SocketPeers(options);
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.#idle = options.idleTimeoutSeconds ?? 30;
  }

  /**
   * Serves the challenge and the upgrade; undefined for any other request, which the caller serves
   * (e.g. with the gateway app). Bodies of refusals are error-msg problems, as on Node.
   */
  async fetch(req: Request): Promise<Response | undefined> {
    const url = new URL(req.url);
    if (req.method === 'GET' && url.pathname === `${this.path}/challenge`) return this.gatekeeper.challengeResponse(url);
    if (url.pathname !== this.path) return undefined;
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response(null, { status: 426, headers: { upgrade: 'websocket' } });
    if (this.core.isClosed) return new Response(null, { status: 503 });
    const decision = await this.gatekeeper.decide(req.headers.get('sec-websocket-protocol'));
    if (!decision.ok) return problemResponse(JSON.parse(refusalBody(decision, this.core.ctx.clock())) as ProblemDetails);
    // Deno's `protocol` option splits the offered list on ", " only, and `ws` clients join it with ","
    // (both valid, RFC 6455 §4.1), so the selected protocol is set on the 101 response here instead.
    const { socket, response } = this.#deno.upgradeWebSocket(req, { idleTimeout: this.#idle });
    response.headers.set('sec-websocket-protocol', decision.protocol);
    socket.binaryType = 'arraybuffer';
    this.#sockets.add(socket);
    let conn: PeerConnection | undefined;
    socket.onopen = () => {
      conn = this.core.attach(decision.peer, {
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
    socket.onerror = (e) => this.core.ctx.onError(e, { peer: decision.peer, what: 'socket error' });
    socket.onclose = () => {
      this.#sockets.delete(socket);
      if (conn) this.core.detach(conn);
    };
    return response;
  }

  get self(): string {
    return this.core.self;
  }
  get capabilities() {
    return this.core.capabilities;
  }
  send(to: string, message: Json): Promise<void> {
    return this.core.send(to, message);
  }
  onMessage(handler: MessageHandler): () => void {
    return this.core.onMessage(handler);
  }
  onPeer(handler: PeerHandler): () => void {
    return this.core.onPeer(handler);
  }
  peers(): string[] {
    return this.core.peers();
  }

  /** Closes every socket with 1001; the caller shuts its Deno.serve listener down. */
  async close(): Promise<void> {
    await this.core.close();
    for (const s of this.#sockets) s.close(1001, 'server closing');
    this.#sockets.clear();
  }
}
