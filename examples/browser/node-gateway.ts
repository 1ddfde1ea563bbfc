// The demo server's own gateway, for the browser ↔ Node mode: built with startGateway (through GatewayHost, so it
// can crash and recover like the page's), on ledger-b, a MemoryLedger that lives in the server and is served over
// HTTP for the page to read (ledgers/ledger-server.ts). It listens with WsServerTransport on the demo server's
// HTTP server; the page's gateway dials it. Its log is a MemoryDriver the server keeps across incarnations: the
// server process is its disk. Keys: its own and its ledger's are generated at start; a page tells it its
// gateway's public key (and its ledger's) through POST /api/node/peers before dialling. Demo only: a real
// deployment provisions peer keys out of band.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { ID_PATTERN, logIdOf } from '../../kernel/entry.ts';
import type { PeerGateway } from '../../gateway/start.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import { Feed } from './feed.ts';
import { GatewayHost } from './host.ts';
import { observeDriver } from './observe.ts';
import { DEMO_TIMING } from './timing.ts';

export const NODE_GATEWAY = 'gw-node';
export const NODE_LEDGER = 'ledger-b';
const WS_PATH = '/satp/ws';
const LEDGER_PATH = `/${NODE_LEDGER}`;
const MAX_PEERS = 64;

const jwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
const peerSchema = z.strictObject({
  id: z.string().regex(ID_PATTERN),
  publicJwk: jwk,
  networkId: z.string().regex(ID_PATTERN),
  ledgerKey: jwk,
});

export class NodeGateway {
  readonly feed = new Feed();
  readonly ledger: MemoryLedger;
  readonly #publicJwk: PublicJwk;
  readonly #host: GatewayHost;
  readonly #peers = new Map<string, PeerGateway>();
  /** The server's memory is this gateway's disk: it outlives every incarnation (a crash closes only a handle). */
  readonly #disk = new MemoryDriver();
  #transport: WsServerTransport | undefined;

  private constructor(signer: Awaited<ReturnType<typeof generateWebCryptoSigner>>['signer'], ledger: MemoryLedger) {
    this.ledger = ledger;
    this.#publicJwk = signer.publicJwk;
    const observed = observeDriver(this.#disk, (entries) => {
      const session = entries[0]?.sessionId;
      if (session) this.feed.push({ type: 'entries', gw: NODE_GATEWAY, entries: entries as never }, session);
    });
    const store = { ...observed, close: async () => {} };
    this.#host = new GatewayHost({
      id: NODE_GATEWAY,
      signer,
      ledger,
      ledgerKey: ledger.publicJwk,
      peers: () => Object.fromEntries(this.#peers),
      timing: DEMO_TIMING,
      open: async () => {
        this.#transport = new WsServerTransport({
          self: NODE_GATEWAY,
          signer,
          keys: (id) => this.#peers.get(id)?.publicJwk,
          path: WS_PATH,
          onError: () => {}, // a page that goes away mid-frame is no news in a demo
        });
        return { store, transports: [this.#transport] };
      },
      onReport: (session, report) => {
        if (report.kind === 'ended')
          this.feed.push({ type: 'ended', gw: NODE_GATEWAY, session, outcome: report.outcome }, session);
      },
      onLife: (e) => this.feed.push({ type: 'life', gw: NODE_GATEWAY, ...e }),
    });
  }

  static async start(): Promise<NodeGateway> {
    const [gateway, ledgerKeys] = await Promise.all([generateWebCryptoSigner(), generateWebCryptoSigner()]);
    const ledger = new MemoryLedger({ id: NODE_LEDGER, signer: ledgerKeys.signer, now: Date.now });
    const node = new NodeGateway(gateway.signer, ledger);
    await node.#host.boot();
    return node;
  }

  /** The routes the page uses in this mode, and the ledger server app at /ledger-b. */
  mount(app: Hono): void {
    app.get('/api/node', (c) =>
      c.json({
        gatewayId: NODE_GATEWAY,
        publicJwk: this.#publicJwk,
        ledgerId: NODE_LEDGER,
        ledgerKey: this.ledger.publicJwk,
        wsPath: WS_PATH,
        ledgerPath: LEDGER_PATH,
      }),
    );
    app.post('/api/node/peers', bodyLimit({ maxSize: 4096 }), async (c) => {
      const parsed = peerSchema.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) return c.json({ error: 'expected {id, publicJwk, networkId, ledgerKey}' }, 400);
      const { id, ...peer } = parsed.data;
      const known = this.#peers.get(id);
      if (known) return known.publicJwk.x === peer.publicJwk.x ? c.body(null, 204) : c.json({ error: 'id taken' }, 409);
      if (id === NODE_GATEWAY || this.#peers.size >= MAX_PEERS) return c.json({ error: 'no room for a peer' }, 503);
      this.#peers.set(id, peer);
      // The driver learns its peers when it starts: a restart, and boot-time recovery resumes its open sessions.
      await this.#host.crash(`restarted to learn the key of ${id}`);
      void this.#host.boot();
      return c.body(null, 204);
    });
    app.post('/api/node/crash', async (c) => {
      await this.#host.crash('crash button');
      void this.#host.boot();
      return c.body(null, 202);
    });
    app.get('/api/node/events', (c) => {
      const run = c.req.query('run') ?? '';
      const last = Number(c.req.header('last-event-id') ?? 0);
      return this.feed.response(Number.isSafeInteger(last) ? last : 0, (s) => s.startsWith(`s-${run}-`));
    });
    app.get('/api/node/chains/:session', async (c) => {
      const session = c.req.param('session');
      const peer = c.req.query('peer') ?? '';
      if (!ID_PATTERN.test(session) || !ID_PATTERN.test(peer)) return c.json({ error: 'not an id' }, 400);
      // Raw, as stored: the page verifies the chains itself, with the keys it holds.
      const read = async (author: string) =>
        (await this.#disk.read(logIdOf(session, author), 1, Number.MAX_SAFE_INTEGER)).map((t) => JSON.parse(t));
      return c.json({ own: await read(NODE_GATEWAY), copy: await read(peer) });
    });
    app.get('/api/node/journal', (c) => c.json({ ops: this.ledger.ops() as never }));
    app.get(`${WS_PATH}/challenge`, (c) =>
      this.#transport ? this.#transport.gatekeeper.challengeResponse(c.req.url) : c.body(null, 503),
    );
    app.route(LEDGER_PATH, createLedgerApp(this.ledger));
  }

  /** Upgrades to the gateway's WebSocket path go to the transport of its live incarnation. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== WS_PATH) return false;
    if (!this.#transport) socket.destroy();
    else void this.#transport.handleUpgrade(req, socket, head);
    return true;
  }

  async close(): Promise<void> {
    this.feed.close();
    await this.#host.close();
  }
}
