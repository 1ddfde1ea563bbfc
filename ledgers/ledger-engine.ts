// The behaviour every ledger shares, written once over a small backend: validation, one op at a time,
// idempotency by opId, OP_CONFLICT, signed receipts, and recorded refusals.
import { ID_PATTERN } from '../kernel/entry.ts';
import { SatpError } from '../kernel/errors.ts';
import type {
  AssetRecord,
  Ledger,
  LedgerAttestation,
  LedgerOp,
  LedgerReceipt,
  LedgerReceiptBody,
} from '../kernel/ledger.ts';
import { checkAttestRequest, LEDGER_REF_PATTERN, parseLedgerOp } from '../kernel/ledger-schema.ts';
import { opHashOf, sealAttestation, sealReceipt } from '../kernel/ledger-receipt.ts';
import type { PublicJwk, Signer } from '../kernel/crypto/types.ts';
import { KeyedLock } from '../kernel/keyed-lock.ts';
import { applyOp } from './apply-op.ts';

/** One recorded operation: the op as asked (validated) and the receipt it got, forever. */
export interface LedgerRecord {
  op: LedgerOp;
  receipt: LedgerReceipt;
}

/** The storage primitives a ledger needs (dumb; the rules live in applyOp and the engine). */
export interface LedgerBackend {
  /** txSeq of the last recorded op; 0 when none. */
  lastTxSeq(): Promise<number>;
  record(opId: string): Promise<LedgerRecord | undefined>;
  asset(assetId: string): Promise<AssetRecord | undefined>;
  /**
   * Atomically stores `record`, the asset's new state `next` (undefined for a refusal) and
   * record.receipt.txSeq as the last txSeq: all or nothing, so an op is never applied without being
   * recorded, nor recorded as applied without its effect. Durable when it resolves, if the backend is.
   */
  commit(record: LedgerRecord, next: AssetRecord | undefined): Promise<void>;
  /** Every record, in txSeq order. */
  records(): Promise<LedgerRecord[]>;
  assets(): Promise<AssetRecord[]>;
}

/** A ledger a server can expose: the Ledger contract plus what its HTTP surface lists. */
export interface LedgerHost extends Ledger {
  /** The key receipts are signed with; gateways trust it out of band. */
  readonly publicJwk: PublicJwk;
  /** txSeq of the last recorded op (0 when none): how many ops the ledger has recorded. */
  txSeq(): Promise<number>;
  /** Every asset, sorted by assetId. */
  listAssets(): Promise<AssetRecord[]>;
}

/** One executed op, for invariant checks: `applied` must never exceed 1 whatever `requested` is. */
export interface LedgerJournalEntry extends LedgerRecord {
  /** How many times the op changed an asset: 0 for a refusal, 1 at most. */
  applied: number;
  /** How many times execute returned this op's receipt in this process (retries included). */
  requested: number;
}

export interface LedgerEngineOptions {
  id: string;
  signer: Signer;
  backend: LedgerBackend;
  /** The ledger's clock for receipt timestamps; without one, receipts carry none (deterministic runs). */
  now?: () => number;
}

export class LedgerEngine implements LedgerHost {
  readonly id: string;
  readonly publicJwk: PublicJwk;
  readonly #signer: Signer;
  readonly #backend: LedgerBackend;
  readonly #now: (() => number) | undefined;
  // One op at a time: txSeq is global and check-then-commit must not interleave.
  readonly #lock = new KeyedLock();
  readonly #counts = new Map<string, { applied: number; requested: number }>();

  constructor(options: LedgerEngineOptions) {
    // The id is signed into every receipt; the receipt schema accepts gateway-style ids only.
    if (!ID_PATTERN.test(options.id)) throw new TypeError(`invalid ledger id ${JSON.stringify(options.id)}`);
    this.id = options.id;
    this.publicJwk = options.signer.publicJwk;
    this.#signer = options.signer;
    this.#backend = options.backend;
    this.#now = options.now;
  }

  async execute(value: LedgerOp): Promise<LedgerReceipt> {
    const op = parseLedgerOp(value);
    const opHash = opHashOf(op);
    return this.#lock.run('ops', async () => {
      const prior = await this.#backend.record(op.opId);
      if (prior) {
        if (prior.receipt.opHash !== opHash) {
          throw new SatpError(
            'OP_CONFLICT',
            `op ${op.opId} was recorded as ${prior.op.kind} of ${prior.op.assetId} with other fields`,
            {
              detail: { opId: op.opId, recordedOpHash: prior.receipt.opHash, opHash },
            },
          );
        }
        // First seen by this process (recorded by an earlier run): the record tells whether it applied.
        this.#count(op.opId, prior.receipt.ok ? 1 : 0).requested++;
        return prior.receipt;
      }
      // Lock expiry needs a clock even when receipts carry no timestamp (deterministic runs).
      const result = applyOp(await this.#backend.asset(op.assetId), op, this.#now ? this.#now() : Date.now());
      const body: LedgerReceiptBody = {
        opId: op.opId,
        kind: op.kind,
        assetId: op.assetId,
        opHash,
        ok: result.ok,
        ledgerId: this.id,
        txSeq: (await this.#backend.lastTxSeq()) + 1,
      };
      if (!result.ok) body.error = result.error;
      if (this.#now) body.timestamp = Math.trunc(this.#now()); // whole milliseconds, as the receipt schema requires
      const receipt = await sealReceipt(body, this.#signer);
      await this.#backend.commit({ op, receipt }, result.ok ? result.next : undefined);
      const count = this.#count(op.opId, 0);
      count.requested++;
      if (result.ok) count.applied++;
      return receipt;
    });
  }

  async status(opId: string): Promise<LedgerReceipt | undefined> {
    // An id no op can have was never recorded; the backend never sees it.
    if (typeof opId !== 'string' || !LEDGER_REF_PATTERN.test(opId)) return undefined;
    return (await this.#backend.record(opId))?.receipt;
  }

  async asset(assetId: string): Promise<AssetRecord | undefined> {
    if (typeof assetId !== 'string' || !LEDGER_REF_PATTERN.test(assetId)) return undefined;
    return this.#backend.asset(assetId);
  }

  /** A signed snapshot of one asset and of which `opIds` were recorded, by this ledger's clock; atomic with execute. */
  async attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    checkAttestRequest(assetId, opIds);
    return this.#lock.run('ops', async () => {
      const asset = await this.#backend.asset(assetId);
      const ops: { opId: string; ok: boolean }[] = [];
      for (const opId of opIds) {
        const r = await this.#backend.record(opId);
        if (r) ops.push({ opId, ok: r.receipt.ok });
      }
      const txSeq = await this.#backend.lastTxSeq();
      const ledgerTime = Math.trunc(this.#now ? this.#now() : Date.now());
      return sealAttestation(
        { kind: 'attestation', ledgerId: this.id, assetId, ...(asset ? { asset } : {}), ledgerTime, txSeq, ops },
        this.#signer,
      );
    });
  }

  txSeq(): Promise<number> {
    return this.#backend.lastTxSeq();
  }

  /** Every asset, sorted by assetId so every implementation lists them alike. */
  async listAssets(): Promise<AssetRecord[]> {
    return (await this.#backend.assets()).sort(byAssetId);
  }

  /**
   * The journal entry of a record. For records from an earlier run of a durable ledger, `applied`
   * starts from the receipt (the record and its effect were one atomic commit) and `requested`
   * counts this process's calls only.
   */
  journalEntry(record: LedgerRecord): LedgerJournalEntry {
    const c = this.#counts.get(record.op.opId);
    return { ...record, applied: c?.applied ?? (record.receipt.ok ? 1 : 0), requested: c?.requested ?? 0 };
  }

  async journal(): Promise<LedgerJournalEntry[]> {
    return (await this.#backend.records()).map((r) => this.journalEntry(r));
  }

  #count(opId: string, appliedBefore: number): { applied: number; requested: number } {
    let c = this.#counts.get(opId);
    if (!c) this.#counts.set(opId, (c = { applied: appliedBefore, requested: 0 }));
    return c;
  }
}

export const byAssetId = (a: AssetRecord, b: AssetRecord): number =>
  a.assetId < b.assetId ? -1 : a.assetId > b.assetId ? 1 : 0;

/** An asset a ledger starts with: active, owned by `owner`. */
export interface SeedAsset {
  assetId: string;
  owner: string;
}

/** Seed assets as records, validated (INVALID_INPUT) and without duplicates (TypeError: a caller bug). */
export function seedRecords(seeds: readonly SeedAsset[] = []): AssetRecord[] {
  const seen = new Set<string>();
  return seeds.map((s) => {
    if (!s || !LEDGER_REF_PATTERN.test(s.assetId) || !LEDGER_REF_PATTERN.test(s.owner)) {
      throw new SatpError('INVALID_INPUT', `invalid seed asset ${JSON.stringify(s)}`);
    }
    if (seen.has(s.assetId)) throw new TypeError(`seed asset ${s.assetId} given twice`);
    seen.add(s.assetId);
    return { assetId: s.assetId, owner: s.owner, state: 'active' };
  });
}
