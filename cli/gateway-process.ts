// The gateway process, runtime-agnostic: wires the driver (kernel/driver.ts) to LevelDB, two ledger servers
// over HTTP, WebSocket links to its peers and the real clock, boots (recovery-04 §5.1), then serves stdin
// commands. The runtime entries (gateway.ts on Node, gateway.deno.ts on Deno) hand in what differs. The
// wiring itself is library code in gateway/: the key file, the links, the clock and the inbound glue.
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { keyTable, type KeyResolver, type Signer, type Verifier } from '../kernel/crypto/types.ts';
import type { Ledger } from '../kernel/ledger.ts';
import { HttpLedger } from '../ledgers/http-ledger.ts';
import { LevelDriver } from '../storage/level.ts';
import { PostgresDriver } from '../storage/postgres.ts';
import type { LogStoreDriver } from '../storage/driver.ts';
import type { SuccessorAuthority } from '../kernel/takeover.ts';
import { holdLease, type Lease } from '../gateway/ha.ts';
import { realClock } from '../gateway/clock.ts';
import { successorAuthority } from '../identity/x509.ts';
import { backoffDelay } from '../transports/backoff.ts';
import type { Transport, TransportErrorHandler } from '../transports/types.ts';
import { loadOrCreateKey } from '../gateway/keys.ts';
import { type RunningGateway, startGateway } from '../gateway/start.ts';
import { parseGatewayArgs, USAGE } from './gateway-cli.ts';
import { handleCommand } from './gateway-control.ts';
import { emitter, peek } from './gateway-events.ts';
import { ObservedLedger, ObservedLogStore, observedOutbox } from './gateway-observe.ts';

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
  stdinLines(): AsyncIterable<string>;
  onSignal(handler: () => void): void;
  /** SIGKILL this very process (fault injection); never returns. */
  killSelf(): never;
  exit(code: number): never;
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
  // Transport trouble that reaches no one (a peer dropping mid-frame, a refused handshake) goes to stderr.
  const onError: TransportErrorHandler = (error, context) =>
    console.error(JSON.stringify({ gw: id, what: context.what, peer: context.peer, error: String(error) }));

  const signer = await loadOrCreateKey(cli.keys);
  // The key --id's chains start with: this process's own, unless it is a backup of --id.
  const primaryKey = cli.primaryKey ?? signer.publicJwk;
  const keys = keyTable({
    [id]: primaryKey,
    ...Object.fromEntries(Object.entries(cli.peers).map(([p, c]) => [p, c.publicJwk])),
  });
  const verifier = defaultVerifier();
  const successor = cli.trust ? successorAuthority(cli.trust) : undefined;
  // The log: LevelDB, or a PostgreSQL shared with the other holders of --id (docs/high-availability.md).
  const pg = cli.pg ? await PostgresDriver.open(cli.pg.url, { schema: cli.pg.schema }) : undefined;
  const lockless: LogStoreDriver = pg ?? (await LevelDriver.open(cli.db));
  let store: ObservedLogStore | undefined;
  const own = await connectLedger(cli.ledger);
  const ledger = new ObservedLedger(own, emit, 'own');
  const peerLedgers: Record<string, Ledger> = {};
  for (const [peer, url] of Object.entries(cli.peerLedgers)) {
    peerLedgers[peer] = new ObservedLedger(
      new HttpLedger({ url, id: cli.peers[peer]!.networkId, timeoutMs: 5_000 }),
      emit,
      'peer',
    );
  }

  const urls: Record<string, string> = Object.fromEntries(Object.entries(cli.peers).map(([p, c]) => [p, c.url]));
  const { transport: server, url } = await runtime.listen({
    self: id,
    signer,
    keys,
    host: cli.host,
    port: cli.port,
    onError,
    ...(cli.tls ? { tls: cli.tls } : {}),
    ...(cli.certificate && cli.primaryKey ? { certificate: cli.certificate } : {}),
    ...(successor ? { successor } : {}),
  });
  const client = runtime.dialer({
    self: id,
    signer,
    keys,
    verifier,
    peers: (p) => urls[p],
    connectTimeoutMs: 3_000,
    onError,
    ...(cli.tlsCa ? { tls: { ca: cli.tlsCa } } : {}),
    ...(cli.certificate && cli.primaryKey ? { certificate: cli.certificate } : {}),
    ...(successor ? { successor } : {}),
  });

  let running: RunningGateway | undefined;
  let stopping: Promise<never> | undefined;
  const shutdown = (): Promise<never> =>
    (stopping ??= (async () => {
      if (running) await running.close();
      else {
        await Promise.allSettled([server.close(), client.close()]);
        await (store ?? lockless).close().catch(() => undefined);
      }
      emit('stopped', {});
      return runtime.exit(0);
    })());
  runtime.onSignal(() => void shutdown());

  emit('listening', {
    url,
    runtime: runtime.name,
    pid: runtime.pid,
    network: own.id,
    publicJwk: { ...signer.publicJwk },
  });
  let lease: Lease | undefined;
  let driver = lockless;
  if (cli.lease && pg) {
    // Act for --id only while holding its lease: wait until it is free, then write as its epoch. A lease lost (or
    // no longer sure) stops this process at once; the store's fence refuses whatever it had in flight.
    emit('standby', { holder: cli.lease.holder, ttlMs: cli.lease.ttlMs });
    const { ttlMs, holder } = cli.lease;
    lease = await new Promise<Lease>((resolve) =>
      holdLease({
        leases: pg,
        gateway: id,
        holder,
        ttlMs,
        // Renewed ten times per ttl: the lease counts as lost only after nine renewals in a row went unanswered.
        renewMs: Math.max(10, Math.floor(ttlMs / 10)),
        clock: realClock,
        onAcquired: resolve,
        onLost: (why) => {
          emit('lease-lost', { why });
          runtime.killSelf();
        },
        onError: (err) => console.error(JSON.stringify({ gw: id, what: 'lease', error: String(err) })),
      }),
    );
    emit('lease', { holder, epoch: lease.epoch });
    driver = pg.withEpoch(lease.epoch);
  }
  store = new ObservedLogStore(driver, {
    keys,
    verifier,
    ...(successor ? { successor } : {}),
    self: id,
    emit,
    crashAt: cli.crashAfter,
    crash,
  });
  // The library's embedding call (gateway/start.ts) does the rest: links with their reconnect loop, inbound held
  // until boot, boot-time recovery (recovery-04 §5.1); this process adds its event lines and fault injection.
  running = await startGateway({
    id,
    signer,
    store,
    transports: [client, server],
    ledger,
    ledgerKey: cli.ledgerKey,
    peers: Object.fromEntries(
      Object.entries(cli.peers).map(([p, c]) => [
        p,
        { publicJwk: c.publicJwk, networkId: c.networkId, ledgerKey: c.ledgerPublicJwk, ledger: peerLedgers[p] },
      ]),
    ),
    verifier,
    ...(successor ? { successor } : {}),
    primaryKey,
    ...(lease && cli.certificate
      ? { takeover: { certificate: cli.certificate, backup: cli.lease!.holder, epoch: lease.epoch } }
      : {}),
    timing: {
      ...(cli.retransmitMs !== undefined && { retransmitMs: cli.retransmitMs }),
      ...(cli.deadlineGraceMs !== undefined && { deadlineGraceMs: cli.deadlineGraceMs }),
      ...(cli.burnMarginMs !== undefined && { burnMarginMs: cli.burnMarginMs }),
      ...(cli.minLockSeconds !== undefined && { minLockSeconds: cli.minLockSeconds }),
    },
    connectWaitMs: cli.connectWaitMs ?? 1_000,
    wrapOutbox: (outbox) => observedOutbox(outbox, emit, cli.crashAfter, crash),
    onInbound: (from, message) => {
      const { type, session } = peek(message);
      emit('receive', { from, type, session });
    },
    onLinkEvent: emit,
    onReport: (session, report) => {
      if (report.kind === 'ended') emit('outcome', { session, outcome: report.outcome, reason: report.reason });
      else
        emit('report', {
          session,
          kind: report.kind,
          ...('code' in report && { code: report.code }),
          detail: report.detail,
        });
    },
  });
  const { gateway } = running;
  emit('booted', { sessions: running.recovered });

  const control = { gateway, store, emit, urls, peers: Object.keys(cli.peers), shutdown };
  // One command at a time, in order; stdin's end (the parent went away) shuts the gateway down.
  for await (const line of runtime.stdinLines()) {
    if (line.trim() !== '') await handleCommand(line, control);
  }
  await shutdown();
}
