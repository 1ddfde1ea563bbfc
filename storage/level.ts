// The LevelDB LogStore driver (`level`: classic-level on Node and Deno). Appends are one atomic batch
// written with sync: true, so an append is durable when its promise resolves.
import { Level } from 'level';
import { SatpError } from '../kernel/errors.ts';
import type { ChainHead } from '../kernel/entry.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';
import { KeyedLock } from './keyed-lock.ts';

export interface LevelDriverOptions {
  /** fsync every append (default true). false trades durability for speed and says so in capabilities. */
  sync?: boolean;
}

// Keys: entries `e!<logId>!<seq as 14 hex digits>` (sorts by seq; 14 digits hold 2^53), heads
// `h!<logId>`, open-session index `o!<logId>`. '!' is outside the id alphabet, so keys never collide.
const seqKey = (logId: string, seq: number): string => `${logId}!${seq.toString(16).padStart(14, '0')}`;

export class LevelDriver implements LogStoreDriver {
  readonly name = 'level';
  readonly capabilities: StoreCapabilities;
  readonly db: Level<string, string>;
  readonly #entries;
  readonly #heads;
  readonly #open;
  readonly #sync: boolean;
  readonly #lock = new KeyedLock();

  private constructor(db: Level<string, string>, sync: boolean) {
    this.db = db;
    this.#sync = sync;
    this.capabilities = { persistent: true, durable: sync };
    this.#entries = db.sublevel<string, string>('e', { valueEncoding: 'utf8' });
    this.#heads = db.sublevel<string, string>('h', { valueEncoding: 'utf8' });
    this.#open = db.sublevel<string, string>('o', { valueEncoding: 'utf8' });
  }

  static async open(location: string, options: LevelDriverOptions = {}): Promise<LevelDriver> {
    const db = new Level<string, string>(location, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      throw new SatpError('STORAGE_FAILURE', `cannot open LevelDB at ${location}`, { cause: err });
    }
    return new LevelDriver(db, options.sync ?? true);
  }

  async head(logId: string): Promise<StoredHead | undefined> {
    const text = await this.#do(() => this.#heads.get(logId));
    return text === undefined ? undefined : (JSON.parse(text) as StoredHead);
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    return this.#lock.run(logId, async () => {
      const h = await this.head(logId);
      if ((h?.seq ?? 0) !== expected.seq || (h && h.hash !== expected.hash)) {
        throw new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${h?.seq ?? 0}`);
      }
      const batch = this.db.batch();
      texts.forEach((text, i) => batch.put(seqKey(logId, expected.seq + 1 + i), text, { sublevel: this.#entries }));
      batch.put(logId, JSON.stringify(next), { sublevel: this.#heads });
      if (next.open) batch.put(logId, '', { sublevel: this.#open });
      else batch.del(logId, { sublevel: this.#open });
      await this.#do(() => batch.write({ sync: this.#sync }));
    });
  }

  read(logId: string, from: number, to: number): Promise<string[]> {
    if (to < from) return Promise.resolve([]);
    return this.#do(() => this.#entries.values({ gte: seqKey(logId, Math.max(1, from)), lte: seqKey(logId, Math.min(to, Number.MAX_SAFE_INTEGER)) }).all());
  }

  openLogs(): Promise<string[]> {
    return this.#do(() => this.#open.keys().all());
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async #do<T>(work: () => Promise<T>): Promise<T> {
    if (this.db.status === 'closed' || this.db.status === 'closing') throw new SatpError('STORE_CLOSED', 'the LevelDB store is closed');
    try {
      return await work();
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `LevelDB failed: ${String(err)}`, { cause: err });
    }
  }
}
