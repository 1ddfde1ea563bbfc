// What the fetch-style WebSocket servers (Deno: ws/deno/server.ts, workerd: ws/workerd/server.ts) share: the
// challenge and upgrade routes, the bound on handshakes in progress and their deadline, refusals as error-msg
// problem bodies, and the per-peer socket cap. A subclass only opens the socket its runtime makes (openSocket)
// and closes the sockets it holds; it must add each to `sockets` and `held`, and drop it from both once closed.
import { problemResponse, type ProblemDetails } from '../../http/problem.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody, type UpgradeDecision } from './gatekeeper.ts';
import { PeerSocketCounts, resolveLimits, type WsServerLimits } from './limits.ts';
import type { SocketPeersOptions } from './peers.ts';
import { WsTransport } from './transport.ts';

export interface FetchWsServerOptions
  extends SocketPeersOptions,
    Omit<GatekeeperOptions, 'self' | 'clock'>,
    WsServerLimits {
  /** Default /satp/ws; the challenge is at `${path}/challenge`. */
  path?: string;
}

export abstract class FetchWsServer<S> extends WsTransport {
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  protected readonly sockets: Set<S> = new Set();
  protected readonly limits: Required<WsServerLimits>;
  /** Each peer's sockets, from the upgrade until the runtime reports them closed. */
  protected readonly held: PeerSocketCounts<S>;
  /** Challenge and upgrade requests being answered. */
  #handshakes = 0;

  constructor(options: FetchWsServerOptions) {
    super(options);
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.limits = resolveLimits(options);
    this.held = new PeerSocketCounts(this.limits.maxConnectionsPerPeer);
  }

  /** Sockets this server holds for `peer`: its live connection and replaced ones still closing. */
  connectionsOf(peer: string): number {
    return this.held.count(peer);
  }

  /** Challenge and upgrade requests being answered now. */
  get pendingHandshakes(): number {
    return this.#handshakes;
  }

  /**
   * Serves the challenge and the upgrade; undefined for any other request, which the caller serves (e.g. with
   * the gateway app). Bodies of refusals are error-msg problems, as on Node.
   */
  async fetch(req: Request): Promise<Response | undefined> {
    const url = new URL(req.url);
    const challenge = req.method === 'GET' && url.pathname === `${this.path}/challenge`;
    if (!challenge && url.pathname !== this.path) return undefined;
    if (this.#handshakes >= this.limits.maxPendingHandshakes) {
      return this.#busy(`${this.#handshakes} handshakes are in progress at ${this.self}; retry later`);
    }
    // The answer must be ready within handshakeTimeoutMs, or it is a 503 (and a late upgrade is not made).
    const ms = this.limits.handshakeTimeoutMs;
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

  /** Upgrades `req` to a socket of `peer` speaking `protocol`, attached to the core; returns the 101 response. */
  protected abstract openSocket(req: Request, peer: string, protocol: string): Response;

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
    // The newest connection is the live one; it replaces the previous (closed 4000). Neither Deno nor workerd can
    // abort a socket whose peer never answers that close frame, so past the cap the newcomer is refused instead.
    const held = this.held.count(peer);
    if (held >= this.limits.maxConnectionsPerPeer) {
      return this.#busy(`${this.self} still holds ${held} connections of ${peer}, the older ones closing; retry later`);
    }
    if (this.core.isClosed || deadline.passed) return new Response(null, { status: 503 });
    return this.openSocket(req, peer, decision.protocol);
  }
}
