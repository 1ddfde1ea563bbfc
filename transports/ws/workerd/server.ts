// The WebSocket server transport in workerd (Cloudflare Workers, Durable Objects): a fetch-style handler that runs
// the same gatekeeper and core as the Node and Deno servers (ws/node/server.ts, ws/deno/server.ts), with the
// runtime's WebSocketPair for the upgrade. Typed against the slice of the Workers API it uses, so the package needs
// no @cloudflare/workers-types. A Durable Object serves it (edge/gateway-object.ts): one object holds the sockets.
import { problemResponse, type ProblemDetails } from '../../../http/problem.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody, type UpgradeDecision } from '../gatekeeper.ts';
import { PeerSocketCounts, resolveLimits, type WsServerLimits } from '../limits.ts';
import type { PeerConnection, SocketPeersOptions } from '../peers.ts';
import { WsTransport } from '../transport.ts';

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

export interface WorkerdWsServerOptions
  extends SocketPeersOptions,
    Omit<GatekeeperOptions, 'self' | 'clock'>,
    WsServerLimits {
  /** Default /satp/ws; the challenge is at `${path}/challenge`. */
  path?: string;
  /** Default `globalThis.WebSocketPair`. */
  WebSocketPair?: WebSocketPairConstructor;
}

export class WorkerdWsServer extends WsTransport {
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  readonly #Pair: WebSocketPairConstructor;
  readonly #sockets = new Set<WorkerdSocket>();
  readonly #limits: Required<WsServerLimits>;
  /** Each peer's sockets, from the upgrade until workerd reports them closed. */
  readonly #held: PeerSocketCounts<WorkerdSocket>;
  #handshakes = 0;

  constructor(options: WorkerdWsServerOptions) {
    const Pair = options.WebSocketPair ?? (globalThis as { WebSocketPair?: WebSocketPairConstructor }).WebSocketPair;
    if (!Pair) throw new TypeError('WorkerdWsServer needs WebSocketPair (workerd); on Node use ws/node/server.ts');
    super(options);
    this.#Pair = Pair;
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.#limits = resolveLimits(options);
    this.#held = new PeerSocketCounts(this.#limits.maxConnectionsPerPeer);
  }

  /** Sockets this server holds for `peer`: its live connection and replaced ones still closing. */
  connectionsOf(peer: string): number {
    return this.#held.count(peer);
  }

  /**
   * Serves the challenge and the upgrade; undefined for any other request, which the caller serves. Refusals
   * carry error-msg problem bodies, as on Node and Deno.
   */
  async fetch(req: Request): Promise<Response | undefined> {
    const url = new URL(req.url);
    const challenge = req.method === 'GET' && url.pathname === `${this.path}/challenge`;
    if (!challenge && url.pathname !== this.path) return undefined;
    if (this.#handshakes >= this.#limits.maxPendingHandshakes) {
      return this.#busy(`${this.#handshakes} handshakes are in progress at ${this.self}; retry later`);
    }
    // The answer must be ready within handshakeTimeoutMs, or it is a 503 (and a late upgrade is not made).
    const ms = this.#limits.handshakeTimeoutMs;
    const deadline = { passed: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<Response>((resolve) => {
      timer = setTimeout(() => {
        deadline.passed = true;
        resolve(this.#busy(`the handshake took over ${ms} ms; retry later`));
      }, ms);
    });
    this.#handshakes++;
    try {
      const work = challenge ? this.gatekeeper.challengeResponse(url) : this.#upgrade(req, deadline);
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
      this.#handshakes--;
    }
  }

  #refuse(decision: Extract<UpgradeDecision, { ok: false }>): Response {
    return problemResponse(JSON.parse(refusalBody(decision, this.core.ctx.clock())) as ProblemDetails);
  }

  #busy(detail: string): Response {
    return this.#refuse({ ok: false, status: 503, detail });
  }

  async #upgrade(req: Request, deadline: { passed: boolean }): Promise<Response> {
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket')
      return new Response(null, { status: 426, headers: { upgrade: 'websocket' } });
    if (this.core.isClosed) return new Response(null, { status: 503 });
    const decision = await this.gatekeeper.decide(req.headers.get('sec-websocket-protocol'));
    if (!decision.ok) return this.#refuse(decision);
    const peer = decision.peer;
    // As on Deno: the newest connection replaces the previous one (closed 4000), and past the cap of sockets still
    // closing the newcomer is refused, since workerd cannot abort a socket whose peer never answers a close.
    const held = this.#held.count(peer);
    if (held >= this.#limits.maxConnectionsPerPeer) {
      return this.#busy(`${this.self} still holds ${held} connections of ${peer}, the older ones closing; retry later`);
    }
    if (this.core.isClosed || deadline.passed) return new Response(null, { status: 503 });
    const pair = new this.#Pair();
    const [client, socket] = [pair[0], pair[1]];
    socket.accept();
    this.#sockets.add(socket);
    this.#held.add(peer, socket);
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
      this.#sockets.delete(socket);
      this.#held.delete(peer, socket);
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
      headers: { 'sec-websocket-protocol': decision.protocol },
      webSocket: client,
    } as ResponseInit);
  }

  /** Closes every socket with 1001. */
  override async close(): Promise<void> {
    await this.core.close();
    for (const s of this.#sockets) {
      try {
        s.close(1001, 'server closing');
      } catch {
        // already closed
      }
    }
    this.#sockets.clear();
  }
}
