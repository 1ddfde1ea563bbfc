// What one page load runs, per mode: the in-page ledgers (outside every gateway, so a crash loses none of them),
// the keys, and a GatewayHost per page gateway on its own IndexedDB database, with the transports of the mode:
//   direct  gw-a ↔ gw-b over an in-page MemoryNetwork
//   relay   gw-a ↔ gw-b over the demo server's WebSocket relay (relay-transport.ts)
//   node    gw-page-<run> dials the demo server's Node gateway (createWsClient); ledger-b lives in the server
// Every transport passes through the wire (wire.ts: slow motion and pause).
import { generateWebCryptoSigner } from '../../../kernel/crypto/webcrypto.ts';
import type { PublicJwk, Signer } from '../../../kernel/crypto/types.ts';
import type { LogEntry } from '../../../kernel/entry.ts';
import type { AssetRecord, Ledger } from '../../../kernel/ledger.ts';
import { keyTable } from '../../../kernel/crypto/types.ts';
import type { PeerGateway } from '../../../gateway/start.ts';
import { HttpLedger } from '../../../ledgers/http-ledger.ts';
import type { LedgerJournalEntry } from '../../../ledgers/ledger-engine.ts';
import { MemoryLedger } from '../../../ledgers/memory-ledger.ts';
import { IndexedDbDriver } from '../../../storage/indexeddb.ts';
import { MemoryNetwork } from '../../../transports/memory/network.ts';
import type { Transport } from '../../../transports/types.ts';
import { createWsClient } from '../../../transports/ws/web/client.ts';
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

interface NodeInfo {
  gatewayId: string;
  publicJwk: PublicJwk;
  ledgerId: string;
  ledgerKey: PublicJwk;
  wsPath: string;
  ledgerPath: string;
}

const hex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

const keys = () => generateWebCryptoSigner().then((k) => k.signer);

async function json<T>(response: Promise<Response>): Promise<T> {
  const r = await response;
  if (!r.ok) throw new Error(`${r.url}: ${r.status} ${await r.text()}`);
  return (r.status === 204 ? undefined : await r.json()) as T;
}

/** The lines of a ledger journal (ledgers/ledger-engine.ts), as the page shows and checks them. */
export const journalLines = (ops: readonly LedgerJournalEntry[]): JournalLine[] =>
  ops.map((o) => ({ opId: o.op.opId, kind: o.op.kind, ok: o.receipt.ok, applied: o.applied, requested: o.requested }));

const memoryLedger = (l: MemoryLedger): WorldLedger => ({
  id: l.id,
  assets: async () => l.snapshot(),
  journal: async () => journalLines(l.ops()),
});

export async function buildWorld(mode: Mode, wire: Wire, ui: Ui): Promise<World> {
  const run = hex(4);
  const assets = [1, 2, 3].map((n) => `asset-${run}-${n}`);
  const [signerA, ledgerKeysA] = await Promise.all([keys(), keys()]);
  const ledgerA = new MemoryLedger({
    id: 'ledger-a',
    signer: ledgerKeysA,
    now: Date.now,
    assets: assets.map((assetId) => ({ assetId, owner: 'alice' })),
  });
  const host = (o: {
    id: string;
    peer: string;
    signer: Signer;
    ledger: Ledger;
    ledgerKey: PublicJwk;
    peers: Record<string, PeerGateway>;
    transport: () => Transport;
  }): PageGateway => {
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

  if (mode === 'node') {
    const info = await json<NodeInfo>(fetch('/api/node'));
    const id = `gw-page-${run}`;
    // Demo only: the page tells the server its gateway's key, and its ledger's, before it dials.
    await json(
      fetch('/api/node/peers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, publicJwk: signerA.publicJwk, networkId: ledgerA.id, ledgerKey: ledgerA.publicJwk }),
      }),
    );
    const ledgerB = new HttpLedger({ url: `${location.origin}${info.ledgerPath}`, id: info.ledgerId });
    const wsUrl = `ws://${location.host}${info.wsPath}`;
    const origin = host({
      id,
      peer: info.gatewayId,
      signer: signerA,
      ledger: ledgerA,
      ledgerKey: ledgerA.publicJwk,
      peers: {
        [info.gatewayId]: { publicJwk: info.publicJwk, networkId: info.ledgerId, ledgerKey: info.ledgerKey },
      },
      transport: () =>
        createWsClient({
          self: id,
          signer: signerA,
          keys: keyTable({ [info.gatewayId]: info.publicJwk }),
          peers: { [info.gatewayId]: wsUrl },
        }),
    });
    return {
      mode,
      run,
      origin,
      page: [origin],
      gateways: [id, info.gatewayId],
      destination: info.gatewayId,
      keys: { [id]: signerA.publicJwk, [info.gatewayId]: info.publicJwk },
      ledgers: [
        memoryLedger(ledgerA),
        {
          id: ledgerB.id,
          assets: () => ledgerB.listAssets(),
          journal: async () =>
            journalLines((await json<{ ops: LedgerJournalEntry[] }>(fetch('/api/node/journal'))).ops),
        },
      ],
      assets,
      nodeChains: (session) => json(fetch(`/api/node/chains/${session}?peer=${id}`)),
    };
  }

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
