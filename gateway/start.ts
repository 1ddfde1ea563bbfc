// The embedding API: one call that builds a running gateway from its parts (a key, a log store driver, transports,
// a ledger, a clock), with what every deployment needs around the driver: the links to the peers with their
// reconnect loop, inbound messages held until boot, the boot-time recovery (recovery-04 §5.1), and hooks for a
// logger and for metrics. Runtime-agnostic: no Node API, so the same call runs in Node, Deno, browsers and workerd.
// docs/embedding.md shows it in each runtime.
import { Gateway, type Clock, type Outbox, type ReceiveResult } from '../kernel/driver.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { keyTable, type PublicJwk, type Signer, type Verifier } from '../kernel/crypto/types.ts';
import type { Envelope } from '../kernel/satp/envelope.ts';
import type { SuccessorAuthority } from '../kernel/takeover.ts';
import type { Json } from '../kernel/json.ts';
import type { Ledger } from '../kernel/ledger.ts';
import type { LedgerProofChecker } from '../kernel/ledger-receipt.ts';
import type { LedgerCheckers } from '../kernel/satp/proofs.ts';
import type { SessionLogStore } from '../kernel/ports.ts';
import { type GatewayConfig, gatewayConfig, type Report } from '../kernel/satp/effects.ts';
import type { TransferRequest } from '../kernel/satp/payloads.ts';
import type { Outcome } from '../kernel/satp/state.ts';
import type { LogStoreDriver } from '../storage/driver.ts';
import { LogStore } from '../storage/log-store.ts';
import type { NotarizedStore } from '../storage/notarized.ts';
import type { Transport } from '../transports/types.ts';
import { realClock } from './clock.ts';
import { deliverInbound } from './deliver.ts';
import { type LinkEvents, PeerLinks } from './links.ts';
import { peek } from './peek.ts';

/** A peer gateway this one transfers with: its identity key, its ledger, and the key that ledger signs with. */
export interface PeerGateway {
  publicJwk: PublicJwk;
  /** The id of the peer's ledger (network). */
  networkId: string;
  /**
   * The key the peer's ledger signs receipts with: the peer's claims are checked against it. For a ledger that is a
   * chain, give instead a checker that reads that chain (`ledgerChecker`, ledgers/evm/check.ts).
   */
  ledgerKey?: PublicJwk;
  /** Checks the receipts and attestations of the peer's ledger on its chain (a ledger without a signing key). */
  ledgerChecker?: LedgerProofChecker;
  /** Read access to the peer's ledger: the destination asks it about the burn past the deadline. */
  ledger?: Ledger;
}

/** Where the gateway tells what it does; every method optional, so `console` fits as it is. */
export interface GatewayLogger {
  debug?(message: string, fields: Record<string, Json>): void;
  info?(message: string, fields: Record<string, Json>): void;
  warn?(message: string, fields: Record<string, Json>): void;
  error?(message: string, fields: Record<string, Json>): void;
}

/**
 * Counters, named as docs/embedding.md lists them (`satp_messages_sent_total`, `satp_sessions_ended_total`, ...),
 * each with its labels; adapt it to Prometheus, OpenTelemetry or StatsD. gateway/metrics.ts implements it all,
 * with the Prometheus text format. The optional methods add histograms and gauges; without them nothing else is
 * measured or wrapped.
 */
export interface GatewayMetrics {
  count(name: string, labels: Record<string, string>, by?: number): void;
  /**
   * One measurement for a histogram. Given, startGateway times each durable append of its own entries
   * (`satp_append_duration_seconds`) and each signature with its key (`satp_sign_duration_seconds`), in seconds.
   */
  observe?(name: string, labels: Record<string, string>, value: number): void;
  /**
   * A gauge to read whenever the metrics are collected; returns what stops reading it. Given, startGateway
   * registers `satp_sessions` (sessions by state) once it serves, and stops it at close.
   */
  collect?(name: string, read: () => Iterable<readonly [Record<string, string>, number]>): () => void;
}

/** The states `satp_sessions` counts: a session's status kind (kernel/satp/state.ts), or left for an operator. */
export const SESSION_STATES = ['running', 'rolling-back', 'disputed', 'ended', 'quarantined'] as const;

export interface StartGatewayOptions {
  /** This gateway's id, as its peers know it. */
  id: string;
  /** Its long-term signing key (recovery-04 §5.1: a recovered gateway keeps it). */
  signer: Signer;
  /**
   * Where its log lives: any LogStoreDriver (memory, LevelDB, IndexedDB, the Log Storage API, ...), which gets
   * wrapped in a LogStore that trusts this gateway's and its peers' keys; or a LogStore built by the caller
   * (then its keys are the caller's business).
   */
  store: LogStoreDriver | LogStore;
  /**
   * Its transports, in order of preference for sending (see gateway/links.ts): a WebSocket client and server,
   * an HTTP client and app, an in-memory network. One that can dial is kept dialling every peer with backoff.
   */
  transports: readonly Transport[];
  /** The ledger it operates on; its id names the gateway's network. */
  ledger: Ledger;
  /**
   * The key that ledger signs receipts with: every receipt is checked against it. A ledger that is a chain has no
   * key: give `ledgerChecker` instead, which checks each answer by reading the chain.
   */
  ledgerKey?: PublicJwk;
  ledgerChecker?: LedgerProofChecker;
  peers: Readonly<Record<string, PeerGateway>>;
  /** Default: the wall clock and setTimeout (gateway/clock.ts). A simulator or a test hands in its own. */
  clock?: Clock;
  verifier?: Verifier;
  /** Timings of the protocol (retransmit, deadline grace, burn margin, lock bounds); defaults as gatewayConfig. */
  timing?: Partial<
    Pick<GatewayConfig, 'retransmitMs' | 'deadlineGraceMs' | 'burnMarginMs' | 'minLockSeconds' | 'maxLockSeconds'>
  >;
  /** How long boot waits for the links to the peers before recovering anyway (default 1000 ms). */
  connectWaitMs?: number;
  logger?: GatewayLogger;
  metrics?: GatewayMetrics;
  /** Every report of the driver (a session ended, a refusal, a session left for an operator). */
  onReport?: (sessionId: string, report: Report) => void;
  /**
   * Wraps the outbox the gateway sends through (fault injection, tracing); the default sends through the
   * links. Called once, before boot.
   */
  wrapOutbox?: (outbox: Outbox) => Outbox;
  /**
   * Wraps the log store the driver writes and recovers through: e.g. a notary that publishes every append on a
   * chain and checks a RECOVER-UPDATE's entries against it (storage/notarized.ts). Called once, before boot. A
   * wrapped store that has `catchUpOpenLogs` (a notarized one) is asked, before boot, to publish what a crash left
   * unpublished in this gateway's open logs.
   */
  wrapStore?: (store: SessionLogStore) => SessionLogStore;
  /**
   * How many ended sessions stay in memory (default 1024); older ones are answered from their log
   * (GatewayOptions.keepEnded in kernel/driver.ts).
   */
  keepEnded?: number;
  /** Sees each inbound message as it arrives, before it waits for boot (tracing). */
  onInbound?: (from: string, message: Json) => void;
  /** Sees what the links see: a peer connected or disconnected (`peer`), a failed dial (`dial-failed`). */
  onLinkEvent?: LinkEvents;
  /**
   * Who may take a gateway's place (docs/high-availability.md): trusted for the peers' messages and for every chain
   * the store checks. Without it no backup is ever trusted.
   */
  successor?: SuccessorAuthority;
  /**
   * The key the chains of `id` start with, when this process is not the one holding it: a backup acting for `id`
   * signs with its own key (`signer`) after a takeover. Default: the signer's key.
   */
  primaryKey?: PublicJwk;
  /**
   * Act for `id` after a takeover (recovery-04 §5.1, §6.1): `certificate` is this process's certificate (base64
   * DER), sent with every message; at start the gateway takes over the open sessions of `id` in the store
   * (Gateway.takeOver), instead of booting them, at the lease `epoch` it holds.
   */
  takeover?: { certificate: string; backup: string; epoch: number };
}

export interface RunningGateway {
  readonly id: string;
  /** The driver itself (kernel/driver.ts): sessions(), session(), whenEnded(), quarantined(), ... */
  readonly gateway: Gateway;
  /** The verified log store over the driver given. */
  readonly store: LogStore;
  /** How many unfinished sessions boot found and resumed. */
  readonly recovered: number;
  /** Starts a transfer as the origin gateway; resolves once its first step is logged (or it is refused). */
  transfer(request: TransferRequest): Promise<ReceiveResult>;
  /** Resolves with the session's outcome once it ends. */
  whenEnded(sessionId: string): Promise<Outcome>;
  /** Stops the gateway: timers, links, transports, then the store. The ledger belongs to the caller. */
  close(): Promise<void>;
}

const messageType = (message: unknown): string => peek(message).type;

/**
 * Builds the gateway, connects it to its peers, recovers every session it left unfinished (recovery-04 §5.1),
 * then lets inbound messages through. Resolves once the gateway serves.
 */
export async function startGateway(o: StartGatewayOptions): Promise<RunningGateway> {
  // A ledger whose answers nothing can check would leave every transfer waiting on a proof that never verifies.
  if (!o.ledgerKey && !o.ledgerChecker) throw new TypeError(`gateway ${o.id}: give its ledger's key or checker`);
  for (const [p, c] of Object.entries(o.peers))
    if (!c.ledgerKey && !c.ledgerChecker) throw new TypeError(`peer ${p}: give its ledger's key or checker`);
  const log = o.logger ?? {};
  const count = (name: string, labels: Record<string, string> = {}, by = 1) => o.metrics?.count(name, labels, by);
  const keys = keyTable({
    [o.id]: o.primaryKey ?? o.signer.publicJwk,
    ...Object.fromEntries(Object.entries(o.peers).map(([p, c]) => [p, c.publicJwk])),
  });
  const verifier = o.verifier ?? defaultVerifier();
  const store =
    o.store instanceof LogStore
      ? o.store
      : new LogStore(o.store, { keys, verifier, ...(o.successor ? { successor: o.successor } : {}) });
  // Durations for the histograms, when the metrics take them: performance.now() is in every runtime we run on.
  const metrics = o.metrics;
  const timed = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    if (!metrics?.observe) return work();
    const t0 = performance.now();
    return work().then((v) => {
      metrics.observe?.(name, {}, (performance.now() - t0) / 1000);
      return v;
    });
  };
  const signer: Signer = metrics?.observe
    ? {
        alg: o.signer.alg,
        publicJwk: o.signer.publicJwk,
        sign: (data) => timed('satp_sign_duration_seconds', () => o.signer.sign(data)),
      }
    : o.signer;
  const wrapped: SessionLogStore = o.wrapStore ? o.wrapStore(store) : store;
  const sessionStore: SessionLogStore = metrics?.observe
    ? {
        writeLogEntries: (entries) => timed('satp_append_duration_seconds', () => wrapped.writeLogEntries(entries)),
        getHead: (logId) => wrapped.getHead(logId),
        listOpenLogs: () => wrapped.listOpenLogs(),
        verifyLog: (logId) => wrapped.verifyLog(logId),
        readPage: (logId, from, limit, maxChars) => wrapped.readPage(logId, from, limit, maxChars),
        updateLog: (logId, source) => wrapped.updateLog(logId, source),
      }
    : wrapped;
  // A dispute freezes its session (status disputed) and is reported for an operator, then again at every later
  // event of it: counted once, on the report that finds it disputed for the first time. Sessions already frozen
  // when the gateway started are not new disputes: the reports of boot are not counted, then they are noted.
  const disputed = new Set<string>();
  let booted = false;
  const links = new PeerLinks({
    transports: o.transports,
    peers: Object.keys(o.peers),
    emit: (event, fields) => {
      o.onLinkEvent?.(event, fields);
      if (event === 'peer') {
        count(fields.up ? 'satp_peer_up_total' : 'satp_peer_down_total', { peer: String(fields.peer) });
        log.info?.(fields.up ? 'peer connected' : 'peer disconnected', { gateway: o.id, ...fields });
      } else {
        count('satp_dial_failures_total', { peer: String(fields.peer) });
        log.debug?.('dial failed', { gateway: o.id, ...fields });
      }
    },
  });
  const counted: Outbox = {
    async send(to: string, envelope: Envelope) {
      const type = messageType(envelope);
      try {
        await links.send(to, envelope);
        count('satp_messages_sent_total', { peer: to, type });
      } catch (err) {
        count('satp_send_failures_total', { peer: to, type });
        throw err;
      }
    },
  };
  const gateway = new Gateway({
    config: gatewayConfig({
      id: o.id,
      publicJwk: o.signer.publicJwk,
      networkId: o.ledger.id,
      ledgerKey: o.ledgerKey,
      peers: Object.fromEntries(
        Object.entries(o.peers).map(([p, c]) => [
          p,
          { publicJwk: c.publicJwk, networkId: c.networkId, ledgerKey: c.ledgerKey },
        ]),
      ),
      ...o.timing,
    }),
    signer,
    verifier,
    keys,
    store: sessionStore,
    outbox: o.wrapOutbox ? o.wrapOutbox(counted) : counted,
    ledger: o.ledger,
    peerLedger: (peer) => (Object.hasOwn(o.peers, peer) ? o.peers[peer]?.ledger : undefined),
    ledgerCheckers: ledgerCheckersOf(o),
    clock: o.clock ?? realClock,
    ...(o.successor ? { successor: o.successor } : {}),
    ...(o.takeover ? { certificate: o.takeover.certificate } : {}),
    ...(o.keepEnded !== undefined ? { keepEnded: o.keepEnded } : {}),
    onReport: (session, report) => {
      if (report.kind === 'ended') {
        count('satp_sessions_ended_total', { outcome: report.outcome });
        log.info?.('session ended', { gateway: o.id, session, outcome: report.outcome, reason: report.reason });
      } else {
        count('satp_reports_total', { kind: report.kind });
        if (booted && gateway.session(session)?.status.kind === 'disputed' && !disputed.has(session)) {
          disputed.add(session);
          count('satp_disputes_total');
        }
        const fields = { gateway: o.id, session, ...report };
        if (report.kind === 'needs-operator') log.error?.('session needs an operator', fields);
        else log.warn?.(`session report: ${report.kind}`, fields);
      }
      o.onReport?.(session, report);
    },
  });
  // Nothing inbound reaches the driver before boot() has replayed the unfinished sessions (gateway/deliver.ts).
  const inbound = deliverInbound(gateway, o.transports, (from, message) => {
    count('satp_messages_received_total', { peer: from, type: messageType(message) });
    o.onInbound?.(from, message);
  });
  // A crash between an append and its publication leaves the notary behind the store: it catches up before the
  // gateway resumes those sessions (else each log would on its next append, and a log with none would stay behind).
  const catchUp = (wrapped as Partial<Pick<NotarizedStore, 'catchUpOpenLogs'>>).catchUpOpenLogs;
  if (typeof catchUp === 'function') {
    const caught = await catchUp.call(wrapped, o.id);
    log.info?.('notary caught up', { gateway: o.id, logs: caught.length });
  }
  links.start();
  // Recovery starts by messaging the peer (RECOVER): give the links a moment first. A peer that is down costs
  // at most this wait; the recover timer keeps resending meanwhile.
  await links.connected(o.connectWaitMs ?? 1_000);
  const recovered = o.takeover
    ? await gateway.takeOver({
        backup: o.takeover.backup,
        certificate: o.takeover.certificate,
        epoch: o.takeover.epoch,
      })
    : await gateway.boot();
  for (const s of gateway.sessions()) if (s.status.kind === 'disputed') disputed.add(s.sessionId);
  booted = true;
  inbound.open();
  count('satp_sessions_recovered_total', {}, recovered);
  count('satp_disputes_total', {}, 0);
  const stopGauge = metrics?.collect?.('satp_sessions', () => {
    const by = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<string, number>;
    for (const s of gateway.sessions()) by[s.status.kind] = (by[s.status.kind] ?? 0) + 1;
    by.quarantined = gateway.quarantined().size;
    return Object.entries(by).map(([state, n]) => [{ state }, n] as const);
  });
  log.info?.('gateway booted', { gateway: o.id, recovered, network: o.ledger.id });

  let closing: Promise<void> | undefined;
  return {
    id: o.id,
    gateway,
    store,
    recovered,
    transfer: (request) => gateway.startTransfer(request),
    whenEnded: (sessionId) => gateway.whenEnded(sessionId),
    close: () =>
      (closing ??= (async () => {
        stopGauge?.();
        gateway.close();
        links.close();
        await Promise.allSettled(o.transports.map((t) => t.close()));
        await store.close().catch(() => undefined);
      })()),
  };
}

/** The checkers of the ledgers that are chains, by network id: this gateway's own and its peers'. */
function ledgerCheckersOf(o: Pick<StartGatewayOptions, 'ledger' | 'ledgerChecker' | 'peers'>): LedgerCheckers {
  const checkers: Record<string, LedgerProofChecker> = {};
  if (o.ledgerChecker) checkers[o.ledger.id] = o.ledgerChecker;
  for (const p of Object.values(o.peers)) if (p.ledgerChecker) checkers[p.networkId] = p.ledgerChecker;
  return checkers;
}
