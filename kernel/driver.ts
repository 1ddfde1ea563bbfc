// The gateway driver, the kernel's one async part: it feeds events to the reducer and executes what comes back.
// It makes each step's entries durable before any effect of that step runs, runs the effects in order, turns
// their results into events, re-arms timers after a restart, and never decides protocol: every decision is the
// reducer's (kernel/satp/). Time, transport, ledgers and storage are handed in through the ports (kernel/ports.ts).
import { logIdOf, type LogEntry } from './entry.ts';
import { type KeyResolver, sameKey, type Signer, type Verifier } from './crypto/types.ts';
import { claimsTakeover, type SuccessorAuthority, type TakeoverPayload } from './takeover.ts';
import type { Ledger } from './ledger.ts';
import { KeyedLock } from './keyed-lock.ts';
import { deepFreeze, sealEntry } from './seal.ts';
import { GATEWAY_REFUSALS } from './satp/error-codes.ts';
import { refuseEnvelope } from './satp/refuse.ts';
import type {
  About,
  Effect,
  GatewayConfig,
  GatewayEvent,
  Report,
  StoreRequest,
  StoreResult,
  TimerName,
} from './satp/effects.ts';
import { openEnvelope, sealMessage } from './satp/envelope.ts';
import type { SatpMessage } from './satp/messages.ts';
import type { TransferRequest } from './satp/payloads.ts';
import { reduce } from './satp/reduce.ts';
import { RECOVER_PAGE } from './satp/recovery-messages.ts';
import { type LedgerCheckers, ProofsUnavailable, withCheckedProofs } from './satp/proofs.ts';
import { isSatpError, type SatpError } from './errors.ts';
import { replay, type Outcome, type SessionState } from './satp/state.ts';
import type { Clock, Outbox, SessionLogStore } from './ports.ts';

export type { Clock, Outbox } from './ports.ts';

export interface GatewayOptions {
  config: GatewayConfig;
  signer: Signer;
  verifier: Verifier;
  /** Trusted keys of peers (and of this gateway). */
  keys: KeyResolver;
  store: SessionLogStore;
  outbox: Outbox;
  /** The ledger this gateway operates on. */
  ledger: Ledger;
  /** Read access to a peer's ledger, for the destination's question to the origin ledger past the deadline. */
  peerLedger?: (peer: string) => Ledger | undefined;
  clock: Clock;
  onReport?: (sessionId: string, report: Report) => void;
  /**
   * Who may take a peer gateway's place (recovery-04 §6.1; identity/x509.ts `successorAuthority`): a message whose
   * envelope carries a certificate (x5c) is trusted only if this authority accepts it for its sender. Without it,
   * no backup of a peer is ever trusted. The store's own authority (LogStoreOptions.successor) covers the chains.
   */
  successor?: SuccessorAuthority;
  /**
   * Set when this gateway acts in the place of `config.id` after a takeover (see takeOver): its own certificate,
   * base64 DER, sent with every message so the peer can check it. A backup (a key other than `keys(config.id)`)
   * starts no session; the primary taking its chains back passes its own certificate and starts sessions as ever.
   */
  certificate?: string;
  /**
   * Checkers of the ledgers that are chains, by ledger (network) id (ledgers/evm/check.ts): their receipts and
   * attestations carry chain evidence, checked by reading the chain. Ledgers that sign are checked by their key.
   */
  ledgerCheckers?: LedgerCheckers;
  /**
   * How many ended sessions stay in memory, the most recently ended ones, so that a late duplicate about one is
   * answered without a read. An older one is forgotten: an event about it loads it from its log, verified as after
   * a restart, and gets the same answer. Default 1024; 0 forgets a session once it has ended and holds no timer.
   * Open sessions are always held. This is what keeps a gateway's memory flat over months of transfers.
   */
  keepEnded?: number;
}

/** Every timer a session can hold (typed so that a new TimerName must be listed). */
const TIMER_NAMES = Object.keys({
  retransmit: true,
  deadline: true,
  'ledger-retry': true,
  recover: true,
} satisfies Record<TimerName, true>) as TimerName[];

/** A session's timer, as #timers and #epochs know it. */
const timerKey = (sessionId: string, timer: TimerName): string => `${sessionId}\u0000${timer}`;

/** A page of a session's own chain, as the store reads it. */
type Page = Awaited<ReturnType<SessionLogStore['readPage']>>;
/** Sessions whose next page may be read ahead at once: each holds up to RECOVER_PAGE_CHARS of entries. */
const READ_AHEAD_SESSIONS = 16;

export type ReceiveResult = { accepted: true } | { accepted: false; code: string; status: number; detail: string };

/** What a local caller is told of a refusal: its code and status (kernel/satp/error-codes.ts), and why. */
const refused = (r: { code: string; status: number }, detail: string): ReceiveResult => ({
  accepted: false,
  code: r.code,
  status: r.status,
  detail,
});

const CLOSED: ReceiveResult = refused(GATEWAY_REFUSALS.closed, GATEWAY_REFUSALS.closed.title);

/** Store error codes that mean "the input does not verify" (nothing stored), as opposed to the store failing. */
const REFUSALS: ReadonlySet<string> = new Set([
  'INVALID_INPUT',
  'BAD_HASH',
  'BAD_SIGNATURE',
  'UNKNOWN_AUTHOR',
  'CHAIN_CONFLICT',
]);

/**
 * A step could not be completed because the store failed; it is tried again after a pause. `moved`: the chain's
 * head is not where the step started, or could not be read, so the session is reloaded before the retry.
 */
/**
 * The store refused an append with FENCED: a backup has taken the session's log over (a higher fencing epoch).
 * Nothing of the step was written; this gateway steps down from the session and acts on it no more.
 */
class SessionFenced extends Error {}

/** This gateway's own store refused its takeover entry (its certificate does not make it a successor there). */
class TakeoverRefused extends Error {}

class StoreUnavailable extends Error {
  constructor(
    message: string,
    readonly moved = false,
  ) {
    super(message);
  }
}

export class Gateway {
  readonly id: string;
  readonly #o: GatewayOptions;
  readonly #sessions = new Map<string, SessionState>();
  /** The ended sessions among #sessions, least recently ended first: forgotten past options.keepEnded. */
  readonly #ended = new Set<string>();
  /** Sessions whose own chain failed verification: never resumed, left for an operator. */
  readonly #quarantined = new Map<string, string>();
  /** Sessions a backup took over (the store refused an append with FENCED), with why: never acted on again. */
  readonly #fenced = new Map<string, string>();
  readonly #lock = new KeyedLock();
  readonly #timers = new Map<string, unknown>();
  /** The arming of each timer in force: a timer cleared or re-armed after it fired does not deliver. */
  readonly #epochs = new Map<string, number>();
  /** The last epoch given out: one counter for all timers, so a forgotten timer's epoch is never given again. */
  #epoch = 0;
  readonly #waiters = new Map<string, ((o: Outcome) => void)[]>();
  /**
   * A peer paging through a session's chain (RECOVER after RECOVER, `more`) asks next from the last entry of the page
   * it got. Where the next page starts (set when a page is read), and that page, read ahead while the peer verifies
   * and appends the one before, for the session's chain as it stood at `head`: the same read, if nothing was appended
   * since. At most READ_AHEAD_SESSIONS pages are held.
   */
  readonly #nextPage = new Map<string, { from: number; maxChars: number }>();
  readonly #readAhead = new Map<
    string,
    { from: number; maxChars: number; head: string; page: Promise<Page | undefined> }
  >();
  #closed = false;
  #pauses = 0;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.id = options.config.id;
  }

  /**
   * recovery-04 §5.1: replay every unfinished session of this gateway and resume it. A session whose chain does
   * not verify is reported for an operator and left alone; every other one recovers. A store that fails is
   * asked again after a pause, until it answers or the gateway is closed. Resolves with how many sessions resumed.
   */
  async boot(): Promise<number> {
    const open = await this.#retrying(() => this.#o.store.listOpenLogs());
    if (!open) return 0;
    const mine = open.filter((l) => l.author === this.id);
    const resumed = await Promise.all(mine.map((l) => this.#lock.run(l.sessionId, () => this.#bootOne(l.sessionId))));
    return resumed.filter(Boolean).length;
  }

  startTransfer(request: TransferRequest): Promise<ReceiveResult> {
    return this.#dispatch(request.sessionId, { kind: 'start', now: this.#o.clock.now(), request });
  }

  abort(sessionId: string, reason: string): Promise<ReceiveResult> {
    return this.#dispatch(sessionId, { kind: 'abort', now: this.#o.clock.now(), reason });
  }

  /**
   * recovery-04 §5.1, §6.1: this gateway is a backup taking the place of `config.id`, whose open sessions it finds
   * in the shared store (after the store fenced their old writer: see gateway/ha.ts). Each open session gets a
   * takeover entry, signed with this gateway's key and naming its certificate, then recovers as after a crash:
   * RECOVER says isBackup, with this gateway's key as newIdentityPublicKey. A session whose chain this key signs
   * already (taken over earlier by this backup, or never left by this primary) is only booted. Resolves with how
   * many sessions it resumed.
   */
  async takeOver(takeover: Omit<TakeoverPayload, 'kind' | 'publicKey'>): Promise<number> {
    const t = { ...takeover, publicKey: this.#o.signer.publicJwk };
    const open = await this.#retrying(() => this.#o.store.listOpenLogs());
    if (!open) return 0;
    const mine = open.filter((l) => l.author === this.id);
    const taken = await Promise.all(
      mine.map((l) =>
        this.#lock.run(l.sessionId, async () => {
          const state = this.#sessions.get(l.sessionId) ?? (await this.#retrying(() => this.#load(l.sessionId)));
          if (!state || this.#closed) return false;
          // The key in force is already this gateway's (this backup restarted, or the primary never left): boot.
          const inForce = state.successor?.key ?? this.#o.keys(this.id);
          if (!inForce || !sameKey(inForce, t.publicKey)) {
            const r = await this.#process(l.sessionId, { kind: 'takeover', now: this.#o.clock.now(), takeover: t });
            if (!r.accepted || this.#closed) return false;
          }
          await this.#process(l.sessionId, { kind: 'boot', now: this.#o.clock.now() });
          return true;
        }),
      ),
    );
    return taken.filter(Boolean).length;
  }

  /** A message from the transport; `from` is the peer the transport authenticated. */
  async receive(from: string, envelope: unknown): Promise<ReceiveResult> {
    const trust = this.#o.successor ? { authority: this.#o.successor, now: this.#o.clock.now() } : undefined;
    const opened = await openEnvelope(envelope, from, this.#o.keys, this.#o.verifier, trust);
    if (!opened.ok) {
      const sessionId = opened.hint?.sessionId ?? '';
      return this.#runAll(sessionId, refuseEnvelope(opened, from, this.#o.clock.now()));
    }
    const m = opened.message;
    return this.#dispatch(m.sessionId, {
      kind: 'message',
      now: this.#o.clock.now(),
      from,
      message: m,
      hash: opened.hash,
      proofs: [],
    });
  }

  session(sessionId: string): SessionState | undefined {
    return this.#sessions.get(sessionId);
  }

  sessions(): SessionState[] {
    return [...this.#sessions.values()];
  }

  /** Sessions left for an operator because their chain does not verify, with why. */
  quarantined(): Map<string, string> {
    return new Map(this.#quarantined);
  }

  /** Sessions this gateway stepped down from because a backup fenced their log, with why. */
  fenced(): Map<string, string> {
    return new Map(this.#fenced);
  }

  /**
   * Resolves when the session ends (committed, rolled back or rejected), at once if it has ended already: also
   * when it ended before this gateway started, which only its chain in the store still says.
   */
  whenEnded(sessionId: string): Promise<Outcome> {
    const s = this.#sessions.get(sessionId);
    if (s?.status.kind === 'ended') return Promise.resolve(s.status.outcome);
    const ended = new Promise<Outcome>((resolve) =>
      this.#waiters.set(sessionId, [...(this.#waiters.get(sessionId) ?? []), resolve]),
    );
    if (!s && !this.#closed)
      void this.#lock.run(sessionId, async () => {
        if (this.#sessions.has(sessionId) || this.#closed) return;
        // A store that fails here changes nothing: the session is loaded by its next event, as ever. Not
        // reported again: it ended in an earlier life, whose report said so.
        const loaded = await this.#load(sessionId).catch(() => undefined);
        if (loaded?.status.kind === 'ended') this.#endWaiters(sessionId, loaded.status.outcome);
      });
    return ended;
  }

  /** Stops timers and stops acting; the store and ledgers belong to the caller. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) this.#o.clock.clearTimer(t);
    this.#timers.clear();
    this.#readAhead.clear();
    this.#nextPage.clear();
  }

  #dispatch(sessionId: string, event: GatewayEvent): Promise<ReceiveResult> {
    return this.#lock.run(sessionId, () => this.#process(sessionId, event));
  }

  /** Loads one open session at boot (verified first) and hands it the boot event; false if it was not resumed. */
  async #bootOne(sessionId: string): Promise<boolean> {
    const state = await this.#retrying(() => this.#load(sessionId));
    if (!state || this.#closed) return false;
    await this.#process(sessionId, { kind: 'boot', now: this.#o.clock.now() });
    return true;
  }

  /**
   * One event, to completion: reduce, append, run the effects, then process the events those effects produced
   * (store results). A store that fails leaves the session as it was; the event is reduced again after a pause
   * (with the time of the retry), so no event is dropped and no step is taken twice.
   */
  async #process(sessionId: string, event: GatewayEvent): Promise<ReceiveResult> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return CLOSED;
      try {
        return await this.#step(sessionId, event);
      } catch (err) {
        if (err instanceof SessionFenced) return this.#stepDown(sessionId, err.message);
        if (err instanceof TakeoverRefused) {
          // Nothing was written; retrying cannot make the certificate acceptable. The session stays the primary's.
          this.#sessions.delete(sessionId);
          this.#report(sessionId, { kind: 'needs-operator', detail: err.message });
          return refused(GATEWAY_REFUSALS.successorOnly, err.message);
        }
        if (!(err instanceof StoreUnavailable) && !(err instanceof ProofsUnavailable)) throw err;
        if (attempt === 0)
          this.#report(sessionId, {
            kind: 'ignored',
            detail:
              err instanceof ProofsUnavailable
                ? `a proof cannot be checked on its chain now; the step will be tried again: ${err.message}`
                : `the store failed; the step will be tried again: ${err.message}`,
          });
        if (!(await this.#pause(attempt))) return CLOSED;
        // The chain moved under the step (an earlier append landed after all): pick up where it stands first.
        if (err instanceof StoreUnavailable && err.moved)
          await this.#process(sessionId, { kind: 'reload', now: this.#o.clock.now() });
        event = { ...event, now: this.#o.clock.now() };
      }
    }
  }

  async #step(sessionId: string, raw: GatewayEvent): Promise<ReceiveResult> {
    const fenced = this.#fenced.get(sessionId);
    if (fenced !== undefined) return refused(GATEWAY_REFUSALS.fenced, fenced);
    if (this.#quarantined.has(sessionId)) {
      const why = this.#quarantined.get(sessionId)!;
      this.#report(sessionId, { kind: 'needs-operator', detail: `session left for an operator: ${why}` });
      return refused(GATEWAY_REFUSALS.quarantined, why);
    }
    const state = this.#sessions.get(sessionId) ?? (await this.#storeCall(() => this.#load(sessionId)));
    if (this.#quarantined.has(sessionId)) return this.#step(sessionId, raw);
    const event = await withCheckedProofs(
      raw,
      this.#o.config,
      this.#o.verifier,
      raw.kind === 'attestation' ? state?.peer : undefined,
      this.#o.ledgerCheckers,
    );
    const { state: next, entries, effects } = reduce(state, event, this.#o.config);
    // A backup signs only chains whose takeover entry hands them to it: a chain it started would carry none. (The
    // primary itself, back in its own place, starts chains with the key they are checked against.)
    if (!state && entries.length > 0 && this.#successorOnly()) {
      const r = GATEWAY_REFUSALS.successorOnly;
      this.#report(sessionId, { kind: 'refused', code: r.code, status: r.status, detail: r.title });
      return refused(r, r.title);
    }
    if (entries.length > 0) {
      // Write-ahead: sealed and durable before any effect of this step runs.
      await this.#append(sessionId, state, await Promise.all(entries.map((b) => sealEntry(b, this.#o.signer))));
      // Closed (crashed) while the append was in flight: it may have landed, but nothing after it runs.
      if (this.#closed) return CLOSED;
    }
    if (next) {
      this.#hold(sessionId, next);
      this.#startReadAhead(sessionId, next);
    }
    const followUps: GatewayEvent[] = [];
    let result = await this.#runAll(sessionId, effects, followUps);
    for (const e of followUps) {
      const r = await this.#process(sessionId, e);
      if (!r.accepted) result = r;
    }
    return result;
  }

  /**
   * Appends a step's entries. When the append fails its outcome is unknown: the head is read back. Landed:
   * the step goes on. Not landed: StoreUnavailable, and the event is reduced again later. The head moved to
   * something else: the session is reloaded from the store before the retry.
   */
  async #append(sessionId: string, before: SessionState | undefined, sealed: LogEntry[]): Promise<void> {
    try {
      await this.#o.store.writeLogEntries(sealed);
      return;
    } catch (err) {
      // A refusal, not a failure: nothing was written, and nothing of this session may be written by us again.
      if (isSatpError(err, 'FENCED')) throw new SessionFenced(`the log store fenced this gateway: ${err.message}`);
      if (isSatpError(err) && REFUSALS.has(err.code) && sealed.some(claimsTakeover))
        throw new TakeoverRefused(`the log store refused the takeover: ${err.message}`);
      const last = sealed[sealed.length - 1]!;
      let head: Awaited<ReturnType<SessionLogStore['getHead']>>;
      try {
        head = await this.#o.store.getHead(logIdOf(sessionId, this.id));
      } catch (readErr) {
        // The outcome stays unknown: the retry reloads the session from the store first, whatever it holds.
        this.#sessions.delete(sessionId);
        throw new StoreUnavailable(
          `append of seq ${sealed[0]!.seqNumber}..${last.seqNumber} failed (${String(err)}), ` +
            `and its outcome could not be read: ${String(readErr)}`,
          true,
        );
      }
      if (head?.hash === last.entryHash && head.seq === last.seqNumber) return; // it landed after all
      const moved = (head?.hash ?? '0'.repeat(64)) !== (before?.head.hash ?? '0'.repeat(64));
      if (moved) this.#sessions.delete(sessionId); // reloaded from the store by the retry
      throw new StoreUnavailable(
        `append of seq ${sealed[0]!.seqNumber}..${last.seqNumber} failed: ${String(err)}`,
        moved,
      );
    }
  }

  /** A store call whose failure means "try the whole step again later". */
  async #storeCall<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw new StoreUnavailable(String(err));
    }
  }

  /** Retries `work` with backoff while the store fails; undefined once the gateway is closed. */
  async #retrying<T>(work: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (attempt === 0)
          this.#report('', { kind: 'ignored', detail: `the store failed at boot; trying again: ${String(err)}` });
        if (!(await this.#pause(attempt))) return undefined;
      }
    }
    return undefined;
  }

  /**
   * Waits (on the injected clock) before the next try: 50 ms doubling up to the retransmit interval. False once closed.
   */
  #pause(attempt: number): Promise<boolean> {
    const wait = Math.min(this.#o.config.retransmitMs, 50 * 2 ** Math.min(attempt, 16));
    return new Promise((resolve) => {
      if (this.#closed) return resolve(false);
      const key = `\u0000pause\u0000${++this.#pauses}`;
      this.#timers.set(
        key,
        this.#o.clock.setTimer(this.#o.clock.now() + wait, () => {
          this.#timers.delete(key);
          resolve(!this.#closed);
        }),
      );
    });
  }

  /**
   * A session not in memory: read and verify its chain. Ended sessions are loaded too, so duplicates still get
   * their answer. A chain that does not verify is never resumed: the session is quarantined for an operator.
   */
  async #load(sessionId: string): Promise<SessionState | undefined> {
    const logId = logIdOf(sessionId, this.id);
    if (!(await this.#o.store.getHead(logId))) return undefined;
    const verified = await this.#o.store.verifyLog(logId);
    if (!verified.ok) {
      const why =
        `own chain does not verify: ${verified.reason} at entry ${verified.index}` +
        `${verified.seqNumber !== undefined ? ` (seq ${verified.seqNumber})` : ''}: ${verified.detail}`;
      this.#quarantined.set(sessionId, why);
      this.#report(sessionId, { kind: 'needs-operator', detail: why });
      return undefined;
    }
    const state = replay(verified.entries);
    if (state) this.#hold(sessionId, state);
    return state;
  }

  /** Holds a session's state in memory; an ended one joins the most recently ended, and the oldest are forgotten. */
  #hold(sessionId: string, state: SessionState): void {
    this.#sessions.set(sessionId, state);
    this.#ended.delete(sessionId);
    if (state.status.kind !== 'ended') return;
    this.#ended.add(sessionId);
    const keep = Math.max(0, this.#o.keepEnded ?? 1024);
    let over = this.#ended.size - keep;
    for (const old of this.#ended) {
      if (over-- <= 0) break;
      // Under the old session's own lock, so no step of it is between reading its state and writing it back.
      this.#ended.delete(old);
      void this.#lock.run(old, async () => this.#forget(old));
    }
  }

  /** Forgets an ended session, unless it holds a timer: then it counts as ended most recently, and waits. */
  #forget(sessionId: string): void {
    const s = this.#sessions.get(sessionId);
    if (s?.status.kind !== 'ended' || this.#ended.has(sessionId)) return; // held again since
    if (TIMER_NAMES.some((t) => this.#timers.has(timerKey(sessionId, t)))) {
      this.#ended.add(sessionId);
      return;
    }
    this.#sessions.delete(sessionId);
    this.#readAhead.delete(sessionId);
    this.#nextPage.delete(sessionId);
    for (const t of TIMER_NAMES) this.#epochs.delete(timerKey(sessionId, t));
  }

  /** Runs effects in order; the caller's answer is the last refusal among them, else accepted. */
  async #runAll(sessionId: string, effects: readonly Effect[], followUps: GatewayEvent[] = []): Promise<ReceiveResult> {
    let result: ReceiveResult = { accepted: true };
    // The messages an effect list sends are sealed and handed over before its store work starts. That work (a page of
    // the peer's chain: checking every entry, a verification each) holds the thread and fills the crypto pool, and
    // the message before it (the RECOVER for the next page, which the peer reads and seals meanwhile) would wait.
    const sealing: Promise<void>[] = [];
    for (const effect of effects) {
      if (effect.kind === 'store' && sealing.length > 0) await Promise.all(sealing.splice(0));
      const r = await this.#execute(sessionId, effect, followUps, sealing);
      if (r) result = r;
    }
    return result;
  }

  async #execute(
    sessionId: string,
    e: Effect,
    followUps: GatewayEvent[],
    sealing: Promise<void>[],
  ): Promise<ReceiveResult | undefined> {
    switch (e.kind) {
      case 'send':
        sealing.push(this.#send(e.to, e.message, e.canonical));
        return undefined;
      case 'store':
        followUps.push({
          kind: 'store-result',
          now: this.#o.clock.now(),
          about: e.about,
          result: await this.#storeWork(sessionId, e.request, e.about),
        });
        return undefined;
      case 'ledger-execute':
        this.#o.ledger.execute(e.op).then(
          (receipt) =>
            this.#dispatch(sessionId, {
              kind: 'ledger-result',
              now: this.#o.clock.now(),
              opId: e.op.opId,
              receipt,
              verified: false,
            }),
          (err) =>
            this.#dispatch(sessionId, {
              kind: 'ledger-error',
              now: this.#o.clock.now(),
              opId: e.op.opId,
              error: String(err),
              ...(isSatpError(err) ? { code: err.code } : {}),
            }),
        );
        return undefined;
      case 'ledger-query':
        this.#o.ledger.status(e.opId).then(
          (receipt) =>
            this.#dispatch(sessionId, {
              kind: 'ledger-status',
              now: this.#o.clock.now(),
              opId: e.opId,
              receipt,
              verified: false,
            }),
          (err) =>
            this.#dispatch(sessionId, {
              kind: 'ledger-status-failed',
              now: this.#o.clock.now(),
              opId: e.opId,
              error: String(err),
            }),
        );
        return undefined;
      case 'ledger-attest': {
        const ledger = this.#o.peerLedger?.(e.peer);
        const base = { kind: 'attestation' as const, assetId: e.assetId, verified: false };
        if (!ledger) {
          followUps.push({ ...base, now: this.#o.clock.now(), noAccess: true });
          return undefined;
        }
        ledger.attest(e.assetId, e.opIds).then(
          (attestation) => this.#dispatch(sessionId, { ...base, now: this.#o.clock.now(), attestation }),
          (err) => this.#dispatch(sessionId, { ...base, now: this.#o.clock.now(), error: String(err) }),
        );
        return undefined;
      }
      case 'set-timer':
        this.#arm(sessionId, e.timer, e.at, e.attempt);
        return undefined;
      case 'clear-timer':
        this.#disarm(sessionId, e.timer);
        return undefined;
      case 'report':
        this.#report(sessionId, e.report);
        return e.report.kind === 'refused' ? refused(e.report, e.report.detail) : undefined;
    }
  }

  /** The store work a reducer asked for, as a result it decides on: never a throw. */
  async #storeWork(sessionId: string, request: StoreRequest, about: About): Promise<StoreResult> {
    try {
      if (request.kind === 'read-page') {
        const page = await this.#readPage(sessionId, request.from, request.maxChars);
        const last = page.entries[page.entries.length - 1];
        if (page.more && last) this.#nextPage.set(sessionId, { from: last.seqNumber, maxChars: request.maxChars });
        return { kind: 'page', entries: page.entries, more: page.more };
      }
      // Each entry frozen here, where the page is still only the driver's: the store then takes it as it is.
      if (Array.isArray(request.entries)) for (const e of request.entries) deepFreeze(e);
      const r = await this.#o.store.updateLog(logIdOf(sessionId, about.from), request.entries);
      return {
        kind: 'copy-updated',
        appended: r.appended,
        head: { seq: r.head.seq, hash: r.head.hash },
        pageEnd: r.pageEnd,
      };
    } catch (err) {
      const e = err as SatpError;
      const code = isSatpError(err) ? e.code : 'STORAGE_FAILURE';
      if (code === 'LOG_DIVERGED') {
        const d = (e.detail ?? {}) as { seq?: number; ours?: string; theirs?: string };
        return { kind: 'diverged', seq: d.seq ?? 0, ours: d.ours ?? '', theirs: d.theirs ?? '', detail: e.message };
      }
      if (REFUSALS.has(code)) return { kind: 'refused', code, detail: e.message };
      return { kind: 'failed', detail: String(err) };
    }
  }

  /** A page of this gateway's own chain: the one read ahead when it is that read, else read now. */
  async #readPage(sessionId: string, from: number, maxChars: number): Promise<Page> {
    const ahead = this.#readAhead.get(sessionId);
    this.#readAhead.delete(sessionId);
    const head = this.#sessions.get(sessionId)?.head.hash;
    if (ahead && ahead.from === from && ahead.maxChars === maxChars && ahead.head === head) {
      const page = await ahead.page;
      if (page) return page;
    }
    return this.#o.store.readPage(logIdOf(sessionId, this.id), from, RECOVER_PAGE, maxChars);
  }

  /**
   * After a step that answered a RECOVER with a page and `more`: reads the next page now, for the chain as the step
   * left it. Pages of a hash chain up to a given head never change, so the page is used only if the head is the same
   * when the peer asks; a read that fails is read again then.
   */
  #startReadAhead(sessionId: string, state: SessionState): void {
    const next = this.#nextPage.get(sessionId);
    if (!next || this.#closed) return;
    this.#nextPage.delete(sessionId);
    this.#readAhead.delete(sessionId);
    while (this.#readAhead.size >= READ_AHEAD_SESSIONS) this.#readAhead.delete(this.#readAhead.keys().next().value!);
    const page = this.#o.store
      .readPage(logIdOf(sessionId, this.id), next.from, RECOVER_PAGE, next.maxChars)
      .catch(() => undefined);
    this.#readAhead.set(sessionId, { ...next, head: state.head.hash, page });
  }

  #arm(sessionId: string, timer: TimerName, at: number, attempt?: number): void {
    if (this.#closed) return;
    const key = timerKey(sessionId, timer);
    const old = this.#timers.get(key);
    if (old !== undefined) this.#o.clock.clearTimer(old);
    const epoch = this.#bump(key);
    this.#timers.set(
      key,
      this.#o.clock.setTimer(at, () => {
        this.#timers.delete(key);
        // A timer that fired while its session was busy waits for the lock; cleared or re-armed meanwhile, it is void.
        void this.#lock.run(sessionId, () =>
          this.#epochs.get(key) === epoch
            ? this.#process(sessionId, {
                kind: 'timer',
                now: this.#o.clock.now(),
                timer,
                ...(attempt !== undefined ? { attempt } : {}),
              })
            : Promise.resolve(CLOSED),
        );
      }),
    );
  }

  /**
   * Steps down from a session a backup took over: forgets its state, disarms its timers, and refuses everything
   * about it from now on, so no message or ledger call of this gateway follows for it (the step that met the
   * fence ran none: effects run only after their entries are durable).
   */
  #stepDown(sessionId: string, why: string): ReceiveResult {
    this.#fenced.set(sessionId, why);
    this.#sessions.delete(sessionId);
    this.#readAhead.delete(sessionId);
    this.#nextPage.delete(sessionId);
    for (const t of TIMER_NAMES) if (this.#timers.has(timerKey(sessionId, t))) this.#disarm(sessionId, t);
    this.#report(sessionId, { kind: 'needs-operator', detail: `stepped down: ${why}` });
    return refused(GATEWAY_REFUSALS.fenced, why);
  }

  /** Whether this gateway acts in another's place with a key of its own (a backup): then it starts no chain. */
  #successorOnly(): boolean {
    if (this.#o.certificate === undefined) return false;
    const primary = this.#o.keys(this.id);
    return !primary || !sameKey(primary, this.#o.signer.publicJwk);
  }

  /** Clears a session's timer: a firing already waiting for the session's lock is void too. */
  #disarm(sessionId: string, timer: TimerName): void {
    const key = timerKey(sessionId, timer);
    const t = this.#timers.get(key);
    if (t !== undefined) this.#o.clock.clearTimer(t);
    this.#timers.delete(key);
    this.#bump(key);
  }

  /** A new epoch for a timer: every firing of an earlier arming is void from now on. */
  #bump(key: string): number {
    const epoch = ++this.#epoch;
    this.#epochs.set(key, epoch);
    return epoch;
  }

  /** Seals a message and hands it to the outbox; settles once handed over, not when delivered. Never rejects. */
  async #send(to: string, message: SatpMessage, canonical?: string): Promise<void> {
    if (this.#closed) return;
    try {
      // Only a backup needs to show its certificate: the primary's key is the one its peers know.
      const certificate = this.#successorOnly() ? this.#o.certificate : undefined;
      const envelope = await sealMessage(message, this.id, this.#o.signer, certificate, canonical);
      // Delivery is at most once; an unanswered message is resent by its retransmit timer.
      this.#o.outbox.send(to, envelope).catch(() => undefined);
    } catch {
      // Not sealed (the signer failed), or the outbox threw: the same, the message is not sent.
    }
  }

  #report(sessionId: string, report: Report): void {
    if (report.kind === 'ended') this.#endWaiters(sessionId, report.outcome);
    this.#o.onReport?.(sessionId, report);
  }

  #endWaiters(sessionId: string, outcome: Outcome): void {
    for (const w of this.#waiters.get(sessionId) ?? []) w(outcome);
    this.#waiters.delete(sessionId);
  }
}
