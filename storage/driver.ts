// The LogStore driver contract: a few dumb primitives; all validation sits in log-store.ts.
import type { ChainHead } from '../kernel/entry.ts';

/** Where a stored chain stands, and whether its session is still open (no `end` entry yet). */
export interface StoredHead extends ChainHead {
  open: boolean;
}

/** What a driver can promise; the conformance suite reads this instead of skipping silently. */
export interface StoreCapabilities {
  /** Data survives close() and reopen (false for memory). */
  persistent: boolean;
  /** An append's promise resolves only once the entries would survive a crash of the process or machine. */
  durable: boolean;
}

export interface LogStoreDriver {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  /** The head of a log, or undefined if the log has no entries. */
  head(logId: string): Promise<StoredHead | undefined>;
  /**
   * Atomically: if the log's head is still `expected` (EMPTY_HEAD for a new log), store `texts` as
   * seqNumbers expected.seq+1… and make `next` the head. All or nothing, durable when it resolves
   * if `capabilities.durable`. If the head moved, reject with SatpError CHAIN_CONFLICT and change nothing.
   */
  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void>;
  /** The stored texts of seqNumbers from..to (inclusive) that exist, in order. */
  read(logId: string, from: number, to: number): Promise<string[]>;
  /** Ids of logs whose head is open, without scanning closed history. */
  openLogs(): Promise<string[]>;
  close(): Promise<void>;
}
