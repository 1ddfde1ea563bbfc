// The gateway driver, the kernel's one async part (DESIGN §1): feeds events in, makes each step's
// entries durable before any send or ledger call of that step, executes effects in order, re-arms
// timers after a restart. Time, transport, ledgers and storage are all handed in.
import { logIdOf } from './entry.ts';
import type { KeyResolver, Signer, Verifier } from './crypto/types.ts';
import type { Ledger } from './ledger.ts';
import { sealEntry } from './seal.ts';
import { errorMessage } from './satp/error-codes.ts';
import { type Effect, type GatewayConfig, type GatewayEvent, type Report, type TimerName } from './satp/effects.ts';
import { type Envelope, openEnvelope, sealMessage } from './satp/envelope.ts';
import { MSG, type SatpMessage } from './satp/messages.ts';
import type { TransferRequest } from './satp/payloads.ts';
import { reduce } from './satp/reduce.ts';
import { RECOVER_PAGE, RECOVER_PAGE_CHARS, RMSG } from './satp/recovery-messages.ts';
import type { SatpError } from './errors.ts';
import { replay, type Outcome, type SessionState } from './satp/state.ts';
import type { LogStore } from '../storage/log-store.ts';
import { KeyedLock } from '../storage/keyed-lock.ts';

/** Time as the driver sees it: injected, so a simulator can run it and tests never sleep. */
export interface Clock {
  now(): number;
  setTimer(at: number, fire: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** The outbound half of a transport, as the driver needs it. */
export interface Outbox {
  send(to: string, envelope: Envelope): Promise<void>;
}

export interface GatewayOptions {
  config: GatewayConfig;
  signer: Signer;
  verifier: Verifier;
  /** Trusted keys of peers (and of this gateway). */
  keys: KeyResolver;
  store: LogStore;
  outbox: Outbox;
  /** The ledger this gateway operates on. */
  ledger: Ledger;
  /** Read access to a peer's ledger, for the destination's burn check past the deadline. */
  peerLedger?: (peer: string) => Ledger | undefined;
  clock: Clock;
  onReport?: (sessionId: string, report: Report) => void;
}

export type ReceiveResult = { accepted: true } | { accepted: false; code: string; status: number; detail: string };

export class Gateway {
  readonly id: string;
  readonly #o: GatewayOptions;
  readonly #sessions = new Map<string, SessionState>();
  readonly #lock = new KeyedLock();
  readonly #timers = new Map<string, unknown>();
  readonly #waiters = new Map<string, ((o: Outcome) => void)[]>();
  #closed = false;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.id = options.config.id;
  }

  /** recovery-04 §5.1: replay every unfinished session of this gateway and resume it. */
  async boot(): Promise<number> {
    const open = (await this.#o.store.listOpenLogs()).filter((l) => l.author === this.id);
    for (const log of open) {
      const verified = await this.#o.store.verifyLog(log.logId);
      if (!verified.ok) {
        this.#report(log.sessionId, { kind: 'needs-operator', detail: `own chain does not verify: ${verified.reason} at ${verified.index}` });
        continue;
      }
      const state = replay(verified.entries);
      if (state) this.#sessions.set(log.sessionId, state);
    }
    await Promise.all(open.map((l) => this.#dispatch(l.sessionId, { kind: 'boot', now: this.#o.clock.now() })));
    return open.length;
  }

  startTransfer(request: TransferRequest): Promise<ReceiveResult> {
    return this.#dispatch(request.sessionId, { kind: 'start', now: this.#o.clock.now(), request });
  }

  abort(sessionId: string, reason: string): Promise<ReceiveResult> {
    return this.#dispatch(sessionId, { kind: 'abort', now: this.#o.clock.now(), reason });
  }

  /** A message from the transport; `from` is the peer the transport authenticated. */
  async receive(from: string, envelope: unknown): Promise<ReceiveResult> {
    const opened = await openEnvelope(envelope, from, this.#o.keys, this.#o.verifier);
    if (!opened.ok) {
      const h = opened.hint;
      // Tell the peer (unlogged error-msg) only about authentic messages that name their session;
      // anything else is answered by the transport alone, so forgeries cannot steer a session.
      if (opened.authentic && h && h.messageType !== MSG.error) {
        const reply = errorMessage(opened.error, { sessionId: h.sessionId, transferContextId: h.transferContextId, hashPrevMessage: h.hash, ...(h.messageType ? { prevMsgType: h.messageType } : {}) }, opened.detail, new Date(this.#o.clock.now()).toISOString());
        void this.#send(from, reply);
      }
      this.#report(h?.sessionId ?? '', { kind: 'refused', code: opened.error.code, detail: opened.detail });
      return { accepted: false, code: opened.error.code, status: opened.error.status, detail: opened.detail };
    }
    const m = opened.message;
    return this.#dispatch(m.sessionId, { kind: 'message', now: this.#o.clock.now(), from, message: m, hash: opened.hash }, (ev) => this.#prepareRecovery(ev, from, m));
  }

  session(sessionId: string): SessionState | undefined {
    return this.#sessions.get(sessionId);
  }

  sessions(): SessionState[] {
    return [...this.#sessions.values()];
  }

  /** Resolves when the session ends (committed, rolled back or rejected). */
  whenEnded(sessionId: string): Promise<Outcome> {
    const s = this.#sessions.get(sessionId);
    if (s?.outcome) return Promise.resolve(s.outcome);
    return new Promise((resolve) => this.#waiters.set(sessionId, [...(this.#waiters.get(sessionId) ?? []), resolve]));
  }

  /** Stops timers and stops acting; the store and ledgers belong to the caller. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) this.#o.clock.clearTimer(t);
    this.#timers.clear();
  }

  #dispatch(sessionId: string, event: GatewayEvent, prepare?: (ev: GatewayEvent) => Promise<GatewayEvent>): Promise<ReceiveResult> {
    return this.#lock.run(sessionId, async () => this.#process(sessionId, prepare ? await prepare(event) : event));
  }

  /**
   * The store work a recovery message needs, done before the reducer sees it (sans-I/O): for RECOVER,
   * getLogDiff of this gateway's chain against the sender's view; for RECOVER-UPDATE, verifying the
   * peer's entries and appending them to this gateway's copy of the peer's chain (updateLog).
   */
  async #prepareRecovery(ev: GatewayEvent, from: string, m: SatpMessage): Promise<GatewayEvent> {
    if (ev.kind !== 'message') return ev;
    if (m.messageType === RMSG.recover) {
      const diff = await this.#o.store.getLogDiff(logIdOf(m.sessionId, this.id), { seq: m.peerSeqNumber, hash: m.peerLastEntryHash }, RECOVER_PAGE, RECOVER_PAGE_CHARS);
      return { ...ev, recovery: { kind: 'diff', diff } };
    }
    if (m.messageType === RMSG.recoverUpdate) {
      try {
        const r = await this.#o.store.updateLog(logIdOf(m.sessionId, from), m.recoveredLogs);
        return { ...ev, recovery: { kind: 'update', ok: true, appended: r.appended, head: { seq: r.head.seq, hash: r.head.hash } } };
      } catch (err) {
        const e = err as SatpError;
        const d = (e.detail ?? {}) as { seq?: number; ours?: string; theirs?: string };
        return { ...ev, recovery: { kind: 'update', ok: false, code: e.code ?? 'INVALID_INPUT', detail: e.message, ...(typeof d.seq === 'number' ? { seq: d.seq } : {}), ...(typeof d.ours === 'string' ? { ours: d.ours } : {}), ...(typeof d.theirs === 'string' ? { theirs: d.theirs } : {}) } };
      }
    }
    return ev;
  }

  async #process(sessionId: string, event: GatewayEvent): Promise<ReceiveResult> {
    if (this.#closed) return { accepted: false, code: 'CLOSED', status: 503, detail: 'gateway closed' };
    const state = this.#sessions.get(sessionId) ?? (await this.#load(sessionId));
    const { state: next, effects } = reduce(state, event, this.#o.config);
    let rest = effects;
    if (effects[0]?.kind === 'append') {
      // Write-ahead: sealed and durable before any other effect of this step runs (DESIGN §3).
      const sealed = await Promise.all(effects[0].entries.map((b) => sealEntry(b, this.#o.signer)));
      try {
        await this.#o.store.writeLogEntries(sealed);
      } catch (err) {
        this.#report(sessionId, { kind: 'needs-operator', detail: `append failed, step not taken: ${String(err)}` });
        return { accepted: false, code: 'STORAGE_FAILURE', status: 503, detail: String(err) };
      }
      rest = effects.slice(1);
      // Closed (crashed) while the append was in flight: it may have landed, but nothing after it runs.
      if (this.#closed) return { accepted: false, code: 'CLOSED', status: 503, detail: 'gateway closed' };
    }
    if (next) this.#sessions.set(sessionId, next);
    let result: ReceiveResult = { accepted: true };
    for (const effect of rest) {
      const r = this.#execute(sessionId, effect);
      if (r) result = r;
    }
    return result;
  }

  /** A session not in memory may have ended before a restart: load it so duplicates still get their answer. */
  async #load(sessionId: string): Promise<SessionState | undefined> {
    const logId = logIdOf(sessionId, this.id);
    if ((await this.#o.store.getLogLength(logId)) === 0) return undefined;
    const state = replay(await this.#o.store.getLog(logId));
    if (state) this.#sessions.set(sessionId, state);
    return state;
  }

  #execute(sessionId: string, e: Effect): ReceiveResult | undefined {
    switch (e.kind) {
      case 'append':
        throw new TypeError('append must be the first effect of a step');
      case 'send':
        void this.#send(e.to, e.message);
        if (!e.logged && e.message.messageType === MSG.error) {
          return { accepted: false, code: e.message.type.split(':').pop()!, status: e.message.status, detail: e.message.detail ?? e.message.title };
        }
        return undefined;
      case 'ledger-execute':
        this.#o.ledger.execute(e.op).then(
          (receipt) => this.#dispatch(sessionId, { kind: 'ledger-result', now: this.#o.clock.now(), opId: e.op.opId, receipt }),
          (err) => this.#dispatch(sessionId, { kind: 'ledger-error', now: this.#o.clock.now(), opId: e.op.opId, error: String(err), ...((err as SatpError)?.code ? { code: (err as SatpError).code } : {}) }),
        );
        return undefined;
      case 'ledger-query': {
        const ledger = e.ledger === 'own' ? this.#o.ledger : this.#o.peerLedger?.(this.#sessions.get(sessionId)?.peer ?? '');
        if (!ledger) {
          this.#report(sessionId, { kind: 'needs-operator', detail: 'past the deadline with no access to the origin ledger' });
          return undefined;
        }
        ledger.status(e.opId).then(
          (receipt) => this.#dispatch(sessionId, { kind: 'ledger-status', now: this.#o.clock.now(), ledger: e.ledger, opId: e.opId, receipt }),
          () => this.#arm(sessionId, e.ledger === 'own' ? 'ledger-retry' : 'deadline', this.#o.clock.now() + this.#o.config.retransmitMs),
        );
        return undefined;
      }
      case 'set-timer':
        this.#arm(sessionId, e.timer, e.at);
        return undefined;
      case 'clear-timer': {
        const key = `${sessionId}\u0000${e.timer}`;
        const t = this.#timers.get(key);
        if (t !== undefined) this.#o.clock.clearTimer(t);
        this.#timers.delete(key);
        return undefined;
      }
      case 'report':
        this.#report(sessionId, e.report);
        if (e.report.kind === 'refused') return { accepted: false, code: e.report.code, status: 400, detail: e.report.detail };
        return undefined;
    }
  }

  #arm(sessionId: string, timer: TimerName, at: number): void {
    if (this.#closed) return;
    const key = `${sessionId}\u0000${timer}`;
    const old = this.#timers.get(key);
    if (old !== undefined) this.#o.clock.clearTimer(old);
    this.#timers.set(key, this.#o.clock.setTimer(at, () => {
      this.#timers.delete(key);
      void this.#dispatch(sessionId, { kind: 'timer', now: this.#o.clock.now(), timer });
    }));
  }

  async #send(to: string, message: SatpMessage): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#o.outbox.send(to, await sealMessage(message, this.id, this.#o.signer));
    } catch {
      // Delivery is at most once; an unanswered message is resent by its retransmit timer.
    }
  }

  #report(sessionId: string, report: Report): void {
    if (report.kind === 'ended') {
      for (const w of this.#waiters.get(sessionId) ?? []) w(report.outcome);
      this.#waiters.delete(sessionId);
    }
    this.#o.onReport?.(sessionId, report);
  }
}

