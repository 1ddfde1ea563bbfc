// The ports the kernel's driver is wired to: declared here, implemented outside (storage/, transports/, ledgers/,
// the runtime's clock). The kernel imports nothing from those folders; they import these types.
import type { ChainHead, LogEntry } from './entry.ts';
import type { ChainResult } from './chain.ts';
import type { Envelope } from './satp/envelope.ts';

/** Time as the driver sees it: injected, so a simulator can run it and tests never sleep. */
export interface Clock {
  now(): number;
  setTimer(at: number, fire: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** The outbound half of a transport, as the driver needs it. Delivery is at most once; the driver resends. */
export interface Outbox {
  send(to: string, envelope: Envelope): Promise<void>;
}

/** A log this gateway holds whose session has not ended. */
export interface OpenLogRef {
  logId: string;
  sessionId: string;
  author: string;
  head: ChainHead;
}

/**
 * What the driver needs of a log store (storage/log-store.ts implements it over any driver). Every method may
 * reject with SatpError STORAGE_FAILURE or STORE_CLOSED: then nothing is known of the outcome.
 */
export interface SessionLogStore {
  /** Appends entries of one chain atomically and durably, or rejects (CHAIN_CONFLICT when the head moved). */
  writeLogEntries(entries: readonly unknown[]): Promise<ChainHead>;
  getHead(logId: string): Promise<(ChainHead & { open: boolean }) | undefined>;
  listOpenLogs(): Promise<OpenLogRef[]>;
  /** Verifies a stored log end to end; a corrupt log is a result (ok: false), not a rejection. */
  verifyLog(logId: string): Promise<ChainResult>;
  readPage(
    logId: string,
    from: number,
    limit: number,
    maxChars?: number,
  ): Promise<{ entries: LogEntry[]; more: boolean }>;
  /**
   * Verifies `source` as part of the chain `logId` and appends what the log lacks. Rejects with INVALID_INPUT,
   * BAD_HASH, BAD_SIGNATURE, UNKNOWN_AUTHOR or CHAIN_CONFLICT when the source does not verify (nothing stored),
   * LOG_DIVERGED when it verifies but differs from what the log holds.
   */
  updateLog(
    logId: string,
    source: readonly unknown[],
  ): Promise<{ appended: LogEntry[]; head: ChainHead; pageEnd: number }>;
}
