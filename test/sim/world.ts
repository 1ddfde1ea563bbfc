// The simulated world: two real Gateway drivers, their disks and ledgers, one clock and one network.
import { Gateway } from '../../kernel/driver.ts';
import type { Envelope } from '../../kernel/satp/envelope.ts';
import { gatewayConfig, type GatewayConfig, type TransferRequest } from '../../kernel/satp/index.ts';
import { parseLogId } from '../../kernel/entry.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { SimClock } from './clock.ts';
import { emptyCounts, type FaultCounts } from './faults.ts';
import { CrashableDriver, type Incarnation, type PendingAppend, SimLedgerClient, type Work, type WorkQueue } from './io.ts';
import { isRecoveryType, shortType, Wire, type InFlight } from './network.ts';
import { SimKeyring } from './sim-crypto.ts';
import { Timeline } from './timeline.ts';
import { crashNode, runWork } from './world-faults.ts';
import { GW, LEDGER, NODES, type NodeName, other } from './names.ts';

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
  /** Who owns the asset on the origin ledger before the transfer (the originator, unless the lock is meant to be refused). */
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
}

export class World implements WorkQueue {
  readonly keyring = new SimKeyring();
  readonly verifier = this.keyring.verifier();
  readonly keys = this.keyring.keys([GW.A, GW.B]);
  readonly clock = new SimClock();
  readonly wire = new Wire();
  readonly timeline = new Timeline();
  readonly counts: FaultCounts = emptyCounts();
  readonly work: Work[] = [];
  readonly nodes: Record<NodeName, Node>;
  readonly transfers: TransferSpec[] = [];
  /** Hooks for scripted scenarios: called after each delivery decision and ledger op. */
  onDeliver?: (m: InFlight) => 'deliver' | 'drop' | { crashReceiverFor: number };
  onLedgerApplied?: (node: NodeName, opKind: string, ok: boolean) => void;
  /** Scripted scenarios: replace an envelope as it is sent (e.g. by an error-msg from the same sender). */
  onSend?: (from: NodeName, to: string, env: Envelope) => Promise<Envelope | undefined> | undefined;
  /** Called as a gateway issues an append (the sweep watches the write points of a recovery). */
  onAppendIssued?: (w: PendingAppend) => void;
  /** Called when a gateway restarts with unfinished sessions (a recovery begins). */
  onRecovery?: (node: NodeName, sessions: string[]) => void;
  #ids = 0;
  #lastDelivered = new Map<string, number>();

  constructor(readonly options: WorldOptions) {
    const peers = Object.fromEntries(NODES.map((n) => [GW[n], { publicJwk: this.keyring.identity(GW[n]).jwk, networkId: LEDGER[n] }]));
    const make = (name: NodeName): Node => {
      const me = this.keyring.identity(GW[name]);
      const ledger = new MemoryLedger({
        id: LEDGER[name],
        signer: this.keyring.identity(LEDGER[name]).signer,
        now: () => this.clock.now,
        assets: options.assets.filter((a) => a.node === name).map(({ assetId, owner }) => ({ assetId, owner })),
      });
      const config = gatewayConfig({ id: me.id, publicJwk: me.jwk, networkId: LEDGER[name], peers, ...options.config, ...options.nodeConfig?.[name] });
      return { name, id: me.id, disk: new MemoryDriver(), ledger, config, gen: 0, recovering: new Set(), appends: 0 };
    };
    this.nodes = { A: make('A'), B: make('B') };
  }

  nextId(): number {
    return ++this.#ids;
  }
  nextAppendIndex(nodeId: string): number {
    return ++this.nodeById(nodeId).appends;
  }
  push(w: Work): void {
    this.work.push(w);
    if (w.kind === 'append') this.onAppendIssued?.(w);
  }

  nodeById(id: string): Node {
    return id === GW.A ? this.nodes.A : this.nodes.B;
  }

  isUp(n: NodeName): boolean {
    return this.nodes[n].inc !== undefined;
  }

  log(actor: string, kind: Parameters<Timeline['add']>[2], detail: string | (() => string)): void {
    this.timeline.add(this.clock.now, actor, kind, detail);
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
      peerLedger: (peer) => (peer === GW[other(n)] ? new SimLedgerClient(this.nodes[other(n)].ledger, inc, this) : undefined),
      clock: this.clock.view(owner),
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
      this.log(n, 'restart', `gen ${inc.gen}, ${open.length} unfinished session(s)${open.length ? `: ${open.join(', ')}` : ''}`);
      if (open.length) {
        this.counts.recoveries++;
        this.onRecovery?.(n, open);
      }
    }
    for (const t of this.transfers) if (t.origin === n && !t.attempted && t.startAt <= this.clock.now) this.start(t);
    void inc.gw.boot();
  }

  /** Sessions whose chain by this node has not ended, read straight from the disk. */
  openSessions(n: NodeName): string[] {
    const node = this.nodes[n];
    return [...node.disk.heads].filter(([logId, h]) => h.open && parseLogId(logId)?.author === node.id).map(([logId]) => parseLogId(logId)!.sessionId);
  }

  crash(n: NodeName, decide: (w: Work) => boolean, restartAt: number | undefined): Promise<void> {
    return crashNode(this, n, decide, restartAt);
  }

  runWork(w: Work, ledgerFault?: 'before' | 'after'): Promise<void> {
    return runWork(this, w, ledgerFault);
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
    this.log(t.origin, 'start', `${r.sessionId}: ${r.assetId} ${r.originator}→${r.beneficiary}, lock ${r.lockSeconds}s`);
    void this.nodes[t.origin].inc!.gw.startTransfer(r);
  }

  abort(n: NodeName, sessionId: string): void {
    const inc = this.nodes[n].inc;
    if (!inc) return;
    this.counts.aborts++;
    this.log(n, 'abort', sessionId);
    void inc.gw.abort(sessionId, 'simulated operator abort');
  }

  #send(from: NodeName, to: string, env: Parameters<Wire['send']>[2]): void {
    const m = this.wire.send(GW[from], to, env, this.clock.now + this.options.latency());
    if (isRecoveryType(m.type)) this.counts.recoveryMessages++;
    this.log(from, 'send', () => `#${m.id} ${shortType(m.type)} ${m.sessionId} → ${to}${m.deliverAt > this.clock.now ? ` (arrives +${m.deliverAt - this.clock.now}ms)` : ''}`);
  }

  /** Hands a message to its receiver, or loses it if the receiver is down. */
  deliver(id: number): void {
    const m = this.wire.take(id);
    if (!m) return;
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
    if (typeof verdict === 'object' && to.inc) void this.crash(to.name, () => false, this.clock.now + verdict.crashReceiverFor);
    if (!to.inc) {
      this.counts.dropsReceiverDown++;
      this.log(to.name, 'drop', `#${m.id} ${shortType(m.type)} from ${m.from}: receiver down`);
      return;
    }
    if (m.type.endsWith(':recover-success-msg')) to.recovering.delete(m.sessionId);
    this.log(to.name, 'deliver', `#${m.id} ${shortType(m.type)} ${m.sessionId} from ${m.from}`);
    void to.inc.gw.receive(m.from, m.env);
  }
}
