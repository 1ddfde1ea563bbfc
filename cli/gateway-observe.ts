// Observers around the gateway's store, ledgers and outbox: they print events and inject a crash on request.
//
// They add nothing to what the driver does. The crash hook (`--crash-after`) kills this process with
// SIGKILL at an exact point, such as right after the burn's `exec` entry (3.4) is durable and before the
// ledger is called. An outside kill can't hit that point reliably.
import type { ChainHead, LogEntry } from '../kernel/entry.ts';
import type { AssetRecord, Ledger, LedgerAttestation, LedgerOp, LedgerReceipt } from '../kernel/ledger.ts';
import type { Outbox } from '../kernel/driver.ts';
import type { Envelope } from '../kernel/satp/envelope.ts';
import type { LogStoreDriver } from '../storage/driver.ts';
import { LogStore, type LogStoreOptions } from '../storage/log-store.ts';
import { appendFields, copyFields, type Emit, peek } from './gateway-events.ts';

/**
 * Where to crash: after the first durable append holding an own entry of `step` (its exec, ack or done:
 * the entry that says the step was taken), or after a message of `type` was handed to the socket.
 */
export type CrashPoint = { kind: 'step'; step: string } | { kind: 'sent'; type: string };

export function parseCrashPoint(text: string): CrashPoint {
  if (text.startsWith('sent:')) return { kind: 'sent', type: text.slice(5) };
  if (!/^(\d\.\d|rollback|deadline|recovery|end)$/.test(text))
    throw new RangeError(
      `bad crash point ${JSON.stringify(text)}: want a step label (e.g. 3.4) or sent:<message type>`,
    );
  return { kind: 'step', step: text };
}

/** Called at a crash point: prints the crash event, then SIGKILLs this process (never returns). */
export type Crash = (where: string) => never;

/** A LogStore that prints every durable append and can crash right after one. */
export class ObservedLogStore extends LogStore {
  readonly #self: string;
  readonly #emit: Emit;
  #crashAt: CrashPoint | undefined;
  readonly #crash: Crash;

  constructor(
    driver: LogStoreDriver,
    options: LogStoreOptions & { self: string; emit: Emit; crashAt?: CrashPoint; crash: Crash },
  ) {
    super(driver, options);
    this.#self = options.self;
    this.#emit = options.emit;
    this.#crashAt = options.crashAt;
    this.#crash = options.crash;
  }

  // updateLog appends the peer's entries through this method too. An append holds entries of one chain: this
  // gateway's own are printed one line each, a copy of the peer's as one line for the whole append (a recovered
  // gateway copies thousands, and a line each was a tenth of its CPU time).
  override async writeLogEntries(entries: unknown): Promise<ChainHead> {
    const head = await super.writeLogEntries(entries);
    const written = entries as LogEntry[];
    const first = written[0];
    if (first && first.author !== this.#self) this.#emit('copy', copyFields(written));
    else for (const e of written) this.#emit('append', appendFields(e));
    const at = this.#crashAt;
    if (
      at?.kind === 'step' &&
      written.some(
        (e) => e.author === this.#self && e.step === at.step && e.operation !== 'init' && e.operation !== 'fail',
      )
    ) {
      this.#crashAt = undefined;
      this.#crash(`after appending step ${at.step}`);
    }
    return head;
  }
}

/** A ledger whose calls and answers are printed. */
export class ObservedLedger implements Ledger {
  constructor(
    private readonly inner: Ledger,
    private readonly emit: Emit,
    private readonly role: 'own' | 'peer',
  ) {}

  get id(): string {
    return this.inner.id;
  }

  async execute(op: LedgerOp): Promise<LedgerReceipt> {
    const base = {
      ledger: this.inner.id,
      role: this.role,
      call: 'execute',
      kind: op.kind,
      opId: op.opId,
      asset: op.assetId,
    };
    try {
      const r = await this.inner.execute(op);
      // A chain ledger's receipt names its transaction: the timeline shows it (docs/evm-ledger.md).
      const tx = r.evidence?.txHash;
      this.emit('ledger', { ...base, ok: r.ok, code: r.error?.code, txSeq: r.txSeq, ...(tx ? { tx } : {}) });
      return r;
    } catch (err) {
      this.emit('ledger', { ...base, failed: String(err) });
      throw err;
    }
  }

  async status(opId: string): Promise<LedgerReceipt | undefined> {
    const base = { ledger: this.inner.id, role: this.role, call: 'status', opId };
    try {
      const r = await this.inner.status(opId);
      this.emit('ledger', { ...base, found: r !== undefined, ok: r?.ok, code: r?.error?.code });
      return r;
    } catch (err) {
      this.emit('ledger', { ...base, failed: String(err) });
      throw err;
    }
  }

  asset(assetId: string): Promise<AssetRecord | undefined> {
    return this.inner.asset(assetId);
  }

  async attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    const base = { ledger: this.inner.id, role: this.role, call: 'attest', asset: assetId, opIds: [...opIds] };
    try {
      const a = await this.inner.attest(assetId, opIds);
      this.emit('ledger', { ...base, state: a.asset?.state ?? 'absent', ledgerTime: a.ledgerTime, recorded: a.ops });
      return a;
    } catch (err) {
      this.emit('ledger', { ...base, failed: String(err) });
      throw err;
    }
  }
}

/** An outbox that prints each send and its result, and can crash once a given message type was sent. */
export function observedOutbox(inner: Outbox, emit: Emit, crashAt: CrashPoint | undefined, crash: Crash): Outbox {
  let armed = crashAt?.kind === 'sent' ? crashAt.type : undefined;
  return {
    async send(to: string, envelope: Envelope): Promise<void> {
      const { type, session } = peek(envelope);
      try {
        await inner.send(to, envelope);
      } catch (err) {
        emit('send', { to, type, session, ok: false, error: (err as { code?: string }).code ?? String(err) });
        throw err;
      }
      emit('send', { to, type, session, ok: true });
      if (armed !== undefined && type === armed) {
        armed = undefined;
        crash(`after sending ${type}`);
      }
    },
  };
}
