// The in-memory ledger for tests and the simulator: the shared engine over Maps, with a journal for invariant checks.
import type { AssetRecord, LedgerAttestation, LedgerOp, LedgerReceipt } from '../kernel/ledger.ts';
import type { PublicJwk, Signer } from '../kernel/crypto/types.ts';
import {
  byAssetId,
  type LedgerBackend,
  LedgerEngine,
  type LedgerHost,
  type LedgerJournalEntry,
  type LedgerRecord,
  type SeedAsset,
  seedRecords,
} from './ledger-engine.ts';

export interface MemoryLedgerOptions {
  id: string;
  signer: Signer;
  assets?: readonly SeedAsset[];
  /** Receipt timestamps; omit for deterministic receipts. */
  now?: () => number;
}

// Values are copied in and out, so no caller can change the ledger's state by mutating what it got.
const copy = <T>(v: T): T => structuredClone(v);

class MemoryBackend implements LedgerBackend {
  readonly byOp = new Map<string, LedgerRecord>();
  readonly byAsset = new Map<string, AssetRecord>();
  last = 0;

  async lastTxSeq() {
    return this.last;
  }
  async record(opId: string) {
    const r = this.byOp.get(opId);
    return r && copy(r);
  }
  async asset(assetId: string) {
    const a = this.byAsset.get(assetId);
    return a && copy(a);
  }
  async commit(record: LedgerRecord, next: AssetRecord | undefined) {
    this.byOp.set(record.op.opId, copy(record));
    if (next) this.byAsset.set(next.assetId, copy(next));
    this.last = record.receipt.txSeq;
  }
  async records() {
    return copy([...this.byOp.values()]);
  }
  async assets() {
    return copy([...this.byAsset.values()]);
  }
}

/**
 * A Ledger in memory. The seam for simulation is the Ledger interface itself: a simulator wraps
 * execute/status to drop, delay or crash around calls; this class stays free of fault hooks.
 */
export class MemoryLedger implements LedgerHost {
  readonly #backend = new MemoryBackend();
  readonly #engine: LedgerEngine;

  constructor(options: MemoryLedgerOptions) {
    for (const a of seedRecords(options.assets)) this.#backend.byAsset.set(a.assetId, a);
    this.#engine = new LedgerEngine({
      id: options.id,
      signer: options.signer,
      backend: this.#backend,
      ...(options.now && { now: options.now }),
    });
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

  /** Every recorded op in txSeq order, with how often it was applied (never more than once) and requested. */
  ops(): LedgerJournalEntry[] {
    return [...this.#backend.byOp.values()].map((r) => copy(this.#engine.journalEntry(r)));
  }

  /** Every asset as it stands now, sorted by assetId. */
  snapshot(): AssetRecord[] {
    return copy([...this.#backend.byAsset.values()].sort(byAssetId));
  }
}
