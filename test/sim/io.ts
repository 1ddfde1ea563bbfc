// The I/O a gateway does, held by the scheduler: store appends and ledger calls wait in a queue until it runs them.
//
// The disk is a MemoryDriver per gateway and outlives every incarnation; a crash decides (from the
// seed) whether an append in flight landed, and whether a ledger request in flight reached the ledger.
// Store reads pass straight through, but the world may fail them (storage faults).
import type { ChainHead } from '../../kernel/entry.ts';
import type { SatpError } from '../../kernel/errors.ts';
import type { AssetRecord, Ledger, LedgerAttestation, LedgerOp, LedgerReceipt } from '../../kernel/ledger.ts';
import type { LogStoreDriver, StoredHead } from '../../storage/driver.ts';
import type { MemoryDriver } from '../../storage/memory.ts';
import type { MemoryLedger } from '../../ledgers/memory-ledger.ts';

/** One incarnation of a gateway process; `alive` turns false at its crash and never back. */
export interface Incarnation {
  node: string;
  gen: number;
  alive: boolean;
}

interface PendingBase {
  id: number;
  inc: Incarnation;
  /** Not runnable before this world time (a slow sync, a call that hangs until it times out). */
  readyAt?: number;
}

export interface PendingAppend extends PendingBase {
  kind: 'append';
  /** 1-based count of appends this gateway has issued in the run (the write point). */
  index: number;
  logId: string;
  expected: ChainHead;
  texts: readonly string[];
  next: StoredHead;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The methods of the Ledger contract: every one of them goes through the queue. */
export type LedgerMethod = {
  [K in keyof Ledger]: Ledger[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Ledger];

export interface PendingLedgerCall extends PendingBase {
  kind: 'ledger';
  call: LedgerMethod;
  args: readonly unknown[];
  ledger: MemoryLedger;
  /** The op of an execute (for the crash bookkeeping and the scenarios' hooks). */
  op?: LedgerOp;
  /** Decided by a timeout fault: the call rejects at readyAt; whether the ledger had applied it first. */
  timedOut?: { applied: boolean; ms: number };
  resolve: (r: unknown) => void;
  reject: (err: unknown) => void;
}

export type Work = PendingAppend | PendingLedgerCall;

/** How the simulator treats one Ledger method. */
export interface LedgerCallSpec {
  /** The call can change the ledger: a fault or a crash may leave it applied or not. */
  mutates: boolean;
  /** The request, for the timeline. */
  label: (args: readonly unknown[]) => string;
  /** The answer, for the timeline. */
  answer: (result: unknown) => string;
}

const receiptLabel = (r: LedgerReceipt): string => (r.ok ? 'applied' : `refused ${r.error?.code}`);

/**
 * Every Ledger method, routed through the queue alike: a new method of the contract is a row here and a
 * one-line method of SimLedgerClient (the compiler asks for both). Faults apply to all of them: an outage
 * refuses any call, a read fault fails any call that does not mutate, a timeout hangs a mutating one.
 */
export const LEDGER_CALLS: Record<LedgerMethod, LedgerCallSpec> = {
  execute: {
    mutates: true,
    label: ([op]) => `${(op as LedgerOp).kind} ${(op as LedgerOp).assetId} (${(op as LedgerOp).opId})`,
    answer: (r) => receiptLabel(r as LedgerReceipt),
  },
  status: {
    mutates: false,
    label: ([opId]) => `status ${String(opId)}`,
    answer: (r) => (r ? receiptLabel(r as LedgerReceipt) : 'unknown'),
  },
  asset: {
    mutates: false,
    label: ([assetId]) => `asset ${String(assetId)}`,
    answer: (r) => (r ? `${(r as AssetRecord).state} (${(r as AssetRecord).owner})` : 'none'),
  },
  attest: {
    mutates: false,
    label: ([assetId, opIds]) => `attest ${String(assetId)} [${(opIds as string[]).join(', ')}]`,
    answer: (r) => {
      const a = r as LedgerAttestation;
      const asset = a.asset
        ? `${a.asset.state}${a.asset.lockExpiresAt !== undefined ? ` until ${a.asset.lockExpiresAt}` : ''}`
        : 'no asset';
      return `${asset} at ${a.ledgerTime}; recorded [${a.ops.map((o) => `${o.opId}:${o.ok}`).join(', ')}]`;
    },
  },
};

export const ledgerCallLabel = (w: PendingLedgerCall): string => `${w.ledger.id} ${LEDGER_CALLS[w.call].label(w.args)}`;

export interface WorkQueue {
  nextId(): number;
  nextAppendIndex(node: string): number;
  push(w: Work): void;
  /** Whether a store read of `inc` fails now (a storage fault), and with what. */
  readFault(inc: Incarnation, call: 'head' | 'read' | 'openLogs', logId?: string): SatpError | undefined;
}

/** A promise that never settles: what a call made by a dead process gets. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** The incarnation's view of its disk: reads pass through (unless a fault fails them), appends wait in the queue. */
export class CrashableDriver implements LogStoreDriver {
  readonly name = 'sim';
  readonly capabilities = { persistent: true, durable: true };

  constructor(
    readonly disk: MemoryDriver,
    readonly inc: Incarnation,
    readonly queue: WorkQueue,
  ) {}

  head(logId: string): Promise<StoredHead | undefined> {
    return this.#read('head', logId, () => this.disk.head(logId));
  }
  read(logId: string, from: number, to: number): Promise<string[]> {
    return this.#read('read', logId, () => this.disk.read(logId, from, to));
  }
  openLogs(): Promise<string[]> {
    return this.#read('openLogs', undefined, () => this.disk.openLogs());
  }
  async close(): Promise<void> {}

  #read<T>(call: 'head' | 'read' | 'openLogs', logId: string | undefined, run: () => Promise<T>): Promise<T> {
    if (!this.inc.alive) return never();
    const err = this.queue.readFault(this.inc, call, logId);
    return err ? Promise.reject(err) : run();
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    if (!this.inc.alive) return never();
    return new Promise<void>((resolve, reject) => {
      const q = this.queue;
      const index = q.nextAppendIndex(this.inc.node);
      q.push({ kind: 'append', id: q.nextId(), inc: this.inc, index, logId, expected, texts, next, resolve, reject });
    });
  }
}

/** A gateway's connection to a ledger: each call waits in the queue until the scheduler runs it. */
export class SimLedgerClient implements Ledger {
  constructor(
    readonly target: MemoryLedger,
    readonly inc: Incarnation,
    readonly queue: WorkQueue,
  ) {}

  get id(): string {
    return this.target.id;
  }

  execute(op: LedgerOp): Promise<LedgerReceipt> {
    return this.#call('execute', [op], op);
  }
  status(opId: string): Promise<LedgerReceipt | undefined> {
    return this.#call('status', [opId]);
  }
  asset(assetId: string): Promise<AssetRecord | undefined> {
    return this.#call('asset', [assetId]);
  }
  attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    return this.#call('attest', [assetId, opIds]) as Promise<LedgerAttestation>;
  }

  #call<T>(call: LedgerMethod, args: unknown[], op?: LedgerOp): Promise<T> {
    if (!this.inc.alive) return never();
    return new Promise<T>((resolve, reject) => {
      const id = this.queue.nextId();
      const settle = resolve as (r: unknown) => void;
      const w: PendingLedgerCall = {
        kind: 'ledger',
        id,
        inc: this.inc,
        call,
        args,
        ledger: this.target,
        resolve: settle,
        reject,
      };
      this.queue.push(op ? { ...w, op } : w);
    });
  }
}

/** Runs a queued ledger call against its ledger (whatever the method). */
export const callLedger = (w: PendingLedgerCall): Promise<unknown> =>
  (w.ledger[w.call] as (...args: unknown[]) => Promise<unknown>).apply(w.ledger, [...w.args]);

/** Entries of an append as `step:operation:payloadKind`, for the timeline and the write-point kinds. */
export function describeAppend(texts: readonly string[]): { step: string; operation: string; payload: string }[] {
  return texts.map((t) => {
    const e = JSON.parse(t) as {
      step: string;
      operation: string;
      payload: { kind?: string; messageType?: string; message?: { messageType?: string }; op?: { kind?: string } };
    };
    return { step: e.step, operation: e.operation, payload: payloadLabel(e.payload) };
  });
}

const short = (urn: string | undefined): string => (urn ? urn.slice(urn.lastIndexOf(':') + 1) : '?');

function payloadLabel(p: {
  kind?: string;
  messageType?: string;
  message?: { messageType?: string };
  op?: { kind?: string };
  outcome?: string;
}): string {
  switch (p.kind) {
    case 'send':
    case 'receive':
      return `${p.kind} ${short(p.message?.messageType)}`;
    case 'recovery-send':
    case 'recovery-receive':
      return `${p.kind} ${short(p.messageType)}`;
    case 'ledger-op':
    case 'ledger-done':
    case 'ledger-failed':
      return `${p.kind} ${p.op?.kind}`;
    case 'end':
      return `end ${p.outcome}`;
    default:
      return p.kind ?? '?';
  }
}
