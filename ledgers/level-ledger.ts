// The durable ledger behind the simulated ledger server: the shared engine over LevelDB, where an op's
// record, its asset change and the new txSeq are one batch written with sync: true.
import { Level } from 'level';
import { SatpError } from '../kernel/errors.ts';
import type { AssetRecord, LedgerAttestation, LedgerOp, LedgerReceipt } from '../kernel/ledger.ts';
import type { PublicJwk, Signer } from '../kernel/crypto/types.ts';
import {
  type LedgerBackend,
  LedgerEngine,
  type LedgerHost,
  type LedgerJournalEntry,
  type LedgerRecord,
  type SeedAsset,
  seedRecords,
} from './ledger-engine.ts';

export interface LevelLedgerOptions {
  id: string;
  signer: Signer;
  /** Assets created (active) if their id is not in the database yet; existing assets are never reset. */
  assets?: readonly SeedAsset[];
  now?: () => number;
  /** fsync every commit (default true); false only for throwaway benchmarks. */
  sync?: boolean;
}

// Sublevels: records `r!<opId>`, assets `a!<assetId>`, meta `m!txSeq`. Ids never contain '!'
// (LEDGER_REF_PATTERN), so keys cannot collide across sublevels.
class LevelBackend implements LedgerBackend {
  readonly db: Level<string, string>;
  readonly #records;
  readonly #assets;
  readonly #meta;
  readonly #sync: boolean;

  constructor(db: Level<string, string>, sync: boolean) {
    this.db = db;
    this.#sync = sync;
    this.#records = db.sublevel<string, string>('r', { valueEncoding: 'utf8' });
    this.#assets = db.sublevel<string, string>('a', { valueEncoding: 'utf8' });
    this.#meta = db.sublevel<string, string>('m', { valueEncoding: 'utf8' });
  }

  async lastTxSeq(): Promise<number> {
    const text = await this.#do(() => this.#meta.get('txSeq'));
    return text === undefined ? 0 : Number(text);
  }
  async record(opId: string): Promise<LedgerRecord | undefined> {
    const text = await this.#do(() => this.#records.get(opId));
    return text === undefined ? undefined : (JSON.parse(text) as LedgerRecord);
  }
  async asset(assetId: string): Promise<AssetRecord | undefined> {
    const text = await this.#do(() => this.#assets.get(assetId));
    return text === undefined ? undefined : (JSON.parse(text) as AssetRecord);
  }
  commit(record: LedgerRecord, next: AssetRecord | undefined): Promise<void> {
    return this.#do(async () => {
      const batch = this.db.batch();
      batch.put(record.op.opId, JSON.stringify(record), { sublevel: this.#records });
      if (next) batch.put(next.assetId, JSON.stringify(next), { sublevel: this.#assets });
      batch.put('txSeq', String(record.receipt.txSeq), { sublevel: this.#meta });
      await batch.write({ sync: this.#sync });
    });
  }
  async records(): Promise<LedgerRecord[]> {
    const texts = await this.#do(() => this.#records.values().all());
    return texts.map((t) => JSON.parse(t) as LedgerRecord).sort((a, b) => a.receipt.txSeq - b.receipt.txSeq);
  }
  async assets(): Promise<AssetRecord[]> {
    const texts = await this.#do(() => this.#assets.values().all());
    return texts.map((t) => JSON.parse(t) as AssetRecord);
  }

  /** Creates the seeds that are absent, in one synced batch. */
  async seed(seeds: AssetRecord[]): Promise<void> {
    const absent: AssetRecord[] = [];
    for (const a of seeds) if ((await this.asset(a.assetId)) === undefined) absent.push(a);
    if (absent.length === 0) return;
    await this.#do(() =>
      this.db.batch(
        absent.map((a) => ({ type: 'put' as const, key: a.assetId, value: JSON.stringify(a), sublevel: this.#assets })),
        { sync: this.#sync },
      ),
    );
  }

  async #do<T>(work: () => Promise<T>): Promise<T> {
    if (this.db.status === 'closed' || this.db.status === 'closing')
      throw new SatpError('STORE_CLOSED', 'the ledger database is closed');
    try {
      return await work();
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `LevelDB failed: ${String(err)}`, { cause: err });
    }
  }
}

export class LevelLedger implements LedgerHost {
  readonly #backend: LevelBackend;
  readonly #engine: LedgerEngine;

  private constructor(backend: LevelBackend, engine: LedgerEngine) {
    this.#backend = backend;
    this.#engine = engine;
  }

  static async open(location: string, options: LevelLedgerOptions): Promise<LevelLedger> {
    const seeds = seedRecords(options.assets);
    const db = new Level<string, string>(location, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      throw new SatpError('STORAGE_FAILURE', `cannot open LevelDB at ${location}`, { cause: err });
    }
    const backend = new LevelBackend(db, options.sync ?? true);
    try {
      await backend.seed(seeds);
    } catch (err) {
      await db.close();
      throw err;
    }
    const engine = new LedgerEngine({
      id: options.id,
      signer: options.signer,
      backend,
      ...(options.now && { now: options.now }),
    });
    return new LevelLedger(backend, engine);
  }

  get id(): string {
    return this.#engine.id;
  }
  get publicJwk(): PublicJwk {
    return this.#engine.publicJwk;
  }

  execute(op: LedgerOp): Promise<LedgerReceipt> {
    return this.#engine.execute(op);
  }
  status(opId: string): Promise<LedgerReceipt | undefined> {
    return this.#engine.status(opId);
  }
  asset(assetId: string): Promise<AssetRecord | undefined> {
    return this.#engine.asset(assetId);
  }
  attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    return this.#engine.attest(assetId, opIds);
  }
  txSeq(): Promise<number> {
    return this.#engine.txSeq();
  }
  listAssets(): Promise<AssetRecord[]> {
    return this.#engine.listAssets();
  }

  /** Every recorded op in txSeq order; `requested` counts this process's calls only (see LedgerEngine.journalEntry). */
  ops(): Promise<LedgerJournalEntry[]> {
    return this.#engine.journal();
  }

  close(): Promise<void> {
    return this.#backend.db.close();
  }
}
