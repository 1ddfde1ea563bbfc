// Two gateways in this process over a real WebSocket on loopback (destination serves, origin dials), each with
// its own log store (LevelDB in a temp dir, or memory) and in-memory ledger; every seam is counted.
import { join } from 'node:path';
import { type Clock, Gateway, type GatewayOptions } from '../../kernel/driver.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';
import type { Json } from '../../kernel/json.ts';
import type { Ledger } from '../../kernel/ledger.ts';
import type { Signer } from '../../kernel/crypto/types.ts';
import { gatewayConfig, type GatewayConfig, type Report, type TransferRequest } from '../../kernel/satp/index.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { createNodeWsClient, type WsClientTransport } from '../../transports/ws/node/client.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import type { Transport } from '../../transports/types.ts';
import {
  benchPeers,
  type Counts,
  countingSigner,
  countingVerifier,
  DESTINATION_ID,
  type Identities,
  ORIGIN_ID,
} from './identities.ts';
import { BenchFailure, check } from './report.ts';

export type StoreKind = 'level' | 'memory' | 'postgres';

/** Where `postgres` stores live: set by the part that started a cluster (bench/ha.ts). */
let postgresUrl: string | undefined;
let schemas = 0;
export function usePostgres(url: string | undefined): void {
  postgresUrl = url;
}

/** Real time: the gateways run on the wall clock, as deployed. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (at, fire) => setTimeout(fire, Math.max(0, at - Date.now())),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A driver that counts appends (each one synced batch on LevelDB: one fsync) and the entries they carry. */
export class CountingDriver implements LogStoreDriver {
  constructor(
    readonly inner: LogStoreDriver,
    readonly counts: Counts,
  ) {}
  get name() {
    return this.inner.name;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  head(logId: string) {
    return this.inner.head(logId);
  }
  append(
    logId: string,
    expected: Parameters<LogStoreDriver['append']>[1],
    texts: readonly string[],
    next: Parameters<LogStoreDriver['append']>[3],
  ) {
    this.counts.appends++;
    this.counts.entries += texts.length;
    for (const t of texts) this.counts.entryChars += t.length;
    return this.inner.append(logId, expected, texts, next);
  }
  read(logId: string, from: number, to: number) {
    return this.inner.read(logId, from, to);
  }
  openLogs() {
    return this.inner.openLogs();
  }
  close() {
    return this.inner.close();
  }
}

export async function openStore(
  kind: StoreKind,
  dir: string,
  who: string,
  id: Identities,
  counts: Counts,
): Promise<LogStore> {
  const driver =
    kind === 'level'
      ? await LevelDriver.open(join(dir, who))
      : kind === 'postgres'
        ? await PostgresDriver.open(postgresUrl ?? '', { schema: `bench_${who.replace(/\W/g, '_')}_${++schemas}` })
        : new MemoryDriver();
  return new LogStore(new CountingDriver(driver, counts), {
    keys: id.keys,
    verifier: countingVerifier(id.verifier, counts),
  });
}

export interface Side {
  id: string;
  gw: Gateway;
  store: LogStore;
  ledger: Ledger;
  transport: Transport;
  /** Messages this gateway handed to its transport. */
  sent: number;
  /** Stops feeding the transport's messages to this gateway. */
  detach: () => void;
}

/** What went wrong that the gateways reported instead of throwing: the run fails on any of these. */
export class Trouble {
  readonly seen: string[] = [];
  add(what: string): void {
    if (this.seen.length < 20) this.seen.push(what);
  }
  check(where: string): void {
    if (this.seen.length > 0) throw new BenchFailure(`${where}: ${this.seen.slice(0, 5).join(' | ')}`);
  }
}

export interface GatewayParts {
  id: string;
  signer: Signer;
  store: LogStore;
  ledger: Ledger;
  peerLedger?: Ledger;
  transport: Transport;
  ids: Identities;
  counts: Counts;
  trouble: Trouble;
  config?: Partial<GatewayConfig>;
  /** More of the driver's options: a backup's certificate, a successor authority. */
  gateway?: Partial<Pick<GatewayOptions, 'certificate' | 'successor' | 'keepEnded'>>;
  /** Sees every inbound message after the gateway processed it (the recovery scenario times RECOVER-SUCCESS). */
  afterReceive?: (message: Json) => void;
  /** Return false to drop an inbound message unseen: a gateway that crashed before it could read it. */
  deliver?: (message: Json) => boolean;
  /** Sees every outbound envelope. */
  onSend?: (message: Json) => void;
}

/** A Gateway wired to its transport: outbound through the outbox, inbound straight into receive(). */
export function wireGateway(p: GatewayParts): Side {
  const networkId = p.id === ORIGIN_ID ? 'ledger-a' : 'ledger-b';
  const peers = benchPeers(p.ids);
  const ledgerKey = p.id === ORIGIN_ID ? p.ids.ledgerA.publicJwk : p.ids.ledgerB.publicJwk;
  // Retransmits are for lost messages; on loopback none is lost, and a resend under load would only add work.
  const config = gatewayConfig({
    id: p.id,
    publicJwk: p.signer.publicJwk,
    networkId,
    ledgerKey,
    peers,
    retransmitMs: 120_000,
    ...p.config,
  });
  const side = { id: p.id, store: p.store, ledger: p.ledger, transport: p.transport, sent: 0 } as Side;
  side.gw = new Gateway({
    config,
    signer: countingSigner(p.signer, p.counts),
    verifier: countingVerifier(p.ids.verifier, p.counts),
    keys: p.ids.keys,
    store: p.store,
    ledger: p.ledger,
    ...(p.peerLedger ? { peerLedger: () => p.peerLedger } : {}),
    clock: realClock,
    ...p.gateway,
    outbox: {
      send: (to, env) => {
        side.sent++;
        p.onSend?.(env as unknown as Json);
        return p.transport.send(to, env as unknown as Json);
      },
    },
    onReport: (sessionId: string, r: Report) => {
      if (r.kind === 'needs-operator' || r.kind === 'refused')
        p.trouble.add(`${p.id} ${sessionId}: ${r.kind}: ${r.detail}`);
    },
  });
  side.detach = p.transport.onMessage((from, message) => {
    if (p.deliver && !p.deliver(message)) return;
    void side.gw.receive(from, message).then((r) => {
      if (!r.accepted) p.trouble.add(`${p.id} refused a message from ${from}: ${r.code} ${r.detail}`);
      p.afterReceive?.(message);
    });
  });
  return side;
}

export const TRANSPORT_OPTIONS = {
  heartbeatMs: 3_600_000,
  // A burst of 256 sessions' messages arrives in one read; the default of 64 waiting messages would close the
  // socket (1008).
  maxInflight: 1_000_000,
  maxBufferedBytes: 256 * 1024 * 1024,
};

export async function serveDestination(
  id: Identities,
  trouble: Trouble,
  extra: { successor?: SuccessorAuthority } = {},
): Promise<WsServerTransport> {
  return WsServerTransport.listen({
    ...extra,
    self: DESTINATION_ID,
    signer: id.destination,
    keys: id.keys,
    ...TRANSPORT_OPTIONS,
    onError: (err, c) => trouble.add(`server ${c.what}: ${String(err)}`),
  });
}

export async function dialOrigin(
  id: Identities,
  url: string,
  trouble: Trouble,
  as: { signer?: Signer; certificate?: string } = {},
): Promise<WsClientTransport> {
  const client = createNodeWsClient({
    ...(as.certificate ? { certificate: as.certificate } : {}),
    self: ORIGIN_ID,
    signer: as.signer ?? id.origin,
    keys: id.keys,
    peers: { [DESTINATION_ID]: url },
    ...TRANSPORT_OPTIONS,
    onError: (err, c) => trouble.add(`client ${c.what}: ${String(err)}`),
  });
  await client.connect(DESTINATION_ID);
  return client;
}

export const ledgers = (id: Identities, counts: Counts, assets: number) => ({
  a: new MemoryLedger({
    id: 'ledger-a',
    signer: countingSigner(id.ledgerA, counts),
    now: Date.now,
    assets: Array.from({ length: assets }, (_, i) => ({ assetId: `asset-${i}`, owner: 'alice' })),
  }),
  b: new MemoryLedger({ id: 'ledger-b', signer: countingSigner(id.ledgerB, counts), now: Date.now }),
});

export const transferRequest = (sessionId: string, assetId: string): TransferRequest => ({
  sessionId,
  contextId: `ctx-${sessionId}`,
  peer: DESTINATION_ID,
  assetId,
  assetProfileId: 'bench-profile',
  originator: 'alice',
  beneficiary: 'bob',
  lockSeconds: 300,
});

/** Runs one transfer from `origin` to `destination`: it must start, and commit on both sides within 120 s. */
export async function commitTransfer(origin: Side, destination: Side, sid: string, assetId: string): Promise<void> {
  const ended = Promise.all([origin.gw.whenEnded(sid), destination.gw.whenEnded(sid)]);
  const started = await origin.gw.startTransfer(transferRequest(sid, assetId));
  check(started.accepted, `transfer ${sid} started: ${JSON.stringify(started)}`);
  const outcomes = await within(120_000, `transfer ${sid}`, ended);
  check(
    outcomes[0] === 'committed' && outcomes[1] === 'committed',
    `transfer ${sid} committed on both sides: ${outcomes.join(', ')}`,
  );
}

/** Resolves with `work`, or fails the run after `ms` (a transfer that never completes must not hang the bench). */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new BenchFailure(`${what}: not done after ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
