// The IndexedDB LogStore driver (idb-keyval): each append is one readwrite transaction opened with
// durability 'strict' (entries + head + open-session index), resolved only when the transaction completes.
import { promisifyRequest, type UseStore } from 'idb-keyval';
import { SatpError } from '../kernel/errors.ts';
import type { ChainHead } from '../kernel/entry.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';

export interface IndexedDbDriverOptions {
  /** The IndexedDB factory (default: globalThis.indexedDB). Node and Deno have none: pass fake-indexeddb's. */
  indexedDB?: IDBFactory;
  /** IDBKeyRange of the same implementation as the factory (default: globalThis.IDBKeyRange). */
  IDBKeyRange?: typeof IDBKeyRange;
}

/** The one object store; heads, entries and the open-session index share it so an append is one transaction. */
export const OBJECT_STORE = 'log';
const SCHEMA_VERSION = 1;

// Array keys compare element by element (IndexedDB "compare two keys"), numbers numerically, and any array after
// any string. So entries ['e', logId, seq] of one log are one contiguous range in seq order, heads sit
// at ['h', logId], and the open-session index ['o', logId] lies between ['o'] and ['o', []]: listing
// open sessions reads only that index, never closed history (recovery-04 §5: recover what is unfinished).
export const entryKey = (logId: string, seq: number): IDBValidKey => ['e', logId, seq];
const headKey = (logId: string): IDBValidKey => ['h', logId];
const openKey = (logId: string): IDBValidKey => ['o', logId];

/**
 * idb-keyval's UseStore over an open database, like its createStore, except that every transaction is
 * opened with durability 'strict': a readwrite transaction then completes only after the data is
 * flushed to disk (IndexedDB 3.0, transaction durability hint), which write-ahead logging needs.
 */
export function strictStore(db: IDBDatabase, storeName: string): UseStore {
  return (txMode, callback) =>
    new Promise((resolve) =>
      resolve(callback(db.transaction(storeName, txMode, { durability: 'strict' }).objectStore(storeName))),
    );
}

export class IndexedDbDriver implements LogStoreDriver {
  readonly name = 'indexeddb';
  readonly capabilities: StoreCapabilities = { persistent: true, durable: true };
  readonly databaseName: string;
  /** The raw object store, through the same strict transactions the driver uses (tests tamper through it). */
  readonly store: UseStore;
  readonly #db: IDBDatabase;
  readonly #range: typeof IDBKeyRange;
  #closed = false;

  private constructor(databaseName: string, db: IDBDatabase, range: typeof IDBKeyRange) {
    this.databaseName = databaseName;
    this.#db = db;
    this.#range = range;
    this.store = strictStore(db, OBJECT_STORE);
    // Another connection wants to upgrade or delete the database: step aside instead of blocking it.
    db.onversionchange = () => {
      this.#closed = true;
      db.close();
    };
  }

  static async open(databaseName: string, options: IndexedDbDriverOptions = {}): Promise<IndexedDbDriver> {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    const range = options.IDBKeyRange ?? globalThis.IDBKeyRange;
    if (!factory || !range)
      throw new TypeError('no IndexedDB in this runtime: pass options.indexedDB and options.IDBKeyRange');
    try {
      const request = factory.open(databaseName, SCHEMA_VERSION);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(OBJECT_STORE)) request.result.createObjectStore(OBJECT_STORE);
      };
      return new IndexedDbDriver(databaseName, await promisifyRequest(request), range);
    } catch (err) {
      throw new SatpError('STORAGE_FAILURE', `cannot open IndexedDB database ${databaseName}`, { cause: err });
    }
  }

  head(logId: string): Promise<StoredHead | undefined> {
    return this.#do(() =>
      this.store('readonly', (s) => promisifyRequest(s.get(headKey(logId)) as IDBRequest<StoredHead | undefined>)),
    );
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    // The head check and the writes share one readwrite transaction, and IndexedDB runs overlapping
    // readwrite transactions one at a time, so no lock is needed: a moved head aborts the lot.
    return this.#do(() =>
      this.store('readwrite', (s) => {
        const tx = s.transaction;
        let conflict: SatpError | undefined;
        const done = promisifyRequest(tx);
        const read = s.get(headKey(logId)) as IDBRequest<StoredHead | undefined>;
        read.onsuccess = () => {
          const h = read.result;
          if ((h?.seq ?? 0) !== expected.seq || (h && h.hash !== expected.hash)) {
            conflict = new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${h?.seq ?? 0}`);
            tx.abort();
            return;
          }
          for (const [i, text] of texts.entries()) s.put(text, entryKey(logId, expected.seq + 1 + i));
          s.put({ seq: next.seq, hash: next.hash, open: next.open } satisfies StoredHead, headKey(logId));
          if (next.open) s.put('', openKey(logId));
          else s.delete(openKey(logId));
        };
        // Resolves on 'complete' only: with durability 'strict' that is after the flush.
        return done.then(
          () => undefined,
          (err: unknown) => {
            throw conflict ?? err ?? new Error('transaction aborted');
          },
        );
      }),
    );
  }

  read(logId: string, from: number, to: number): Promise<string[]> {
    const lo = Math.max(1, from);
    const hi = Math.min(to, Number.MAX_SAFE_INTEGER);
    if (!(hi >= lo)) return Promise.resolve([]);
    const range = this.#range.bound(entryKey(logId, lo), entryKey(logId, hi));
    return this.#do(() => this.store('readonly', (s) => promisifyRequest(s.getAll(range) as IDBRequest<string[]>)));
  }

  openLogs(): Promise<string[]> {
    const range = this.#range.bound(['o'], ['o', []]);
    return this.#do(async () => {
      const keys = await this.store('readonly', (s) => promisifyRequest(s.getAllKeys(range)));
      return keys.map((k) => (k as [string, string])[1]);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  async #do<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new SatpError('STORE_CLOSED', `the IndexedDB store ${this.databaseName} is closed`);
    try {
      return await work();
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `IndexedDB failed: ${String(err)}`, { cause: err });
    }
  }
}
