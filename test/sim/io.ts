// The I/O a gateway does, held by the scheduler: store appends and ledger calls wait in a queue until it runs them.
//
// The disk is a MemoryDriver per gateway and outlives every incarnation; a crash decides (from the
// seed) whether an append in flight landed, and whether a ledger request in flight reached the ledger.
import type { ChainHead } from '../../kernel/entry.ts';
import type { AssetRecord, Ledger, LedgerOp, LedgerReceipt } from '../../kernel/ledger.ts';
import type { LogStoreDriver, StoredHead } from '../../storage/driver.ts';
import type { MemoryDriver } from '../../storage/memory.ts';
import type { MemoryLedger } from '../../ledgers/memory-ledger.ts';

/** One incarnation of a gateway process; `alive` turns false at its crash and never back. */
export interface Incarnation {
  node: string;
  gen: number;
  alive: boolean;
}

export interface PendingAppend {
  kind: 'append';
  id: number;
  inc: Incarnation;
  /** 1-based count of appends this gateway has issued in the run (the write point). */
  index: number;
  logId: string;
  expected: ChainHead;
  texts: readonly string[];
  next: StoredHead;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface PendingLedgerCall {
  kind: 'ledger';
  id: number;
  inc: Incarnation;
  call: 'execute' | 'status';
  ledger: MemoryLedger;
  op?: LedgerOp;
  opId: string;
  resolve: (r: LedgerReceipt | undefined) => void;
  reject: (err: unknown) => void;
}

export type Work = PendingAppend | PendingLedgerCall;

export interface WorkQueue {
  nextId(): number;
  nextAppendIndex(node: string): number;
  push(w: Work): void;
}

/** A promise that never settles: what a call made by a dead process gets. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** The incarnation's view of its disk: reads pass through, appends wait for the scheduler. */
export class CrashableDriver implements LogStoreDriver {
  readonly name = 'sim';
  readonly capabilities = { persistent: true, durable: true };

  constructor(
    readonly disk: MemoryDriver,
    readonly inc: Incarnation,
    readonly queue: WorkQueue,
  ) {}

  head(logId: string): Promise<StoredHead | undefined> {
    return this.inc.alive ? this.disk.head(logId) : never();
  }
  read(logId: string, from: number, to: number): Promise<string[]> {
    return this.inc.alive ? this.disk.read(logId, from, to) : never();
  }
  openLogs(): Promise<string[]> {
    return this.inc.alive ? this.disk.openLogs() : never();
  }
  async close(): Promise<void> {}

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    if (!this.inc.alive) return never();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'append', id: this.queue.nextId(), inc: this.inc, index: this.queue.nextAppendIndex(this.inc.node), logId, expected, texts, next, resolve, reject });
    });
  }
}

/** A gateway's connection to a ledger: each execute or status waits in the queue until the scheduler runs it. */
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
    if (!this.inc.alive) return never();
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'ledger', id: this.queue.nextId(), inc: this.inc, call: 'execute', ledger: this.target, op, opId: op.opId, resolve: resolve as (r: LedgerReceipt | undefined) => void, reject });
    });
  }

  status(opId: string): Promise<LedgerReceipt | undefined> {
    if (!this.inc.alive) return never();
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'ledger', id: this.queue.nextId(), inc: this.inc, call: 'status', ledger: this.target, opId, resolve, reject });
    });
  }

  asset(assetId: string): Promise<AssetRecord | undefined> {
    return this.target.asset(assetId);
  }
}

/** Entries of an append as `step:operation:payloadKind`, for the timeline and the write-point kinds. */
export function describeAppend(texts: readonly string[]): { step: string; operation: string; payload: string }[] {
  return texts.map((t) => {
    const e = JSON.parse(t) as { step: string; operation: string; payload: { kind?: string; messageType?: string; message?: { messageType?: string }; op?: { kind?: string } } };
    return { step: e.step, operation: e.operation, payload: payloadLabel(e.payload) };
  });
}

const short = (urn: string | undefined): string => (urn ? urn.slice(urn.lastIndexOf(':') + 1) : '?');

function payloadLabel(p: { kind?: string; messageType?: string; message?: { messageType?: string }; op?: { kind?: string }; outcome?: string }): string {
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
