// The WebSocket server transport on Node (and Deno's node:http compat) with `ws`: authenticates each gateway
// before the upgrade completes, enforces frame limits, bounds sockets per peer and sockets still in the
// handshake, and drops peers that stop answering pings. Limits and close codes: docs/transports.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { STATUS_TITLES } from '../../../http/problem.ts';
import { nodeServerTimeouts, SocketCap } from '../../../http/node-limits.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody } from '../gatekeeper.ts';
import type { PeerConnection, SocketPeersOptions } from '../peers.ts';
import { WS_PROTOCOL } from '../handshake.ts';
import { PeerSocketCounts, resolveLimits, type WsServerLimits } from '../limits.ts';
import { WsTransport } from '../transport.ts';

export interface WsServerOptions extends SocketPeersOptions, Omit<GatekeeperOptions, 'self' | 'clock'>, WsServerLimits {
  /** The WebSocket path; the challenge is served at `${path}/challenge` (default /satp/ws). */
  path?: string;
  /** Ping interval; a socket that has not answered the previous ping is terminated (default 15 s). */
  heartbeatMs?: number;
  /**
   * How long a closing handshake may take (default 1 s): a socket closed by this server (replaced 4000, a
   * 1003/1007/1008/1009, close()) whose peer has not answered the close frame by then is terminated.
   */
  closeGraceMs?: number;
  /** listen() only: an idle keep-alive connection (after a challenge request) is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
}

export class WsServerTransport extends WsTransport {
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  readonly #wss: WebSocketServer;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #graceMs: number;
  readonly #limits: Required<WsServerLimits>;
  /** Each peer's sockets, live and closing, oldest first, until ws reports them closed. */
  readonly #held: PeerSocketCounts<WebSocket>;
  /** Sockets whose upgrade request is being decided. */
  readonly #deciding = new Set<Duplex>();
  #server?: Server;
  #tls = false;
  #unauthenticated?: SocketCap;
  #closing?: Promise<void>;

  constructor(options: WsServerOptions) {
    super(options);
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.#graceMs = options.closeGraceMs ?? 1_000;
    this.#limits = resolveLimits(options);
    this.#held = new PeerSocketCounts(this.#limits.maxConnectionsPerPeer);
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws closes with 1009 past this, counting every fragment of a message, before buffering more.
      maxPayload: this.core.ctx.maxMessageBytes,
      // The gatekeeper already required this protocol; selecting it tells the client it was accepted.
      handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
      perMessageDeflate: false, // a compressed 1 MiB frame could inflate far beyond the limit's intent
      // ws waits 30 s by default for the peer's close frame; a peer that never sends it is cut off sooner.
      // (closeTimeout is an option of ws ≥ 8.19 that @types/ws does not declare yet.)
      ...({ closeTimeout: this.#graceMs } as object),
    });
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    if (!(heartbeatMs > 0)) throw new RangeError('heartbeatMs must be positive');
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatMs);
  }

  /**
   * A server on its own node:http listener (default 127.0.0.1, an OS-chosen port). Every socket that is not
   * yet an authenticated WebSocket counts against maxPendingHandshakes from the moment it connects (past it,
   * a new connection is dropped unread). A request head must arrive within handshakeTimeoutMs (node's
   * headersTimeout and requestTimeout), and an upgrade must be answered within handshakeTimeoutMs of its head.
   */
  static async listen(
    options: WsServerOptions & {
      host?: string;
      port?: number;
      /** Serve wss:// (TLS 1.3 at least, as SATP core asks) with this certificate and key, both PEM. */
      tls?: { cert: string; key: string };
    },
  ): Promise<WsServerTransport> {
    const t = new WsServerTransport(options);
    const handshakeMs = t.#limits.handshakeTimeoutMs;
    const timeouts = nodeServerTimeouts({
      headersTimeoutMs: handshakeMs,
      requestTimeoutMs: handshakeMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 5_000,
    });
    const serve = (req: IncomingMessage, res: ServerResponse) => {
      if (!t.handleRequest(req, res)) res.writeHead(404).end();
    };
    const server: Server = options.tls
      ? createTlsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.3' }, serve)
      : createServer(timeouts, serve);
    t.#tls = !!options.tls;
    t.#unauthenticated = new SocketCap(server, t.#limits.maxPendingHandshakes);
    t.attach(server);
    t.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', (err) => t.core.ctx.onError(err, { what: 'listener error' }));
        resolve();
      });
    });
    return t;
  }

  /** ws://host:port/path (wss:// with TLS) of the listener started by listen(). */
  get url(): string {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new TypeError('not listening');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `${this.#tls ? 'wss' : 'ws'}://${host}:${addr.port}${this.path}`;
  }

  /**
   * Serves upgrades arriving at an existing node:http server (the challenge route: handleRequest). That
   * server's own timeouts bound its sockets until the upgrade request arrives (serveOnNode sets them); from
   * there, this transport bounds the upgrade (handshakeTimeoutMs, maxPendingHandshakes).
   */
  attach(server: Server): void {
    server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head, server),
    );
  }

  /** Answers GET `${path}/challenge`; false for any other request, which the caller serves. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== `${this.path}/challenge`) return false;
    void this.gatekeeper.challengeResponse(url).then(
      async (r) => {
        const headers: Record<string, string> = {};
        r.headers.forEach((v, k) => {
          headers[k] = v;
        });
        res.writeHead(r.status, headers).end(await r.text());
      },
      (err) => {
        this.core.ctx.onError(err, { what: 'challenge failed' });
        res.writeHead(500).end();
      },
    );
    return true;
  }

  /** Decides and completes (or refuses) one upgrade; upgrades for other paths are left to other listeners, if any. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, server?: Server): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== this.path) {
      if ((server ?? this.#server)?.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, '');
      return;
    }
    const onError = (err: unknown) => this.core.ctx.onError(err, { what: 'upgrade socket error' });
    socket.on('error', onError);
    if (this.#deciding.size >= this.#limits.maxPendingHandshakes) {
      const detail = `${this.#deciding.size} handshakes are in progress at ${this.self}; retry later`;
      return refuseUpgrade(socket, 503, refusalBody({ ok: false, status: 503, detail }, this.core.ctx.clock()));
    }
    // Node stopped timing the socket when it emitted 'upgrade': the upgrade must be decided and answered in
    // time, and a refused socket that lingers is destroyed then too.
    const deadline = setTimeout(() => socket.destroy(), this.#limits.handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(deadline));
    this.#deciding.add(socket);
    let decision: Awaited<ReturnType<Gatekeeper['decide']>>;
    try {
      decision = await this.gatekeeper.decide(req.headers['sec-websocket-protocol']);
    } finally {
      this.#deciding.delete(socket);
    }
    if (socket.destroyed) return;
    if (this.core.isClosed) return refuseUpgrade(socket, 503, '');
    // Refused before the 101: a stranger or a bad proof never gets a WebSocket at all.
    if (!decision.ok) return refuseUpgrade(socket, decision.status, refusalBody(decision, this.core.ctx.clock()));
    socket.off('error', onError); // ws attaches its own handler at once
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      clearTimeout(deadline);
      this.#unauthenticated?.release(socket); // a WebSocket now: the per-peer cap and the heartbeat bound it
      this.#accept(decision.peer, ws);
    });
  }

  /** Sockets this transport holds for `peer`: its live connection and replaced ones still closing. */
  connectionsOf(peer: string): number {
    return this.#held.count(peer);
  }

  /** Sockets not yet authenticated: on listen()'s listener all of them, on an attached server those upgrading. */
  get pendingHandshakes(): number {
    return this.#unauthenticated?.size ?? this.#deciding.size;
  }

  #accept(peer: string, ws: WebSocket): void {
    this.#alive.set(ws, true);
    ws.on('close', () => this.#held.delete(peer, ws));
    // The newest connection is the live one (core.attach below closes the previous one with 4000). Past the
    // per-peer cap, the oldest sockets are replaced ones whose peer has not finished the closing handshake:
    // they are terminated now rather than when their closing timeout (closeGraceMs) runs out.
    for (const old of this.#held.add(peer, ws)) old.terminate();
    const conn: PeerConnection = this.core.attach(peer, {
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      sendText: (text) =>
        new Promise<void>((resolve, reject) => ws.send(text, (err) => (err ? reject(err) : resolve()))),
      close: (code, reason) => ws.close(code, reason),
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      // ws has checked UTF-8 (1007) and size (1009) already; a text frame's bytes are valid UTF-8 here.
      // ws hands a Buffer (its default binaryType), which is used as it is: Buffer.from would copy it, a recovery
      // page's 900 KB each time. An ArrayBuffer (another binaryType) is viewed, fragments are joined.
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) conn.receive(new Uint8Array(bytes), true);
      else conn.receive(bytes.toString('utf8'), false, bytes.length); // valid UTF-8: the text is those bytes
    });
    ws.on('pong', () => this.#alive.set(ws, true));
    ws.on('error', (err) => this.core.ctx.onError(err, { peer, what: 'socket error' }));
    ws.on('close', () => this.core.detach(conn));
  }

  #beat(): void {
    for (const ws of this.#wss.clients) {
      if (!this.#alive.get(ws)) {
        ws.terminate(); // no pong since the last ping: the peer is dead or stalled
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }

  /** Closes sockets (1001), terminates the ones still open after the grace period, stops the heartbeat and listener. */
  override close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeat);
      await this.core.close();
      for (const socket of this.#deciding) socket.destroy();
      this.#unauthenticated?.destroyAll();
      const closing = [...this.#wss.clients].map((ws) =>
        ws.readyState === ws.CLOSED ? undefined : new Promise((r) => ws.once('close', r)),
      );
      await within(this.#graceMs, Promise.all(closing));
      for (const ws of this.#wss.clients) ws.terminate();
      await new Promise<void>((r) => this.#wss.close(() => r()));
      if (this.#server) {
        const server = this.#server;
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections?.();
        });
      }
    })();
    return this.#closing;
  }
}

/** Waits for `work`, or `ms` at most, leaving no timer behind. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function refuseUpgrade(socket: Duplex, status: number, body: string): void {
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TITLES[status] ?? 'Error'}`,
    'Connection: close',
    'Cache-Control: no-store',
    ...(body ? ['Content-Type: application/problem+json'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
