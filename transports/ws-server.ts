// The WebSocket server transport on Node (and Deno's node:http compat) with `ws`: authenticates each gateway
// before the upgrade completes, enforces frame limits, and drops peers that stop answering pings.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Json } from '../kernel/json.ts';
import { STATUS_TITLES } from './http/problem.ts';
import type { MessageHandler, PeerHandler, Transport } from './types.ts';
import { Gatekeeper, type GatekeeperOptions, refusalBody } from './ws-gatekeeper.ts';
import { type PeerConnection, SocketPeers, type SocketPeersOptions } from './ws-peers.ts';
import { WS_PROTOCOL } from './ws-handshake.ts';

export interface WsServerOptions extends SocketPeersOptions, Omit<GatekeeperOptions, 'self' | 'clock'> {
  /** The WebSocket path; the challenge is served at `${path}/challenge` (default /satp/ws). */
  path?: string;
  /** Ping interval; a socket that has not answered the previous ping is terminated (default 30 s). */
  heartbeatMs?: number;
  /** How long close() waits for closing handshakes before terminating sockets (default 1 s). */
  closeGraceMs?: number;
}

export class WsServerTransport implements Transport {
  readonly core: SocketPeers;
  readonly gatekeeper: Gatekeeper;
  readonly path: string;
  readonly #wss: WebSocketServer;
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #graceMs: number;
  #server?: Server;
  #closing?: Promise<void>;

  constructor(options: WsServerOptions) {
    this.core = new SocketPeers(options);
    this.gatekeeper = new Gatekeeper({ ...options, clock: this.core.ctx.clock });
    this.path = options.path ?? '/satp/ws';
    this.#graceMs = options.closeGraceMs ?? 1_000;
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws closes with 1009 past this, counting every fragment of a message, before buffering more.
      maxPayload: this.core.ctx.maxMessageBytes,
      // The gatekeeper already required this protocol; selecting it tells the client it was accepted.
      handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
      perMessageDeflate: false, // a compressed 1 MiB frame could inflate far beyond the limit's intent
    });
    const heartbeatMs = options.heartbeatMs ?? 30_000;
    if (!(heartbeatMs > 0)) throw new RangeError('heartbeatMs must be positive');
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatMs);
  }

  /** A server on its own node:http listener (default 127.0.0.1, an OS-chosen port). */
  static async listen(options: WsServerOptions & { host?: string; port?: number }): Promise<WsServerTransport> {
    const t = new WsServerTransport(options);
    const server = createServer((req, res) => {
      if (!t.handleRequest(req, res)) res.writeHead(404).end();
    });
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

  /** ws://host:port/path of the listener started by listen(). */
  get url(): string {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    if (!addr) throw new TypeError('not listening');
    return `ws://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}${this.path}`;
  }

  /** Serves upgrades arriving at an existing node:http server (the challenge route: handleRequest). */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head, server));
  }

  /** Answers GET `${path}/challenge`; false for any other request, which the caller serves. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== `${this.path}/challenge`) return false;
    void this.gatekeeper.challengeResponse(url).then(async (r) => {
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => (headers[k] = v));
      res.writeHead(r.status, headers).end(await r.text());
    }, (err) => {
      this.core.ctx.onError(err, { what: 'challenge failed' });
      res.writeHead(500).end();
    });
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
    const decision = await this.gatekeeper.decide(req.headers['sec-websocket-protocol']);
    if (socket.destroyed) return;
    if (this.core.isClosed) return refuseUpgrade(socket, 503, '');
    // Refused before the 101: a stranger or a bad proof never gets a WebSocket at all.
    if (!decision.ok) return refuseUpgrade(socket, decision.status, refusalBody(decision, this.core.ctx.clock()));
    socket.off('error', onError); // ws attaches its own handler at once
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(decision.peer, ws));
  }

  #accept(peer: string, ws: WebSocket): void {
    this.#alive.set(ws, true);
    const conn: PeerConnection = this.core.attach(peer, {
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      sendText: (text) => new Promise<void>((resolve, reject) => ws.send(text, (err) => (err ? reject(err) : resolve()))),
      close: (code, reason) => ws.close(code, reason),
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      // ws has checked UTF-8 (1007) and size (1009) already; a text frame's bytes are valid UTF-8 here.
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      conn.receive(isBinary ? new Uint8Array(bytes) : bytes.toString('utf8'), isBinary);
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

  /** Closes sockets (1001), terminates the ones still open after the grace period, stops the heartbeat and listener. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeat);
      await this.core.close();
      const closing = [...this.#wss.clients].map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise((r) => ws.once('close', r))));
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
