// The Durable Object LogStore driver (Cloudflare Workers, workerd): the object's own transactional key-value storage.
// Each append is one storage transaction (entries + head + open-session index) under a per-log lock, followed by
// sync(), so it resolves only once the write is flushed. Typed against the slice of the storage API it uses, so the
// package needs no @cloudflare/workers-types. docs/edge.md says how a gateway object uses it.
import { SatpError } from '../kernel/errors.ts';
import type { ChainHead } from '../kernel/entry.ts';
import { KeyedLock } from '../kernel/keyed-lock.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';

/** What `list` takes: keys in [start, end), or those starting with `prefix`; workerd orders keys by their UTF-8. */
export interface DurableObjectListOptions {
  prefix?: string;
  start?: string;
  end?: string;
  limit?: number;
}

/** The reads and writes both the storage and a transaction offer (DurableObjectStorage, DurableObjectTransaction). */
export interface DurableObjectKeyValue {
  get(key: string): Promise<unknown>;
  list(options?: DurableObjectListOptions): Promise<Map<string, unknown>>;
  /** Several keys in one atomic write (at most 128 of them on Cloudflare). */
  put(entries: Record<string, unknown>): Promise<void>;
  delete(key: string): Promise<boolean>;
}

/** The slice of a Durable Object's `state.storage` this driver uses. */
export interface DurableObjectStorageLike extends DurableObjectKeyValue {
  /** Runs `closure` as one transaction: everything it wrote is committed together, or nothing if it throws. */
  transaction<T>(closure: (txn: DurableObjectKeyValue) => Promise<T>): Promise<T>;
  /** Resolves once every write made so far is flushed to durable storage. */
  sync(): Promise<void>;
}

export interface DurableObjectDriverOptions {
  /**
   * Put before every key the driver writes (default ''), so the log can share the object's storage with other
   * data, or several logs one object (the conformance suite gives each case its own prefix).
   */
  prefix?: string;
}

/** Keys per put(): Cloudflare refuses more than 128 in one call; one transaction may hold several puts. */
const KEYS_PER_PUT = 128;

// Log ids are gateway ids joined by '/' (kernel/entry.ts ID_PATTERN): '|' never occurs in one, so `e|<logId>|` is a
// prefix no other log's keys share. Seq numbers are 14 hex digits (Number.MAX_SAFE_INTEGER has 14), so key order is
// seq order, and one log's entries from..to are one key range.
const SEQ_DIGITS = 14;
const hex = (seq: number) => seq.toString(16).padStart(SEQ_DIGITS, '0');

export class DurableObjectDriver implements LogStoreDriver {
  readonly name = 'durable-object';
  readonly capabilities: StoreCapabilities = { persistent: true, durable: true };
  /** The storage the driver writes to; tests reach the raw stored text through it and entryKey(). */
  readonly storage: DurableObjectStorageLike;
  readonly prefix: string;
  readonly #lock = new KeyedLock();
  #closed = false;

  constructor(storage: DurableObjectStorageLike, options: DurableObjectDriverOptions = {}) {
    if (typeof storage?.transaction !== 'function' || typeof storage.sync !== 'function')
      throw new TypeError('expected a Durable Object storage (state.storage) with transaction() and sync()');
    this.storage = storage;
    this.prefix = options.prefix ?? '';
  }

  /** The key entry `seq` of `logId` is stored under (its value is the entry's stored text). */
  entryKey(logId: string, seq: number): string {
    return `${this.prefix}e|${logId}|${hex(seq)}`;
  }

  #headKey(logId: string): string {
    return `${this.prefix}h|${logId}`;
  }

  #openKey(logId: string): string {
    return `${this.prefix}o|${logId}`;
  }

  head(logId: string): Promise<StoredHead | undefined> {
    return this.#do(async () => headOf(await this.storage.get(this.#headKey(logId))));
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    // The lock orders this object's appends to one log; the transaction makes each all-or-nothing. Between two
    // awaits of one transaction another event of the object may run, so the lock, not the transaction, is what
    // keeps a second append of the log from checking the same head.
    return this.#lock.run(logId, () =>
      this.#do(async () => {
        // Thrown inside the closure to roll the transaction back, and rethrown as itself after: the runtime may
        // hand the closure's exception back as another object.
        let conflict: SatpError | undefined;
        const write = this.storage.transaction(async (txn) => {
          const h = headOf(await txn.get(this.#headKey(logId)));
          if ((h?.seq ?? 0) !== expected.seq || (h && h.hash !== expected.hash)) {
            conflict = new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${h?.seq ?? 0}`);
            throw conflict;
          }
          const writes: [string, unknown][] = texts.map((text, i) => [
            this.entryKey(logId, expected.seq + 1 + i),
            text,
          ]);
          const head: StoredHead = { seq: next.seq, hash: next.hash, open: next.open };
          writes.push([this.#headKey(logId), head]);
          if (next.open) writes.push([this.#openKey(logId), 1]);
          for (let i = 0; i < writes.length; i += KEYS_PER_PUT)
            await txn.put(Object.fromEntries(writes.slice(i, i + KEYS_PER_PUT)));
          if (!next.open) await txn.delete(this.#openKey(logId));
        });
        await write.catch((err: unknown) => {
          throw conflict ?? err;
        });
        // The transaction has committed to the object's write buffer; resolve only once it is on disk.
        await this.storage.sync();
      }),
    );
  }

  read(logId: string, from: number, to: number): Promise<string[]> {
    const lo = Math.max(1, from);
    const hi = Math.min(to, Number.MAX_SAFE_INTEGER);
    if (!(hi >= lo)) return Promise.resolve([]);
    // `end` is exclusive: the key of hi + 1, or past every hex digit when hi is the largest seq there is.
    const end = hi < Number.MAX_SAFE_INTEGER ? this.entryKey(logId, hi + 1) : `${this.prefix}e|${logId}|g`;
    return this.#do(async () => {
      const found = await this.storage.list({ start: this.entryKey(logId, lo), end });
      const texts: string[] = [];
      for (const value of found.values()) {
        if (typeof value !== 'string') throw new TypeError(`log ${logId} holds a stored entry that is not text`);
        texts.push(value);
      }
      return texts;
    });
  }

  openLogs(): Promise<string[]> {
    const start = this.#openKey('');
    return this.#do(async () =>
      [...(await this.storage.list({ prefix: start })).keys()].map((k) => k.slice(start.length)),
    );
  }

  async close(): Promise<void> {
    // The storage belongs to the object; closing the driver only stops it from being used.
    this.#closed = true;
  }

  async #do<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new SatpError('STORE_CLOSED', 'the Durable Object store is closed');
    try {
      return await work();
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `Durable Object storage failed: ${String(err)}`, { cause: err });
    }
  }
}

function headOf(value: unknown): StoredHead | undefined {
  if (value === undefined) return undefined;
  const h = value as Partial<StoredHead> | null;
  if (typeof h?.seq !== 'number' || typeof h.hash !== 'string' || typeof h.open !== 'boolean')
    throw new TypeError(`a stored head is not a head: ${JSON.stringify(value)}`);
  return { seq: h.seq, hash: h.hash, open: h.open };
}
