// The gateway process, runtime-agnostic: wires the driver (kernel/driver.ts) to LevelDB, two ledger servers
// over HTTP, WebSocket links to its peers and the real clock, boots (recovery-04 §5.1), then serves stdin
// commands. The runtime entries (gateway.ts on Node, gateway.deno.ts on Deno) hand in what differs. The
// wiring itself is library code in gateway/: the key file, the links, the clock and the inbound glue.
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { keyTable, type KeyResolver, type PublicJwk, type Signer, type Verifier } from '../kernel/crypto/types.ts';
import type { Ledger } from '../kernel/ledger.ts';
import type { LedgerProofChecker } from '../kernel/ledger-receipt.ts';
import { HttpLedger } from '../ledgers/http-ledger.ts';
import { isEvmLedgerUrl, parseEvmLedgerUrl } from '../ledgers/evm/spec.ts';
import { LevelDriver } from '../storage/level.ts';
import type { LogStoreDriver } from '../storage/driver.ts';
import type { SuccessorAuthority } from '../kernel/takeover.ts';
import { holdLease, type Lease } from '../gateway/ha.ts';
import { realClock } from '../gateway/clock.ts';
import { createGatewayMetrics, withLabels } from '../gateway/metrics.ts';
import { metricsHandler } from '../http/metrics.ts';
import { backoffDelay } from '../transports/backoff.ts';
import type { Transport, TransportErrorHandler } from '../transports/types.ts';
import { loadOrCreateKey, type SignerFromJwk } from '../gateway/keys.ts';
import { type RunningGateway, startGateway } from '../gateway/start.ts';
import type { LogStore } from '../storage/log-store.ts';
import { type GatewayCliConfig, parseGatewayArgs, USAGE } from './gateway-cli.ts';
import type { SessionLogStore } from '../kernel/ports.ts';
import { handleCommand } from './gateway-control.ts';
import { emitter, peek } from './gateway-events.ts';
import { ObservedLedger, ObservedLogStore, observedOutbox } from './gateway-observe.ts';
import { Closer } from './shutdown.ts';

/** A shutdown still closing after this long names on stderr what it waits for. */
const SHUTDOWN_SLOW_MS = 3_000;
/**
 * A shutdown still closing after this long exits anyway: every acknowledged append is durable already, so a close
 * that never finishes must not keep the process alive (the parent's grace is longer: examples/gateway-child.ts).
 */
const SHUTDOWN_BOUND_MS = 10_000;

/** What differs between Node and Deno: the WebSocket server and client, stdin, signals and exiting. */
export interface GatewayRuntime {
  name: 'node' | 'deno';
  pid: number;
  listen(options: {
    self: string;
    signer: Signer;
    keys: KeyResolver;
    host: string;
    port: number;
    onError: TransportErrorHandler;
    /** Serve wss:// with this certificate and key (PEM). */
    tls?: { cert: string; key: string };
    /** A backup's certificate (base64 DER), shown in its handshakes; who may be a peer's backup. */
    certificate?: string;
    successor?: SuccessorAuthority;
  }): Promise<{ transport: Transport; url: string }>;
  dialer(options: {
    self: string;
    signer: Signer;
    keys: KeyResolver;
    verifier: Verifier;
    peers: (peer: string) => string | undefined;
    connectTimeoutMs: number;
    onError: TransportErrorHandler;
    /** Trust peers' wss:// certificates that chain to this root (PEM). */
    tls?: { ca: string };
    certificate?: string;
    successor?: SuccessorAuthority;
  }): Transport & {
    connect(peer: string): Promise<void>;
  };
  /** Serves plain HTTP on host:port (the metrics endpoint); close() stops it. */
  serve(
    handler: (req: Request) => Response | Promise<Response>,
    host: string,
    port: number,
  ): Promise<{ url: string; close(): Promise<void> }>;
  stdinLines(): AsyncIterable<string>;
  onSignal(handler: () => void): void;
  /** SIGKILL this very process (fault injection); never returns. */
  killSelf(): never;
  exit(code: number): never;
  /** The runtime's own signature verifier, where it is cheaper than the default (WebCrypto, noble for ES256K). */
  verifier?: Verifier;
  /** The runtime's own signer of the gateway's key, where it is cheaper than the default (WebCrypto). */
  signerFromJwk?: SignerFromJwk;
}

/** The gateway's own ledger, waiting (bounded) for its server to answer /health: it names the network. */
async function connectLedger(url: string): Promise<HttpLedger> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await HttpLedger.connect(url, { timeoutMs: 5_000 });
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { base: 50, cap: 1_000 }, Math.random)));
    }
  }
}

/** The wrapper of a store that notarizes it on an EVM chain; viem and the notary load only when asked for. */
async function notarizing(n: NonNullable<GatewayCliConfig['notary']>) {
  const [{ EvmNotary }, { notarizedStore }] = await Promise.all([
    import('../ledgers/evm/notary.ts'),
    import('../storage/notarized.ts'),
  ]);
  const notary = await EvmNotary.connect({ endpoint: n.endpoint, contract: n.contract, privateKey: n.key });
  return (store: SessionLogStore): SessionLogStore => notarizedStore(store, notary, { mode: n.mode });
}

export async function runGatewayProcess(runtime: GatewayRuntime, args: string[]): Promise<void> {
  let cli: ReturnType<typeof parseGatewayArgs>;
  try {
    cli = parseGatewayArgs(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return runtime.exit(2);
  }
  if (cli === 'help') {
    console.log(USAGE);
    return runtime.exit(0);
  }
  const { id } = cli;
  const emit = emitter(id);
  const crash = (where: string): never => {
    emit('crash', { where, signal: 'SIGKILL' });
    return runtime.killSelf();
  };

  const signer = await loadOrCreateKey(cli.keys, runtime.signerFromJwk);
  const verifier = runtime.verifier ?? defaultVerifier();
  // The optional parts load only when the command line asks for them: X.509 (--trust), PostgreSQL (--pg), EVM
  // chains (an evm+ ledger, --notary). Each is a large library (viem alone costs about 0.6 s of CPU to load here),
  // and every start pays for what it loads: a restarted gateway's recovery waits for its boot.
  const successor = cli.trust ? (await import('../identity/x509.ts')).successorAuthority(cli.trust) : undefined;
  // The log: LevelDB, or a PostgreSQL shared with the other holders of --id (docs/high-availability.md).
  const pg = cli.pg
    ? await (await import('../storage/postgres.ts')).PostgresDriver.open(cli.pg.url, { schema: cli.pg.schema })
    : undefined;
  const lockless: LogStoreDriver = pg ?? (await LevelDriver.open(cli.db));
  // The own ledger: a ledger server (checked by its key), or an EVM chain (checked on the chain: ledgers/evm).
  const ownChain = isEvmLedgerUrl(cli.ledger) ? parseEvmLedgerUrl(cli.ledger) : undefined;
  const onChains =
    ownChain !== undefined ||
    Object.values(cli.peerLedgers).some(isEvmLedgerUrl) ||
    Object.values(cli.peers).some((c) => c.ledgerChain);
  const evm = onChains
    ? { ...(await import('../ledgers/evm/ledger.ts')), ...(await import('../ledgers/evm/check.ts')) }
    : undefined;
  const own: Ledger = ownChain
    ? new evm!.EvmLedger({ ...ownChain, privateKey: cli.evmKey! })
    : await connectLedger(cli.ledger);
  const ownChecker = ownChain && evm!.evmChecker(ownChain);
  const peerLedgers: Record<string, Ledger> = {};
  for (const [peer, url] of Object.entries(cli.peerLedgers))
    peerLedgers[peer] = isEvmLedgerUrl(url)
      ? new evm!.EvmLedger(parseEvmLedgerUrl(url))
      : new HttpLedger({ url, id: cli.peers[peer]!.networkId, timeoutMs: 5_000 });
  // --notary: every append of the gateway's logs is published on a chain before its effects run, and the entries a
  // peer's RECOVER-UPDATE brings are checked against the chain (storage/notarized.ts, docs/decentralized-log.md).
  const notarize = cli.notary && (await notarizing(cli.notary));
  const peerCheckers: Record<string, LedgerProofChecker> = {};
  for (const [peer, c] of Object.entries(cli.peers))
    if (c.ledgerChain) peerCheckers[peer] = evm!.evmChecker(parseEvmLedgerUrl(c.ledgerChain));
  // Peer id → URL, shared by every gateway this process acts for (peer-url updates them all).
  // --metrics-port: one registry for the process, each gateway it acts for under its own `gateway` label.
  const registry = cli.metricsPort === undefined ? undefined : createGatewayMetrics();
  const metricsServer = registry && (await runtime.serve(metricsHandler(registry), cli.host, cli.metricsPort!));
  if (metricsServer) emit('metrics', { url: `${metricsServer.url}/metrics` });
  const urls: Record<string, string> = Object.fromEntries(Object.entries(cli.peers).map(([p, c]) => [p, c.url]));

  /**
   * A gateway this process may act for: its own (--id) and, with --standby-for, the organization's others. Its
   * chains start with `primaryKey`; with a key other than this process's, it acts as a backup (recovery-04 §6.1),
   * showing `certificate` in its handshakes and messages.
   */
  interface Role {
    id: string;
    primaryKey: PublicJwk;
    certificate?: string;
  }
  const sameKey = (a: PublicJwk, b: PublicJwk) => a.crv === b.crv && a.x === b.x && a.y === b.y;
  const roles: Role[] = [
    { id, primaryKey: cli.primaryKey ?? signer.publicJwk, ...(cli.certificate && { certificate: cli.certificate }) },
    ...Object.entries(cli.standbyFor ?? {}).map(([gw, s]) => ({
      id: gw,
      primaryKey: s.primaryKey,
      certificate: s.certificate,
    })),
  ];
  const keysOf = (role: Role) =>
    keyTable({
      [role.id]: role.primaryKey,
      ...Object.fromEntries(Object.entries(cli.peers).map(([p, c]) => [p, c.publicJwk])),
    });
  /** The certificate a role shows: only a backup's (a primary speaks with the key its peers know). */
  const shown = (role: Role) =>
    role.certificate && !sameKey(role.primaryKey, signer.publicJwk) ? { certificate: role.certificate } : {};
  const errorsOf =
    (gw: string): TransportErrorHandler =>
    (error, context) =>
      // Transport trouble that reaches no one (a peer dropping mid-frame, a refused handshake) goes to stderr.
      console.error(JSON.stringify({ gw, what: context.what, peer: context.peer, error: String(error) }));
  /** The WebSocket server of a role, on --port for the own gateway and on a port chosen at run time for others. */
  const listenFor = async (role: Role) => {
    const listener = await runtime.listen({
      self: role.id,
      signer,
      keys: keysOf(role),
      host: cli.host,
      port: role.id === id ? cli.port : 0,
      onError: errorsOf(role.id),
      ...(cli.tls ? { tls: cli.tls } : {}),
      ...shown(role),
      ...(successor ? { successor } : {}),
    });
    emitter(role.id)('listening', {
      url: listener.url,
      runtime: runtime.name,
      pid: runtime.pid,
      network: own.id,
      publicJwk: { ...signer.publicJwk },
    });
    return listener;
  };

  /** The gateways this process acts for now, by id, and the stores they write through. */
  const acting = new Map<string, { running: RunningGateway; store: ObservedLogStore }>();
  /** Servers listening for a role not acting yet (the own one listens from the start). */
  const idle = new Map<string, Transport>();
  /** The closes of the shutdown, by name (a gateway, its client, its listener, its store): cli/shutdown.ts. */
  const closer = new Closer();
  let stopping: Promise<never> | undefined;
  const shutdown = (): Promise<never> =>
    (stopping ??= (async () => {
      emit('stopping', {});
      const started = Date.now();
      const report = (what: string, closing: string[]) =>
        console.error(JSON.stringify({ gw: id, what, closing, ms: Date.now() - started }));
      const { inTime, unclosed } = await closer.within(
        async () => {
          await Promise.all([...acting].map(([gw, a]) => closer.run(`gateway ${gw}`, () => a.running.close())));
          await Promise.all([...idle].map(([gw, t]) => closer.run(`listener ${gw}`, () => t.close())));
          if (metricsServer) await closer.run('metrics server', () => metricsServer.close());
          await closer.run('log driver', () => lockless.close());
        },
        { slowMs: SHUTDOWN_SLOW_MS, boundMs: SHUTDOWN_BOUND_MS, onSlow: (r) => report('shutdown slow', r) },
      );
      if (!inTime) report('shutdown bounded: exiting while these still close', unclosed);
      emit('stopped', inTime ? {} : { unclosed });
      return runtime.exit(0);
    })());
  runtime.onSignal(() => void shutdown());

  /** Acts for a role: its store (at the lease's epoch, if any), links, and boot or takeover of its sessions. */
  const actFor = async (role: Role, server: Transport, lease?: Lease): Promise<RunningGateway> => {
    const say = emitter(role.id);
    const keys = keysOf(role);
    const onError = errorsOf(role.id);
    closer.watch(`listener ${role.id}`, server);
    const client = runtime.dialer({
      self: role.id,
      signer,
      keys,
      verifier,
      peers: (p) => urls[p],
      connectTimeoutMs: 3_000,
      onError,
      ...(cli.tlsCa ? { tls: { ca: cli.tlsCa } } : {}),
      ...shown(role),
      ...(successor ? { successor } : {}),
    });
    closer.watch(`client ${role.id}`, client);
    const store = new ObservedLogStore(pg && lease ? pg.withEpoch(lease.epoch) : lockless, {
      keys,
      verifier,
      ...(successor ? { successor } : {}),
      self: role.id,
      emit: say,
      crashAt: cli.crashAfter,
      crash,
    });
    closer.watch(`store ${role.id}`, store);
    // The library's embedding call (gateway/start.ts) does the rest: links with their reconnect loop, inbound held
    // until boot, boot-time recovery (recovery-04 §5.1); this process adds its event lines and fault injection.
    const running = await startGateway({
      id: role.id,
      signer,
      store,
      transports: [client, server],
      // The ledgers are the organization's, shared by every gateway it acts for; their events name the gateway.
      ledger: new ObservedLedger(own, say, 'own'),
      ...(cli.ledgerKey ? { ledgerKey: cli.ledgerKey } : {}),
      ...(ownChecker ? { ledgerChecker: ownChecker } : {}),
      peers: Object.fromEntries(
        Object.entries(cli.peers).map(([p, c]) => {
          const read = peerLedgers[p];
          const ledger = read && new ObservedLedger(read, say, 'peer');
          const checker = peerCheckers[p];
          return [
            p,
            {
              publicJwk: c.publicJwk,
              networkId: c.networkId,
              ...(c.ledgerPublicJwk ? { ledgerKey: c.ledgerPublicJwk } : {}),
              ...(checker ? { ledgerChecker: checker } : {}),
              ledger,
            },
          ];
        }),
      ),
      verifier,
      ...(successor ? { successor } : {}),
      ...(registry ? { metrics: withLabels(registry, { gateway: role.id }) } : {}),
      primaryKey: role.primaryKey,
      ...(lease && role.certificate
        ? { takeover: { certificate: role.certificate, backup: cli.lease!.holder, epoch: lease.epoch } }
        : {}),
      timing: {
        ...(cli.retransmitMs !== undefined && { retransmitMs: cli.retransmitMs }),
        ...(cli.deadlineGraceMs !== undefined && { deadlineGraceMs: cli.deadlineGraceMs }),
        ...(cli.burnMarginMs !== undefined && { burnMarginMs: cli.burnMarginMs }),
        ...(cli.minLockSeconds !== undefined && { minLockSeconds: cli.minLockSeconds }),
      },
      connectWaitMs: cli.connectWaitMs ?? 1_000,
      ...(cli.keepEnded !== undefined ? { keepEnded: cli.keepEnded } : {}),
      wrapOutbox: (outbox) => observedOutbox(outbox, say, cli.crashAfter, crash),
      ...(notarize && { wrapStore: notarize }),
      onInbound: (from, message) => {
        const { type, session } = peek(message);
        say('receive', { from, type, session });
      },
      onLinkEvent: say,
      onReport: (session, report) => {
        if (report.kind === 'ended') say('outcome', { session, outcome: report.outcome, reason: report.reason });
        else
          say('report', {
            session,
            kind: report.kind,
            ...('code' in report && { code: report.code }),
            detail: report.detail,
          });
      },
    });
    idle.delete(role.id);
    acting.set(role.id, { running, store });
    say('booted', { sessions: running.recovered });
    return running;
  };

  idle.set(id, (await listenFor(roles[0]!)).transport);
  const control = {
    self: id,
    own: () => {
      const a = acting.get(id);
      return a && { gateway: a.running.gateway, store: a.store as LogStore };
    },
    acting: () => [...acting.values()].map((a) => a.running.gateway),
    emit,
    urls,
    peers: Object.keys(cli.peers),
    shutdown,
  };
  if (cli.lease && pg) {
    // Act for a gateway only while holding its lease: wait until it is free, then write as its epoch. A lease lost
    // (or no longer sure) stops this process at once; the store's fence refuses whatever it had in flight. With
    // --standby-for, one such wait per gateway of the organization: the own one, and each other one, which this
    // process takes over (as its backup) the moment its holder stops renewing.
    const { ttlMs, holder } = cli.lease;
    for (const role of roles) {
      const say = emitter(role.id);
      say('standby', { holder, ttlMs });
      holdLease({
        leases: pg,
        gateway: role.id,
        holder,
        ttlMs,
        // Renewed ten times per ttl: the lease counts as lost only after nine renewals in a row went unanswered.
        renewMs: Math.max(10, Math.floor(ttlMs / 10)),
        clock: realClock,
        // A backup waits for the gateway's own holder to have acted first (and then to lapse).
        lapsedOnly: !sameKey(role.primaryKey, signer.publicJwk),
        onAcquired: async (lease) => {
          say('lease', { holder, epoch: lease.epoch });
          const server = idle.get(role.id) ?? (await listenFor(role)).transport;
          idle.set(role.id, server);
          try {
            await actFor(role, server, lease);
          } catch (err) {
            // Acting half-way is not acting: stop, and let the next holder of the lease take it from the log.
            console.error(JSON.stringify({ gw: role.id, what: 'takeover', error: String(err) }));
            runtime.killSelf();
          }
        },
        onLost: (why) => {
          say('lease-lost', { why });
          runtime.killSelf();
        },
        onError: (err) => console.error(JSON.stringify({ gw: role.id, what: 'lease', error: String(err) })),
      });
    }
  } else await actFor(roles[0]!, idle.get(id)!);

  // One command at a time, in order; stdin's end (the parent went away) shuts the gateway down.
  for await (const line of runtime.stdinLines()) {
    if (line.trim() !== '') await handleCommand(line, control);
  }
  await shutdown();
}
