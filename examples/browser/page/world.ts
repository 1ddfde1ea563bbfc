// What one page load runs, per mode: the in-page ledgers (outside every gateway, so a crash loses none of them),
// the keys, and a GatewayHost per page gateway on its own IndexedDB database, with the transports of the mode:
//   direct  gw-a ↔ gw-b over an in-page MemoryNetwork
//   relay   gw-a ↔ gw-b over the demo server's WebSocket relay (relay-transport.ts)
//   node    gw-page-<run> dials the demo server's Node gateway (node-world.ts); ledger-b lives in the server
// Every transport passes through the wire (wire.ts: slow motion and pause).
import { generateWebCryptoSigner } from '../../../kernel/crypto/webcrypto.ts';
import type { PublicJwk, Signer } from '../../../kernel/crypto/types.ts';
import type { LogEntry } from '../../../kernel/entry.ts';
import type { AssetRecord, Ledger } from '../../../kernel/ledger.ts';
import type { PeerGateway } from '../../../gateway/start.ts';
import type { LedgerJournalEntry } from '../../../ledgers/ledger-engine.ts';
import { MemoryLedger } from '../../../ledgers/memory-ledger.ts';
import { IndexedDbDriver } from '../../../storage/indexeddb.ts';
import { MemoryNetwork } from '../../../transports/memory/network.ts';
import type { Transport } from '../../../transports/types.ts';
import { GatewayHost } from '../host.ts';
import { observeDriver } from '../observe.ts';
import { DEMO_TIMING } from '../timing.ts';
import { RelayTransport } from './relay-transport.ts';
import type { Ui } from './ui.ts';
import { slowed, type Wire } from './wire.ts';

export type Mode = 'direct' | 'relay' | 'node';
export const MODES: readonly Mode[] = ['direct', 'relay', 'node'];

/** One op a ledger recorded: how often it changed an asset (never more than once) and how often it was asked. */
export interface JournalLine {
  opId: string;
  kind: string;
  ok: boolean;
  applied: number;
  requested: number;
}

export interface WorldLedger {
  id: string;
  assets(): Promise<AssetRecord[]>;
  journal(): Promise<JournalLine[]>;
}

/** A gateway of the page: its host and the database its incarnations boot from. */
export interface PageGateway {
  id: string;
  peer: string;
  database: string;
  host: GatewayHost;
}

export interface World {
  mode: Mode;
  run: string;
  origin: PageGateway;
  /** The page's gateways, the origin first. */
  page: PageGateway[];
  /** Every gateway id, the origin first (the Node gateway included in node mode). */
  gateways: string[];
  destination: string;
  keys: Record<string, PublicJwk>;
  ledgers: WorldLedger[];
  /** ledger-a's assets, owned by alice, one per transfer. */
  assets: string[];
  /** node mode: the Node gateway's raw chains of a session (its own, and its copy of the page gateway's). */
  nodeChains?: (session: string) => Promise<{ own: unknown[]; copy: unknown[] }>;
}

/** What every mode shares: the run, ledger-a with its assets, the origin's key, and how a page gateway is made. */
export interface Origin {
  run: string;
  assets: string[];
  signer: Signer;
  ledger: MemoryLedger;
  pageGateway(o: PageGatewayOptions): PageGateway;
}

export interface PageGatewayOptions {
  id: string;
  peer: string;
  signer: Signer;
  ledger: Ledger;
  ledgerKey: PublicJwk;
  peers: Record<string, PeerGateway>;
  /** A fresh raw transport for each incarnation. */
  transport: () => Transport;
}

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

const keys = () => generateWebCryptoSigner().then((k) => k.signer);

export async function json<T>(response: Promise<Response>): Promise<T> {
  const r = await response;
  if (!r.ok) throw new Error(`${r.url}: ${r.status} ${await r.text()}`);
  return (r.status === 204 ? undefined : await r.json()) as T;
}

/** The lines of a ledger journal (ledgers/ledger-engine.ts), as the page shows and checks them. */
export const journalLines = (ops: readonly LedgerJournalEntry[]): JournalLine[] =>
  ops.map((o) => ({ opId: o.op.opId, kind: o.op.kind, ok: o.receipt.ok, applied: o.applied, requested: o.requested }));

export const memoryLedger = (l: MemoryLedger): WorldLedger => ({
  id: l.id,
  assets: async () => l.snapshot(),
  journal: async () => journalLines(l.ops()),
});

/** What every mode starts from: a run id, ledger-a with its assets, the origin's key, the gateway factory. */
export async function buildOrigin(wire: Wire, ui: Ui): Promise<Origin> {
  const run = hex(4);
  const assets = [1, 2, 3].map((n) => `asset-${run}-${n}`);
  const [signerA, ledgerKeysA] = await Promise.all([keys(), keys()]);
  const ledgerA = new MemoryLedger({
    id: 'ledger-a',
    signer: ledgerKeysA,
    now: Date.now,
    assets: assets.map((assetId) => ({ assetId, owner: 'alice' })),
  });
  const host = (o: PageGatewayOptions): PageGateway => {
    // One database per gateway and page load; the time in its name lets a later page load delete it (main.ts).
    const database = `satp-demo-${Date.now()}-${run}-${o.id}`;
    const durable = (entries: LogEntry[]) => {
      ui.entries(o.id, entries);
      for (const e of entries) if (e.author === o.id) wire.stepLogged(e.step);
    };
    const gatewayHost = new GatewayHost({
      id: o.id,
      signer: o.signer,
      ledger: o.ledger,
      ledgerKey: o.ledgerKey,
      peers: () => o.peers,
      timing: DEMO_TIMING,
      open: async () => ({
        store: observeDriver(await IndexedDbDriver.open(database), durable),
        transports: [slowed(o.transport(), wire)],
      }),
      onLife: (e) =>
        e.kind === 'booted'
          ? ui.life(o.id, 'up', e.incarnation, e.recovered)
          : ui.life(o.id, e.kind, e.incarnation, 0, e.kind === 'crashed' ? e.why : ''),
    });
    return { id: o.id, peer: o.peer, database, host: gatewayHost };
  };

  return { run, assets, signer: signerA, ledger: ledgerA, pageGateway: host };
}

/** The direct and relay modes: both gateways in the page. */
export async function inPageWorld(o: Origin, mode: 'direct' | 'relay'): Promise<World> {
  const { run, assets, signer: signerA, ledger: ledgerA, pageGateway: host } = o;
  const [signerB, ledgerKeysB] = await Promise.all([keys(), keys()]);
  const ledgerB = new MemoryLedger({ id: 'ledger-b', signer: ledgerKeysB, now: Date.now });
  const network = new MemoryNetwork();
  const relayUrl = `ws://${location.host}/relay`;
  const transport = (id: string) => () =>
    mode === 'relay' ? new RelayTransport({ url: relayUrl, room: run, self: id }) : network.transport(id);
  const a = host({
    id: 'gw-a',
    peer: 'gw-b',
    signer: signerA,
    ledger: ledgerA,
    ledgerKey: ledgerA.publicJwk,
    peers: { 'gw-b': { publicJwk: signerB.publicJwk, networkId: ledgerB.id, ledgerKey: ledgerB.publicJwk } },
    transport: transport('gw-a'),
  });
  const b = host({
    id: 'gw-b',
    peer: 'gw-a',
    signer: signerB,
    ledger: ledgerB,
    ledgerKey: ledgerB.publicJwk,
    // The destination reads the origin ledger: past the deadline it asks it whether the burn happened.
    peers: {
      'gw-a': { publicJwk: signerA.publicJwk, networkId: ledgerA.id, ledgerKey: ledgerA.publicJwk, ledger: ledgerA },
    },
    transport: transport('gw-b'),
  });
  return {
    mode,
    run,
    origin: a,
    page: [a, b],
    gateways: ['gw-a', 'gw-b'],
    destination: 'gw-b',
    keys: { 'gw-a': signerA.publicJwk, 'gw-b': signerB.publicJwk },
    ledgers: [memoryLedger(ledgerA), memoryLedger(ledgerB)],
    assets,
  };
}
