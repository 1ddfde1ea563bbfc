// The in-memory LogStore driver: for tests and simulation. Not persistent; appends are atomic.
import { SatpError } from '../kernel/errors.ts';
import type { ChainHead } from '../kernel/entry.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';

export class MemoryDriver implements LogStoreDriver {
  readonly name = 'memory';
  readonly capabilities: StoreCapabilities = { persistent: false, durable: false };
  /** The stored texts, index seq-1; exposed so tests can tamper with them. */
  readonly logs: Map<string, string[]> = new Map();
  readonly heads: Map<string, StoredHead> = new Map();
  #closed = false;

  async head(logId: string): Promise<StoredHead | undefined> {
    this.#check();
    const h = this.heads.get(logId);
    return h && { ...h };
  }

  async append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    this.#check();
    const h = this.heads.get(logId);
    if ((h?.seq ?? 0) !== expected.seq || (h && h.hash !== expected.hash)) {
      throw new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${h?.seq ?? 0}`);
    }
    const log = this.logs.get(logId) ?? [];
    log.push(...texts);
    this.logs.set(logId, log);
    this.heads.set(logId, { ...next });
  }

  async read(logId: string, from: number, to: number): Promise<string[]> {
    this.#check();
    return (this.logs.get(logId) ?? []).slice(Math.max(0, from - 1), Math.max(0, to));
  }

  async openLogs(): Promise<string[]> {
    this.#check();
    return [...this.heads].filter(([, h]) => h.open).map(([id]) => id);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed) throw new SatpError('STORE_CLOSED', 'the memory store is closed');
  }
}
