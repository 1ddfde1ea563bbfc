// The LevelDB LogStore driver (`level`: classic-level on Node and Deno). Appends are atomic batches written
// with sync: true, so an append is durable when its promise resolves; appends to different logs that arrive
// while a write is in flight share the next synced batch (group commit), so they share one fsync.
import { Level } from 'level';
import { SatpError } from '../kernel/errors.ts';
import type { ChainHead } from '../kernel/entry.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';
import { KeyedLock } from '../kernel/keyed-lock.ts';

export interface LevelDriverOptions {
  /** fsync every append (default true). false trades durability for speed and says so in capabilities. */
  sync?: boolean;
  /** Create the database when the location holds none (default true); false makes opening a missing one fail. */
  createIfMissing?: boolean;
  /**
   * Table files LevelDB keeps open (default LEVEL_MAX_OPEN_FILES, 128). Each open table holds its index in memory
   * (about 60 KiB for an entry-sized table here), so this bounds that memory, which otherwise grows with the log
   * up to LevelDB's own default of 1,000 tables (docs/decisions.md). A table not open is opened again when read.
   * LevelDB keeps 10 of these for its own files and raises anything below 74 to 74.
   */
  maxOpenFiles?: number;
}

/** The default of LevelDriverOptions.maxOpenFiles. */
export const LEVEL_MAX_OPEN_FILES = 128;

// Keys: entries `e!<logId>!<seq as 14 hex digits>` (sorts by seq; 14 digits hold 2^53), heads
// `h!<logId>`, open-session index `o!<logId>`. '!' is outside the id alphabet, so keys never collide.
const seqKey = (logId: string, seq: number): string => `${logId}!${seq.toString(16).padStart(14, '0')}`;

/** A group's size bound: past this many characters of values, later appends wait for the next batch. */
const MAX_GROUP_CHARS = 8 * 1024 * 1024;
/** Keys per point read of read(): a long range is read in parts, so no one call holds the whole log's keys. */
const READ_CHUNK = 256;
/** Heads kept in memory (most recently used); a miss costs one read. */
const HEAD_CACHE = 16_384;

const sublevel = (db: Level<string, string>, name: string) =>
  db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
type Sub = ReturnType<typeof sublevel>;
/**
 * One write of a batch, its key given in full (the sublevel's prefix and the key): appends are written through a
 * chained batch on the root database, not an array batch through the sublevels. abstract-level's array batch
 * copies every operation twice with object spreads and adds properties to the copies, and a sublevel's key goes
 * through its prefixing and encoding again: measured here, a batch of 64 entries with their heads cost the main
 * thread 27 to 38 µs an entry that way, 6 µs through a chained batch with the keys prefixed once (docs/decisions.md).
 * Same keys on disk: the prefix is each sublevel's own (`Sub.prefix`), and reads still go through the sublevels.
 */
type Op = { key: string; value: string } | { key: string; value?: undefined };

/** One append waiting for the batch that will carry it. */
interface Waiting {
  ops: Op[];
  chars: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LevelDriver implements LogStoreDriver {
  readonly name = 'level';
  readonly capabilities: StoreCapabilities;
  readonly db: Level<string, string>;
  readonly #entries: Sub;
  readonly #heads: Sub;
  readonly #open: Sub;
  /** The sublevels' prefixes ('!e!', '!h!', '!o!'), as abstract-level writes them before each key. */
  readonly #prefix: { entries: string; heads: string; open: string };
  readonly #sync: boolean;
  readonly #lock = new KeyedLock();
  /**
   * Heads as last read or durably written. This driver is the only writer: LevelDB's LOCK file keeps
   * other processes out, and every append of this process goes through the per-log lock below, so a
   * cached head is the stored head. It saves a read per append on the hot path.
   */
  readonly #headCache = new Map<string, StoredHead | null>();
  #queue: Waiting[] = [];
  #writing = false;

  private constructor(db: Level<string, string>, sync: boolean) {
    this.db = db;
    this.#sync = sync;
    this.capabilities = { persistent: true, durable: sync };
    this.#entries = sublevel(db, 'e');
    this.#heads = sublevel(db, 'h');
    this.#open = sublevel(db, 'o');
    this.#prefix = { entries: this.#entries.prefix, heads: this.#heads.prefix, open: this.#open.prefix };
  }

  static async open(location: string, options: LevelDriverOptions = {}): Promise<LevelDriver> {
    const maxOpenFiles = options.maxOpenFiles ?? LEVEL_MAX_OPEN_FILES;
    if (!Number.isSafeInteger(maxOpenFiles) || maxOpenFiles < 1)
      throw new RangeError(`maxOpenFiles must be a positive integer: ${maxOpenFiles}`);
    const db = new Level<string, string>(location, { valueEncoding: 'utf8', maxOpenFiles });
    try {
      await db.open({ createIfMissing: options.createIfMissing ?? true });
    } catch (err) {
      throw new SatpError('STORAGE_FAILURE', `cannot open LevelDB at ${location}`, { cause: err });
    }
    return new LevelDriver(db, options.sync ?? true);
  }

  async head(logId: string): Promise<StoredHead | undefined> {
    const cached = this.#headCache.get(logId);
    if (cached === undefined) return this.#readHead(logId);
    this.#checkOpen();
    return cached === null ? undefined : { ...cached };
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    // Per log: the check and the write of one append complete before the next append of that log is
    // checked, so each append checks its own expected head against everything acknowledged before it.
    return this.#lock.run(logId, async () => {
      // The cache is filled only here, under the log's lock: no append of this log can land between
      // the read and the fill, so a read that resolves late can never cache a stale head.
      let h = this.#headCache.get(logId);
      if (h === undefined) this.#remember(logId, (h = (await this.#readHead(logId)) ?? null));
      if ((h?.seq ?? 0) !== expected.seq || (h && h.hash !== expected.hash)) {
        throw new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${h?.seq ?? 0}`);
      }
      const p = this.#prefix;
      const ops: Op[] = texts.map((value, i) => ({ key: p.entries + seqKey(logId, expected.seq + 1 + i), value }));
      ops.push({ key: p.heads + logId, value: JSON.stringify(next) });
      ops.push(next.open ? { key: p.open + logId, value: '' } : { key: p.open + logId });
      try {
        await this.#commit(
          ops,
          texts.reduce((n, t) => n + t.length, 0),
        );
      } catch (err) {
        // A failed batch stores nothing; the head is forgotten anyway, so the next append reads it from disk.
        this.#headCache.delete(logId);
        throw err;
      }
      this.#remember(logId, { ...next });
    });
  }

  /**
   * Point reads (getMany) of the seqs from..to up to the log's head, never an iterator: entries and their head are
   * written in one batch, so no entry exists past the head. LevelDB iterators held native memory that grew with the
   * reads (test/integration/level-reads-native-memory.test.ts; BENCHMARKS.md, "LevelDB reads and native memory").
   */
  read(logId: string, from: number, to: number): Promise<string[]> {
    if (to < from) return Promise.resolve([]);
    return this.#do(async () => {
      const last = Math.min(to, (await this.head(logId))?.seq ?? 0);
      const texts: string[] = [];
      for (let start = Math.max(1, from); start <= last; start += READ_CHUNK) {
        const end = Math.min(last, start + READ_CHUNK - 1);
        const keys: string[] = [];
        for (let seq = start; seq <= end; seq++) keys.push(seqKey(logId, seq));
        // A seq with no entry (only a damaged store lacks one) is left out: the contract is the entries that exist.
        for (const text of await this.#entries.getMany(keys)) if (text !== undefined) texts.push(text);
      }
      return texts;
    });
  }

  openLogs(): Promise<string[]> {
    return this.#do(() => this.#open.keys().all());
  }

  /** Ids of every log this store holds, open or ended (an auditor's listing; a gateway needs only openLogs). */
  logs(): Promise<string[]> {
    return this.#do(() => this.#heads.keys().all());
  }

  close(): Promise<void> {
    this.#headCache.clear();
    return this.db.close();
  }

  /**
   * Group commit: an append's ops join the queue; if no batch is being written, a batch starts now with
   * everything queued; otherwise they ride the batch that starts when the current one is durable. Each
   * append resolves (or rejects) with the batch that carried it, so it is never acknowledged early.
   */
  #commit(ops: Op[], chars: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, chars, resolve, reject });
      if (!this.#writing) this.#writeNext();
    });
  }

  // Not a loop: each batch, once settled, starts the next one if appends arrived meanwhile.
  #writeNext(): void {
    if (this.#queue.length === 0) {
      this.#writing = false;
      return;
    }
    this.#writing = true;
    let take = 0;
    for (
      let chars = 0;
      take < this.#queue.length && (take === 0 || chars + this.#queue[take]!.chars <= MAX_GROUP_CHARS);
      take++
    ) {
      chars += this.#queue[take]!.chars;
    }
    const group = this.#queue.slice(0, take);
    this.#queue = this.#queue.slice(take);
    this.#do(() => this.#write(group)).then(
      () => {
        for (const w of group) w.resolve();
        this.#writeNext();
      },
      (err: unknown) => {
        for (const w of group) w.reject(err);
        this.#writeNext();
      },
    );
  }

  /** One atomic, synced (unless sync is off) batch of every op of `group`. */
  async #write(group: readonly Waiting[]): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const w of group)
        for (const op of w.ops) {
          if (op.value === undefined) batch.del(op.key);
          else batch.put(op.key, op.value);
        }
    } catch (err) {
      await batch.close(); // nothing was written: a chained batch writes only on write()
      throw err;
    }
    await batch.write({ sync: this.#sync });
  }

  async #readHead(logId: string): Promise<StoredHead | undefined> {
    const text = await this.#do(() => this.#heads.get(logId));
    return text === undefined ? undefined : (JSON.parse(text) as StoredHead);
  }

  #remember(logId: string, head: StoredHead | null): void {
    this.#headCache.delete(logId); // re-inserted last: the Map's order is the recency order
    this.#headCache.set(logId, head);
    if (this.#headCache.size > HEAD_CACHE) this.#headCache.delete(this.#headCache.keys().next().value!);
  }

  #checkOpen(): void {
    if (this.db.status === 'closed' || this.db.status === 'closing')
      throw new SatpError('STORE_CLOSED', 'the LevelDB store is closed');
  }

  async #do<T>(work: () => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await work();
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `LevelDB failed: ${String(err)}`, { cause: err });
    }
  }
}
