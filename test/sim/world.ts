// The simulated world: two real Gateway drivers, their disks and ledgers, a clock per node and one network.
import { Gateway } from '../../kernel/driver.ts';
import type { Envelope } from '../../kernel/satp/envelope.ts';
import { gatewayConfig, type GatewayConfig, MSG, type TransferRequest } from '../../kernel/satp/index.ts';
import { parseLogId } from '../../kernel/entry.ts';
import type { SatpError } from '../../kernel/errors.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { CLOCK_NODES, type ClockModel, type ClockName, SimClock } from './clock.ts';
import { emptyCounts, type FaultCounts } from './faults.ts';
import { Hazards, storageFailure } from './hazards.ts';
import { CrashableDriver, type Incarnation, type PendingAppend, SimLedgerClient, type Work } from './io.ts';
import type { WorkQueue } from './io.ts';
import { isRecoveryType, shortType, Wire, type InFlight } from './network.ts';
import { SimKeyring } from './sim-crypto.ts';
import { type EventKind, Timeline } from './timeline.ts';
import { crashNode, runWork, type WorkFault } from './world-faults.ts';
import { GW, LEDGER, NODES, type NodeName, nodeOf, other, THIRD } from './names.ts';
import type { Liar } from './liar.ts';

/**
 * Most entries one chain may hold. A legitimate run stays far below (the longest measured over thousands of
 * seeds is in test/sim/README.md); a chain past this is a livelock, and the run stops at once.
 */
export const MAX_CHAIN_ENTRIES = 300;
/** How long a supervisor waits before restarting a gateway whose boot() failed. */
const BOOT_RETRY_MS = 1_000;

export interface Node {
  name: NodeName;
  id: string;
  /** The durable part: survives every crash. */
  disk: MemoryDriver;
  ledger: MemoryLedger;
  config: GatewayConfig;
  inc?: Incarnation & { gw: Gateway };
  gen: number;
  /** Sessions open when this incarnation booted, until they end or RECOVER-SUCCESS reaches it. */
  recovering: Set<string>;
  appends: number;
}

export interface TransferSpec {
  request: TransferRequest;
  origin: NodeName;
  /**
   * Who owns the asset on the origin ledger before the transfer (the originator, unless the lock is meant to be
   * refused).
   */
  owner: string;
  startAt: number;
  attempted: boolean;
}

export interface WorldOptions {
  /** Delay of each message on the wire, in ms (0 in the deterministic sweep). */
  latency: () => number;
  config?: Partial<GatewayConfig>;
  nodeConfig?: Partial<Record<NodeName, Partial<GatewayConfig>>>;
  assets: { node: NodeName; assetId: string; owner: string }[];
  /** Each node's clock (exact when absent). */
  clocks?: Partial<Record<ClockName, ClockModel>>;
  /** Decides the storage and ledger faults that happen as calls are made; none without it. */
  hazards?: Hazards;
  /** Ended sessions each gateway keeps in memory (GatewayOptions.keepEnded); the driver's default without it. */
  keepEnded?: number;
}

/** The SATP transfer messages: none may leave a gateway that saw its peer roll back. */
const FORWARD_TYPES: ReadonlySet<string> = new Set(
  Object.values(MSG).filter((t) => t !== MSG.error && t !== MSG.sessionAbort),
);

/** Why a run stopped early: a chain grew past MAX_CHAIN_ENTRIES. */
export interface Halt {
  logId: string;
  node: NodeName;
  entries: number;
  step: number;
}

export class World implements WorkQueue {
  readonly keyring = new SimKeyring();
  readonly verifier = this.keyring.verifier();
  readonly keys = this.keyring.keys([GW.A, GW.B, THIRD]);
  readonly clock: SimClock;
  readonly hazards: Hazards;
  readonly wire = new Wire();
  readonly timeline = new Timeline();
  readonly counts: FaultCounts = emptyCounts();
  readonly work: Work[] = [];
  readonly nodes: Record<NodeName, Node>;
  readonly transfers: TransferSpec[] = [];
  /** Set when a chain outgrew its bound: the run must stop. */
  halted?: Halt;
  /** The misbehaving peer, when the seed has one: it reads every genuine message sent. */
  liar?: Liar;
  /** Sessions (`node/sessionId`) whose own chain records that the peer rolled back (a recovery brought it). */
  readonly peerRolledBack = new Set<string>();
  /** Invariants broken as it happened (what a gateway sent), beside those checked at the end. */
  readonly traceViolations: { invariant: string; detail: string }[] = [];
  /** Scripted scenarios: what must also hold when the run ends (`check` returns a detail when it does not). */
  readonly expectations: { invariant: string; check: () => string | undefined }[] = [];
  /** The step and the world time at which an entry last landed on a disk (progress). */
  lastLandedStep = 0;
  lastLandedAt = 0;
  /** Hooks for scripted scenarios: called after each delivery decision and ledger op. */
  onDeliver?: (m: InFlight) => 'deliver' | 'drop' | { crashReceiverFor: number };
  onLedgerApplied?: (node: NodeName, opKind: string, ok: boolean) => void;
  /** Scripted scenarios: the fault a queued ledger call meets when the sweep runs it (none by default). */
  ledgerFault?: (w: Work) => WorkFault | undefined;
  /** Scripted scenarios: replace an envelope as it is sent (e.g. by an error-msg from the same sender). */
  onSend?: (from: NodeName, to: string, env: Envelope) => Promise<Envelope | undefined> | undefined;
  /** Called as a gateway issues an append (the sweep watches the write points of a recovery). */
  onAppendIssued?: (w: PendingAppend) => void;
  /** Called when a gateway restarts with unfinished sessions (a recovery begins). */
  onRecovery?: (node: NodeName, sessions: string[]) => void;
  #ids = 0;
  #lastDelivered = new Map<string, number>();

  constructor(readonly options: WorldOptions) {
    this.clock = new SimClock(options.clocks);
    this.hazards = options.hazards ?? new Hazards();
    const make = (name: NodeName): Node => {
      const ledger = new MemoryLedger({
        id: LEDGER[name],
        signer: this.keyring.identity(LEDGER[name]).signer,
        // The ledger's own clock: it stamps receipts and decides when a lock has expired (TIME_LOCK).
        now: () => this.clock.local(LEDGER[name]),
        assets: options.assets.filter((a) => a.node === name).map(({ assetId, owner }) => ({ assetId, owner })),
      });
      const disk = new MemoryDriver();
      const config = this.configFor(name);
      return { name, id: GW[name], disk, ledger, config, gen: 0, recovering: new Set(), appends: 0 };
    };
    this.nodes = { A: make('A'), B: make('B') };
  }

  /** The one place a gateway's configuration is built: its identity, its peers and the options of the run. */
  configFor(name: NodeName): GatewayConfig {
    const identity = (n: NodeName) => this.keyring.identity(GW[n]);
    const ledgerKey = (n: NodeName) => this.keyring.identity(LEDGER[n]).jwk;
    const peers = {
      ...Object.fromEntries(
        NODES.map((n) => [GW[n], { publicJwk: identity(n).jwk, networkId: LEDGER[n], ledgerKey: ledgerKey(n) }]),
      ),
      // Known and trusted by both, the peer of none of their sessions (the misbehaving peer signs as it too).
      [THIRD]: {
        publicJwk: this.keyring.identity(THIRD).jwk,
        networkId: 'ledger-c',
        ledgerKey: this.keyring.identity('ledger-c').jwk,
      },
    };
    const me = identity(name);
    const o = this.options;
    const own = { id: me.id, publicJwk: me.jwk, networkId: LEDGER[name], ledgerKey: ledgerKey(name), peers };
    return gatewayConfig({ ...own, ...o.config, ...o.nodeConfig?.[name] });
  }

  nextId(): number {
    return ++this.#ids;
  }
  nextAppendIndex(nodeId: string): number {
    return ++this.nodeById(nodeId).appends;
  }
  push(w: Work): void {
    // An op whose outcome was unknown is settled by status(opId): a gateway asks its ledger to execute an op only
    // when it has no reason to think the ledger recorded it. Executing a recorded op again is a blind retry, even
    // where the ledger's idempotency hides it.
    if (w.kind === 'ledger' && w.call === 'execute' && w.op && w.ledger.ops().some((o) => o.op.opId === w.op!.opId)) {
      const detail =
        `${GW[nodeOf(w.inc.node)]} asked ${w.ledger.id} ` + `to execute ${w.op.opId}, which it had already recorded`;
      this.traceViolations.push({
        invariant: 'no ledger operation executed blind (asked again once recorded)',
        detail,
      });
    }
    this.work.push(w);
    if (w.kind === 'append') this.onAppendIssued?.(w);
  }

  /** A store read of `inc` fails if its store is in an outage, or by a seeded read fault. */
  readFault(inc: Incarnation, call: 'head' | 'read' | 'openLogs', logId?: string): SatpError | undefined {
    const n = nodeOf(inc.node);
    const what = `${call}${logId ? ` ${logId}` : ''}`;
    if (this.hazards.storeDown(n, this.clock.now)) {
      this.counts.storeOutageRefusals++;
      this.log(n, 'store-error', `${what}: refused, the store is unavailable`);
      return storageFailure(`${what}: store unavailable`);
    }
    if (!this.hazards.readFails()) return undefined;
    this.counts.readFailures++;
    this.log(n, 'store-error', `${what}: read failed`);
    return storageFailure(`${what} failed`);
  }

  /** Bookkeeping of an append that landed on `n`'s disk: the longest chain, and the livelock bound. */
  landed(n: NodeName, w: PendingAppend): void {
    const entries = w.next.seq;
    if (w.texts.some((t) => t.includes('"peerRolledBack":true')))
      this.peerRolledBack.add(`${n}/${w.logId.split('/')[0]}`);
    this.lastLandedStep = this.timeline.step;
    this.lastLandedAt = this.clock.now;
    if (entries > this.counts.maxChainEntries) this.counts.maxChainEntries = entries;
    if (entries <= MAX_CHAIN_ENTRIES || this.halted) return;
    this.halted = { logId: w.logId, node: n, entries, step: this.timeline.step };
    this.log(n, 'livelock', `${w.logId} holds ${entries} entries, over the bound of ${MAX_CHAIN_ENTRIES}: run stops`);
  }

  nodeById(id: string): Node {
    return id === GW.A ? this.nodes.A : this.nodes.B;
  }

  isUp(n: NodeName): boolean {
    return this.nodes[n].inc !== undefined;
  }

  /** Logs an event at world time, with the local time of the acting node when it has a clock. */
  log(actor: string, kind: EventKind, detail: string | (() => string)): void {
    const clock = CLOCK_NODES.find((n) => n === actor);
    this.timeline.add(this.clock.now, actor, kind, detail, clock === undefined ? undefined : this.clock.local(clock));
  }

  /** Starts a gateway process over its disk: first boot and every restart. */
  up(n: NodeName, restart: boolean): void {
    const node = this.nodes[n];
    if (node.inc) return;
    const inc = { node: node.id, gen: ++node.gen, alive: true } as Incarnation & { gw: Gateway };
    const store = new LogStore(new CrashableDriver(node.disk, inc, this), { keys: this.keys, verifier: this.verifier });
    const owner = `${n}#${inc.gen}`;
    inc.gw = new Gateway({
      config: node.config,
      signer: this.keyring.identity(node.id).signer,
      verifier: this.verifier,
      keys: this.keys,
      store,
      outbox: {
        send: async (to, env) => {
          const replaced = this.onSend ? await this.onSend(n, to, env) : undefined;
          if (inc.alive) this.#send(n, to, replaced ?? env);
        },
      },
      ledger: new SimLedgerClient(node.ledger, inc, this),
      peerLedger: (peer) =>
        peer === GW[other(n)] ? new SimLedgerClient(this.nodes[other(n)].ledger, inc, this) : undefined,
      clock: this.clock.view(owner, n),
      ...(this.options.keepEnded !== undefined ? { keepEnded: this.options.keepEnded } : {}),
      onReport: (sessionId, report) => {
        if (!inc.alive) return;
        if (report.kind === 'needs-operator') this.log(n, 'note', `needs-operator ${sessionId}: ${report.detail}`);
        if (report.kind === 'ended') this.log(n, 'outcome', `${sessionId} ${report.outcome}: ${report.reason}`);
      },
    });
    node.inc = inc;
    const open = this.openSessions(n);
    node.recovering = new Set(open);
    if (restart) {
      this.log(
        n,
        'restart',
        `gen ${inc.gen}, ${open.length} unfinished session(s)${open.length ? `: ${open.join(', ')}` : ''}`,
      );
      if (open.length) {
        this.counts.recoveries++;
        this.onRecovery?.(n, open);
      }
    }
    for (const t of this.transfers) if (t.origin === n && !t.attempted && t.startAt <= this.clock.now) this.start(t);
    // A gateway process whose boot fails exits; its supervisor starts it again a moment later.
    inc.gw.boot().catch((err: unknown) => {
      if (!inc.alive) return;
      this.counts.bootFailures++;
      this.log(n, 'rejected', `boot() failed, the process exits: ${String(err)}`);
      void this.crash(n, () => false, this.clock.now + BOOT_RETRY_MS, 'boot-failed');
    });
  }

  /** A call into the driver that should answer, not reject: a rejection loses the message or command. */
  #host(n: NodeName, inc: Incarnation, what: string, p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      if (!inc.alive) return;
      this.counts.driverRejections++;
      this.log(n, 'rejected', `${what} rejected: ${String(err)}`);
    });
  }

  /** Sessions whose chain by this node has not ended, read straight from the disk. */
  openSessions(n: NodeName): string[] {
    const node = this.nodes[n];
    return [...node.disk.heads]
      .filter(([logId, h]) => h.open && parseLogId(logId)?.author === node.id)
      .map(([logId]) => parseLogId(logId)!.sessionId);
  }

  crash(n: NodeName, decide: (w: Work) => boolean, restartAt: number | undefined, kind?: string): Promise<void> {
    return crashNode(this, n, decide, restartAt, kind);
  }

  runWork(w: Work, fault?: WorkFault): Promise<void> {
    return runWork(this, w, fault);
  }

  addTransfer(spec: Omit<TransferSpec, 'attempted'>): void {
    const t = { ...spec, attempted: false };
    this.transfers.push(t);
    this.counts.transfers++;
    this.clock.set('world', t.startAt, () => this.isUp(t.origin) && !t.attempted && this.start(t));
  }

  start(t: TransferSpec): void {
    t.attempted = true;
    const r = t.request;
    this.log(
      t.origin,
      'start',
      `${r.sessionId}: ${r.assetId} ${r.originator}→${r.beneficiary}, lock ${r.lockSeconds}s`,
    );
    const inc = this.nodes[t.origin].inc!;
    this.#host(t.origin, inc, `startTransfer ${r.sessionId}`, inc.gw.startTransfer(r));
  }

  abort(n: NodeName, sessionId: string): void {
    const inc = this.nodes[n].inc;
    if (!inc) return;
    this.counts.aborts++;
    this.log(n, 'abort', sessionId);
    this.#host(n, inc, `abort ${sessionId}`, inc.gw.abort(sessionId, 'simulated operator abort'));
  }

  #send(from: NodeName, to: string, env: Parameters<Wire['send']>[2]): void {
    const m = this.wire.send(GW[from], to, env, this.clock.now + this.options.latency());
    this.liar?.observe(GW[from], to, env);
    // recovery-04 §5.4.3: once a recovery showed that the peer rolled back, the transfer never goes forward.
    if (this.peerRolledBack.has(`${from}/${m.sessionId}`) && FORWARD_TYPES.has(m.type)) {
      this.traceViolations.push({
        invariant: 'no transfer message after the peer was seen rolling back',
        detail: `${GW[from]} sent ${shortType(m.type)} of ${m.sessionId} (#${m.id})`,
      });
    }
    if (isRecoveryType(m.type)) this.counts.recoveryMessages++;
    this.log(
      from,
      'send',
      () =>
        `#${m.id} ${shortType(m.type)} ${m.sessionId} → ${to}` +
        `${m.deliverAt > this.clock.now ? ` (arrives +${m.deliverAt - this.clock.now}ms)` : ''}`,
    );
  }

  /** Hands a message to its receiver, or loses it if the receiver is down. */
  deliver(id: number): void {
    const m = this.wire.take(id);
    if (!m) return;
    if (m.to !== GW.A && m.to !== GW.B) {
      this.log('net', 'drop', `#${m.id} ${shortType(m.type)} to ${m.to}: no such gateway here`);
      return;
    }
    const to = this.nodeById(m.to);
    const link = `${m.from}>${m.to}`;
    if ((this.#lastDelivered.get(link) ?? 0) > m.id) this.counts.reorders++;
    this.#lastDelivered.set(link, Math.max(m.id, this.#lastDelivered.get(link) ?? 0));
    const verdict = this.onDeliver?.(m) ?? 'deliver';
    if (verdict === 'drop') {
      this.log(to.name, 'drop', `#${m.id} ${shortType(m.type)} (scripted)`);
      return;
    }
    // The receiver dies as the message arrives (scripted): nothing of it is processed.
    if (typeof verdict === 'object' && to.inc)
      void this.crash(to.name, () => false, this.clock.now + verdict.crashReceiverFor);
    if (!to.inc) {
      this.counts.dropsReceiverDown++;
      this.log(to.name, 'drop', `#${m.id} ${shortType(m.type)} from ${m.from}: receiver down`);
      return;
    }
    if (m.type.endsWith(':recover-success-msg')) to.recovering.delete(m.sessionId);
    this.log(to.name, 'deliver', `#${m.id} ${shortType(m.type)} ${m.sessionId} from ${m.from}`);
    this.#host(to.name, to.inc, `receive #${m.id} ${shortType(m.type)}`, to.inc.gw.receive(m.from, m.env));
  }
}
