// The world of the workerd gateway tests (test/integration/workerd-gateway.test.ts): the example worker
// (examples/workerd/gateway-worker.ts) bundled and run by workerd under miniflare with its Durable Object storage
// persisted in a temp dir; a Node gateway built with startGateway in the test process; two in-memory ledgers served
// over HTTP on 127.0.0.1, whose calls the test can watch and hold. Ports are chosen by the OS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { build } from 'esbuild';
import { keyTable, type PublicJwk, type Signer } from '../../kernel/crypto/types.ts';
import { generateWebCryptoSigner, type PrivateJwk } from '../../kernel/crypto/webcrypto.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { logIdOf } from '../../kernel/entry.ts';
import type { Outbox } from '../../kernel/driver.ts';
import type { LedgerOp, LedgerReceipt } from '../../kernel/ledger.ts';
import type { Json } from '../../kernel/json.ts';
import { type PeerGateway, type RunningGateway, startGateway, type StartGatewayOptions } from '../../gateway/start.ts';
import { serveOnNode } from '../../http/node-serve.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { createNodeWsClient } from '../../transports/ws/node/client.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import type { SessionView } from '../../edge/gateway-object.ts';
import { type ChainView, checkRun, memoryLedgerView, readChain, type Verdict } from './invariants.ts';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/** Rejects with `what` once `ms` pass: the bound on every wait of these tests. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The example worker bundled for workerd into `dir` (never into the repository); returns the file. */
export async function bundleGatewayWorker(dir: string): Promise<string> {
  const outfile = join(dir, 'gateway-worker.js');
  await build({
    entryPoints: [join(ROOT, 'examples', 'workerd', 'gateway-worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser', 'import'],
    outfile,
    absWorkingDir: ROOT,
    logLevel: 'error',
  });
  return outfile;
}

export interface Identity {
  id: string;
  signer: Signer;
  privateJwk: PrivateJwk;
  publicJwk: PublicJwk;
}

export async function identity(id: string): Promise<Identity> {
  const { signer, privateJwk } = await generateWebCryptoSigner();
  return { id, signer, privateJwk, publicJwk: signer.publicJwk };
}

/** An in-memory ledger on 127.0.0.1 whose clock the test can stop, and whose op calls it can watch and hold. */
export class LedgerServer {
  readonly ledger: MemoryLedger;
  url = '';
  /** While set, the ledger's clock stands still at this time (a lock cannot lapse by it). */
  frozenAt: number | undefined;
  readonly #listeners = new Set<(receipt: LedgerReceipt) => void>();
  #hold: ((op: LedgerOp) => boolean) | undefined;
  readonly #held: { op: LedgerOp; body: string; answer: (r: Response) => void }[] = [];
  readonly #heldWaiters = new Set<() => void>();
  #close: (() => Promise<void>) | undefined;
  /** The ledger as the server calls it: every op it records is told to the listeners. */
  #observed: MemoryLedger | undefined;

  constructor(
    readonly key: Identity,
    assets: { assetId: string; owner: string }[] = [],
  ) {
    this.ledger = new MemoryLedger({ id: key.id, signer: key.signer, assets, now: () => this.frozenAt ?? Date.now() });
  }

  async start(): Promise<this> {
    const observed = new Proxy(this.ledger, {
      get: (t, prop) => {
        const v = Reflect.get(t, prop, t);
        if (prop !== 'execute') return typeof v === 'function' ? v.bind(t) : v;
        return async (op: LedgerOp) => {
          const receipt = await t.execute(op);
          for (const l of this.#listeners) l(receipt);
          return receipt;
        };
      },
    });
    this.#observed = observed;
    const app = createLedgerApp(observed);
    const served = await serveOnNode(async (req) => {
      if (this.#hold && req.method === 'POST' && new URL(req.url).pathname === '/ops') {
        const body = await req.text();
        const op = JSON.parse(body) as LedgerOp;
        if (this.#hold(op))
          return new Promise<Response>((answer) => {
            this.#held.push({ op, body, answer });
            for (const w of this.#heldWaiters) w();
          });
        return app.fetch(new Request(req.url, { method: 'POST', headers: req.headers, body }));
      }
      return app.fetch(req);
    });
    this.url = served.url;
    this.#close = () => served.close();
    return this;
  }

  /** Ops matching `match` get no answer until released: the caller sees a ledger that hangs. */
  hold(match: (op: LedgerOp) => boolean): void {
    this.#hold = match;
  }

  /** The first held op, once one arrives. */
  held(ms: number): Promise<LedgerOp> {
    const first = () => this.#held[0]?.op;
    if (first()) return Promise.resolve(first()!);
    return within(
      new Promise<LedgerOp>((resolve) => {
        const w = () => {
          this.#heldWaiters.delete(w);
          resolve(first()!);
        };
        this.#heldWaiters.add(w);
      }),
      ms,
      'no ledger op was held',
    );
  }

  /** Lets the held ops through: applied by the ledger (their answers go to whoever still listens), or refused 503. */
  async release(apply: boolean): Promise<void> {
    this.#hold = undefined;
    for (const h of this.#held.splice(0)) {
      if (apply) h.answer(Response.json(await (this.#observed ?? this.ledger).execute(h.op)));
      else h.answer(new Response('held, then dropped', { status: 503 }));
    }
  }

  /** Resolves with the receipt of the op `opId` once the ledger has recorded it (at once if it already has). */
  recorded(opId: string, ms: number): Promise<LedgerReceipt> {
    const done = this.ledger.ops().find((r) => r.receipt.opId === opId);
    if (done) return Promise.resolve(done.receipt);
    return within(
      new Promise<LedgerReceipt>((resolve) => {
        const l = (receipt: LedgerReceipt) => {
          if (receipt.opId !== opId) return;
          this.#listeners.delete(l);
          resolve(receipt);
        };
        this.#listeners.add(l);
      }),
      ms,
      `${this.ledger.id} never recorded ${opId}`,
    );
  }

  close(): Promise<void> {
    return this.#close?.() ?? Promise.resolve();
  }
}

/** A store that survives its gateway: close() leaves the data, as a crash leaves a disk. */
function surviving(driver: LogStoreDriver): LogStoreDriver {
  return new Proxy(driver, {
    get: (t, prop) => {
      if (prop === 'close') return async () => undefined;
      const v = Reflect.get(t, prop, t);
      // Called on the driver itself: its private fields are not the proxy's.
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

export interface NodeGatewayOptions {
  me: Identity;
  store: MemoryDriver;
  ledger: LedgerServer;
  peers: Record<string, PeerGateway>;
  /** Where each peer's WebSocket is, read at every dial. */
  peerUrl: (peer: string) => string | undefined;
  port?: number;
  /** How long boot waits for the links (default 1000 ms, as startGateway's). */
  connectWaitMs?: number;
  timing?: StartGatewayOptions['timing'];
  onInbound?: StartGatewayOptions['onInbound'];
  wrapOutbox?: (outbox: Outbox) => Outbox;
}

/** A Node gateway: startGateway over the `ws` server and client, a memory store that outlives it, its ledger direct. */
export class NodeGateway {
  running!: RunningGateway;
  server!: WsServerTransport;

  private constructor(readonly o: NodeGatewayOptions) {}

  static async start(o: NodeGatewayOptions): Promise<NodeGateway> {
    const g = new NodeGateway(o);
    const keys = keyTable({
      [o.me.id]: o.me.publicJwk,
      ...Object.fromEntries(Object.entries(o.peers).map(([p, c]) => [p, c.publicJwk])),
    });
    g.server = await WsServerTransport.listen({ self: o.me.id, signer: o.me.signer, keys, port: o.port ?? 0 });
    const client = createNodeWsClient({
      self: o.me.id,
      signer: o.me.signer,
      keys,
      peers: o.peerUrl,
      connectTimeoutMs: 5_000,
    });
    g.running = await startGateway({
      id: o.me.id,
      signer: o.me.signer,
      store: surviving(o.store),
      transports: [client, g.server],
      ledger: o.ledger.ledger,
      ledgerKey: o.ledger.key.publicJwk,
      peers: o.peers,
      ...(o.connectWaitMs !== undefined && { connectWaitMs: o.connectWaitMs }),
      ...(o.timing && { timing: o.timing }),
      ...(o.onInbound && { onInbound: o.onInbound }),
      ...(o.wrapOutbox && { wrapOutbox: o.wrapOutbox }),
    });
    return g;
  }

  get port(): number {
    return Number(new URL(this.server.url).port);
  }

  /** Stops the gateway (its timers, links and sockets); its store stays as it is. */
  stop(): Promise<void> {
    return this.running.close();
  }
}

export interface WorkerdOptions {
  worker: string;
  persist: string;
  bindings: Record<string, string>;
}

/** The example worker in workerd under miniflare, its Durable Object storage in `persist`. */
export class WorkerdGateway {
  url = '';
  /** The tail of workerd's output (console lines of the object), shown when a test fails. */
  readonly output: string[] = [];
  #mf: { dispose(): Promise<void> } | undefined;

  constructor(readonly o: WorkerdOptions) {}

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/satp/ws`;
  }

  async start(): Promise<this> {
    const { Miniflare } = await import('miniflare');
    const keep = (stream: Readable) =>
      stream.on('data', (chunk: Buffer) => {
        this.output.push(...chunk.toString().split('\n').filter(Boolean));
        this.output.splice(0, Math.max(0, this.output.length - 200));
      });
    let mf: InstanceType<typeof Miniflare> | undefined;
    try {
      mf = new Miniflare({
        modules: true,
        scriptPath: this.o.worker,
        modulesRoot: join(this.o.worker, '..'),
        durableObjects: { GATEWAY: { className: 'SatpGatewayObject', useSQLite: true } },
        durableObjectsPersist: this.o.persist,
        compatibilityDate: '2024-09-23',
        bindings: this.o.bindings,
        host: '127.0.0.1',
        port: 0,
        handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
          keep(stdout);
          keep(stderr);
        },
      });
      this.url = (await mf.ready).origin;
    } catch (err) {
      await mf?.dispose().catch(() => undefined);
      throw new Error(
        `miniflare could not start workerd (the workerd binary comes with the miniflare package): ${err}`,
      );
    }
    this.#mf = mf;
    return this;
  }

  /** Stops workerd: the object and its sockets gone mid-whatever, its persisted storage kept. */
  async stop(): Promise<void> {
    const mf = this.#mf;
    this.#mf = undefined;
    await mf?.dispose();
  }

  control(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}/control/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.o.bindings.CONTROL_TOKEN}`, ...init.headers },
      signal: AbortSignal.timeout(60_000),
    });
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.control(path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} /control/${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /**
   * The object's view of a session once `done` holds: long polls, each answered by the object as soon as the
   * session's chain grows past what the last one saw or it ends (5 s at most); at most `polls` requests, `ms` in all.
   */
  async session(
    sessionId: string,
    done: (view: SessionView) => boolean,
    { polls = 100, ms = 90_000 } = {},
  ): Promise<SessionView> {
    const until = Date.now() + ms;
    let last: SessionView | string = 'no answer';
    for (let i = 0; i < polls && Date.now() < until; i++) {
      const after = typeof last === 'string' ? -1 : last.seq;
      const res = await this.control(`sessions/${sessionId}?waitMs=5000&after=${after}`);
      if (res.status === 404) {
        // Not there yet, though the object waited for its first entry as for any change.
        last = await res.text();
        continue;
      }
      last = (await res.json()) as SessionView;
      if (done(last)) return last;
    }
    throw new Error(`the object's session ${sessionId} never got there; last seen: ${JSON.stringify(last)}`);
  }
}

export interface Transfer {
  sessionId: string;
  assetId: string;
  originator: string;
  beneficiary: string;
  origin: { gateway: string; ledger: string };
  destination: { gateway: string; ledger: string };
}

/** Every chain of the transfers as the two gateways hold them, judged by the one invariants module. */
export async function judge(o: {
  transfers: Transfer[];
  node: { id: string; store: MemoryDriver };
  edge: { id: string; gateway: WorkerdGateway };
  keys: Record<string, PublicJwk>;
  ledgers: LedgerServer[];
}): Promise<Verdict> {
  const verify = { keys: keyTable(o.keys), verifier: defaultVerifier() };
  const nodeStore = new LogStore(surviving(o.node.store), verify);
  const chains: ChainView[] = [];
  for (const t of o.transfers)
    for (const author of [o.node.id, o.edge.id]) {
      const own = await readChain(nodeStore, o.node.id, t.sessionId, author);
      if (own) chains.push(own);
      // The object's copy, mirrored into a fresh store that verifies every entry as it goes in.
      const { entries } = await o.edge.gateway.json<{ entries: Json[] }>(`logs/${t.sessionId}/${author}`);
      if (entries.length === 0) continue;
      const mirror = new LogStore(new MemoryDriver(), verify);
      const at = logIdOf(t.sessionId, author);
      try {
        await mirror.writeLogEntries(entries);
        const c = await readChain(mirror, o.edge.id, t.sessionId, author);
        if (c) chains.push(c);
      } catch (err) {
        chains.push({ holder: o.edge.id, author, sessionId: t.sessionId, logId: at, entries: [], fault: String(err) });
      }
    }
  const ledgers = await Promise.all(o.ledgers.map((l) => memoryLedgerView(l.ledger)));
  const transfers = o.transfers.map((t) => ({ ...t, owner: t.originator }));
  return checkRun(chains, ledgers, transfers, { agreement: 'exact', closedWorld: true });
}

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
