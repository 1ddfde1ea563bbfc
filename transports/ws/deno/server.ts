// The WebSocket server transport on Deno's own HTTP server: a fetch-style handler for Deno.serve that runs
// the same gatekeeper and core as the Node server (ws/node/server.ts), with Deno.upgradeWebSocket instead of `ws`.
// It bounds what reaches its handler; Deno.serve itself offers no header or idle timeout (docs/transports.md).
import { problemResponse, type ProblemDetails } from '../../../http/problem.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody, type UpgradeDecision } from '../gatekeeper.ts';
import { PeerSocketCounts, resolveLimits, type WsServerLimits } from '../limits.ts';
import type { PeerConnection, SocketPeersOptions } from '../peers.ts';
import { WsTransport } from '../transport.ts';

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
  upgradeWebSocket(
    req: Request,
    options: { protocol?: string; idleTimeout?: number },
  ): { socket: DenoSocket; response: Response };
}

export interface DenoWsServerOptions
  extends SocketPeersOptions,
    Omit<GatekeeperOptions, 'self' | 'clock'>,
    WsServerLimits {
  /** Default /satp/ws; the challenge is at `${path}/challenge`. */
  path?: string;
  /**
   * Deno's own heartbeat (Deno.upgradeWebSocket's idleTimeout, in seconds): after half this time with nothing
   * received, Deno pings; a socket that has still received nothing (no pong) at this time is closed 1001.
   * Default 30: a ping after 15 s of silence, a dead peer closed after 30 s.
   */
  idleTimeoutSeconds?: number;
}

export class DenoWsServer extends WsTransport {
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  readonly #idle: number;
  readonly #deno: DenoApi;
  readonly #sockets = new Set<DenoSocket>();
  readonly #limits: Required<WsServerLimits>;
  /** Each peer's sockets, from the upgrade until Deno reports them closed. */
  readonly #held: PeerSocketCounts<DenoSocket>;
  /** Challenge and upgrade requests being answered. */
  #handshakes = 0;

  constructor(options: DenoWsServerOptions) {
    const deno = (globalThis as { Deno?: DenoApi }).Deno;
    if (!deno?.upgradeWebSocket) {
      throw new TypeError('DenoWsServer runs on Deno only; on Node use transports/ws/node/server.ts');
    }
    super(options);
    this.#deno = deno;
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.#idle = options.idleTimeoutSeconds ?? 30;
    if (!(this.#idle > 0)) throw new RangeError('idleTimeoutSeconds must be positive');
    this.#limits = resolveLimits(options);
    this.#held = new PeerSocketCounts(this.#limits.maxConnectionsPerPeer);
  }

  /** Sockets this server holds for `peer`: its live connection and replaced ones still closing. */
  connectionsOf(peer: string): number {
    return this.#held.count(peer);
  }

  /** Challenge and upgrade requests being answered now. */
  get pendingHandshakes(): number {
    return this.#handshakes;
  }

  /**
   * Serves the challenge and the upgrade; undefined for any other request, which the caller serves
   * (e.g. with the gateway app). Bodies of refusals are error-msg problems, as on Node.
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
    // The newest connection is the live one; it replaces the previous (closed 4000). Deno has no way to abort
    // a socket whose peer never answers that close frame, so past the cap the newcomer is refused instead.
    const held = this.#held.count(peer);
    if (held >= this.#limits.maxConnectionsPerPeer) {
      return this.#busy(`${this.self} still holds ${held} connections of ${peer}, the older ones closing; retry later`);
    }
    if (this.core.isClosed || deadline.passed) return new Response(null, { status: 503 });
    // Deno's `protocol` option splits the offered list on ", " only, and `ws` clients join it with ","
    // (both valid, RFC 6455 §4.1), so the selected protocol is set on the 101 response here instead.
    const { socket, response } = this.#deno.upgradeWebSocket(req, { idleTimeout: this.#idle });
    response.headers.set('sec-websocket-protocol', decision.protocol);
    socket.binaryType = 'arraybuffer';
    this.#sockets.add(socket);
    this.#held.add(peer, socket);
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
      this.#sockets.delete(socket);
      this.#held.delete(peer, socket);
      if (conn) this.core.detach(conn);
    };
    return response;
  }

  /** Closes every socket with 1001; the caller shuts its Deno.serve listener down. */
  override async close(): Promise<void> {
    await this.core.close();
    for (const s of this.#sockets) s.close(1001, 'server closing');
    this.#sockets.clear();
  }
}
