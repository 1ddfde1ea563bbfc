// The Ledger adapter contract: SATP core Figure 2's asset operations, idempotent by operation id.
//
// The origin gateway LOCKS (2.1) and later BURNS (3.4) on the origin ledger; the destination gateway
// MINTS (3.2) and ASSIGNS (3.6) on the destination ledger. Rollback (recovery-04 §5.2.3) issues the
// contrary operations: UNLOCK undoes a lock, BURN undoes a mint. After a crash a gateway settles an
// `exec` without its `done` by asking status(opId), so every operation carries the id it is known by.

export const LEDGER_OP_KINDS = ['lock', 'unlock', 'burn', 'mint', 'assign'] as const;
export type LedgerOpKind = (typeof LEDGER_OP_KINDS)[number];

/**
 * Where an asset stands on one ledger:
 * - `active`: usable by its owner (seeded, unlocked, or assigned to its beneficiary);
 * - `locked`: immobilised by the origin gateway (2.1) until burned (3.4) or unlocked (rollback);
 * - `minted`: created by the destination gateway under its own (escrow) ownership (3.2), until
 *   assigned to the beneficiary (3.6) or burned (rollback);
 * - `burned`: extinguished; final. The id is never reused, so a late retry cannot resurrect it.
 */
export const ASSET_STATES = ['active', 'locked', 'minted', 'burned'] as const;
export type AssetState = (typeof ASSET_STATES)[number];

export interface AssetRecord {
  assetId: string;
  /** The account that owns the asset; unchanged by lock, unlock and burn. */
  owner: string;
  state: AssetState;
  /** While `locked`: the epoch ms at which the lock lapses (TIME_LOCK); from then on a burn is refused. */
  lockExpiresAt?: number;
  /** While `locked`: the opId of the lock that holds it, so a burn can name the lock it consumes. */
  lockOpId?: string;
}

interface LedgerOpBase {
  /**
   * The operation's identity, derived by the gateway from session and step. The ledger
   * applies an opId at most once: the same opId with the same fields returns the first receipt; with
   * different fields it is refused as OP_CONFLICT and changes nothing.
   */
  opId: string;
  assetId: string;
}

/**
 * 2.1: `active` → `locked`. `owner` must be the asset's current owner, so a gateway cannot lock what the client does
 * not own.
 */
export interface LockOp extends LedgerOpBase {
  kind: 'lock';
  owner: string;
  /**
   * TIME_LOCK (SATP core §4.2.17): the epoch ms at which the lock lapses. The ledger refuses to burn
   * the asset from then on, so once the expiry has passed nobody can burn it any more. That is what
   * makes a rollback past the deadline safe (docs/decisions.md).
   */
  expiresAt?: number;
}

/** Rollback of 2.1 (recovery-04 §5.2.3): `locked` → `active`, owner unchanged. */
export interface UnlockOp extends LedgerOpBase {
  kind: 'unlock';
  /** The lock this unlock releases: refused as WRONG_LOCK unless it is the lock holding the asset. */
  lockOpId?: string;
}

/** 3.4 on the origin (`locked` → `burned`), or the rollback of 3.2 on the destination (`minted` → `burned`). */
export interface BurnOp extends LedgerOpBase {
  kind: 'burn';
  /**
   * The lock this burn consumes (3.4): refused as WRONG_LOCK unless the asset is locked by exactly this
   * op. Once that lock is released or lapsed, the burn can never succeed, whatever happens to the asset
   * later; a counterparty relies on it when it rolls back on the ledger's evidence (kernel/satp/deadline.ts).
   */
  lockOpId?: string;
}

/**
 * 3.2: creates `assetId` as `minted`, owned by `owner` (the destination gateway or its escrow). Refused if the id
 * exists.
 */
export interface MintOp extends LedgerOpBase {
  kind: 'mint';
  owner: string;
}

/** 3.6: `minted` → `active`, owned by `owner` (the beneficiary). */
export interface AssignOp extends LedgerOpBase {
  kind: 'assign';
  owner: string;
}

export type LedgerOp = LockOp | UnlockOp | BurnOp | MintOp | AssignOp;

/** Why a ledger refused an operation. A refusal is an outcome (a receipt with ok:false), not a thrown error. */
export const LEDGER_REFUSALS = [
  'ASSET_NOT_FOUND', // no asset with that id (lock, unlock, burn, assign)
  'ASSET_EXISTS', // mint of an id that exists or existed (burned ids are not reused)
  'WRONG_STATE', // the asset's state does not allow the operation
  'WRONG_OWNER', // lock by someone other than the current owner
  'LOCK_EXPIRED', // burn of a locked asset whose lock has lapsed (TIME_LOCK)
  'WRONG_LOCK', // burn or unlock naming a lock (lockOpId) that is not the one holding the asset
] as const;
export type LedgerRefusalCode = (typeof LEDGER_REFUSALS)[number];

export interface LedgerRefusal {
  code: LedgerRefusalCode;
  message: string;
}

/** A receipt without its proof: exactly the fields the ledger signs. */
export interface LedgerReceiptBody {
  opId: string;
  kind: LedgerOpKind;
  assetId: string;
  /** SHA-256 (hex) of the op's canonical JSON (RFC 8785), binding the receipt to every field of the op. */
  opHash: string;
  /** true: the op was applied. false: it was refused, and the refusal is recorded so a retry gets the same answer. */
  ok: boolean;
  /** Present exactly when ok is false. */
  error?: LedgerRefusal;
  ledgerId: string;
  /** Position of this op in the ledger's history (1, 2, …); refusals are recorded, so they take a position too. */
  txSeq: number;
  /** Milliseconds since the UNIX epoch, from the ledger's injected clock; absent when it has none. */
  timestamp?: number;
}

/**
 * Where the answer of a ledger that is a chain can be read back from the chain itself: the counterparty checks it
 * there (LedgerProofChecker, kernel/ledger-receipt.ts), so it need not trust the gateway that passes it on nor any
 * signer.
 */
export interface ChainEvidence {
  type: 'evm';
  /** EIP-155 chain id: a receipt from another chain (a fork, a test network) does not prove anything here. */
  chainId: number;
  /** The asset contract that recorded the op: 0x and 40 lowercase hex digits. */
  contract: string;
  /** The block that holds the op (a receipt) or that the state was read at (an attestation). */
  blockNumber: number;
  /** 0x and 64 lowercase hex digits; a block that left the canonical chain proves nothing. */
  blockHash: string;
  /** Receipts only: the transaction that recorded the op, and the index in its block of the event it emitted. */
  txHash?: string;
  logIndex?: number;
}

/**
 * What the ledger answers for an operation, first time and every time after, with exactly one of:
 * - `proof`: the ledger's signature (ES256 by default, 64-byte r‖s, base64url) over the canonical JSON of the
 *   receipt without `proof` (ledgers that sign: memory, LevelDB, the HTTP ledger server);
 * - `evidence`: where on a chain the op was recorded (ledgers/evm), checked by reading that chain.
 * A gateway logs the receipt in its `done` entry and passes it on as its ledger proof.
 */
export interface LedgerReceipt extends LedgerReceiptBody {
  proof?: string;
  evidence?: ChainEvidence;
}

/**
 * A ledger's signed statement of where one asset stands *now, by the ledger's own clock*, and which of
 * the asked operations it recorded. A gateway past its deadline decides a rollback from this, never
 * from its own clock: a lock that the ledger says has lapsed (ledgerTime ≥ lockExpiresAt) can no
 * longer be burned, because the ledger itself enforces TIME_LOCK.
 */
export interface LedgerAttestationBody {
  kind: 'attestation';
  ledgerId: string;
  assetId: string;
  /** The asset's record now; absent when the ledger has no such asset. */
  asset?: AssetRecord;
  /** The ledger's clock when it attested (epoch ms): what its lock expiries are judged against. */
  ledgerTime: number;
  /** txSeq of the last op the ledger had recorded when it attested. */
  txSeq: number;
  /** Of the op ids asked about, those the ledger recorded, in the order asked, with whether each applied. */
  ops: { opId: string; ok: boolean }[];
}

export interface LedgerAttestation extends LedgerAttestationBody {
  /**
   * Exactly one of: the ledger's signature over the canonical JSON of the attestation without `proof` (as for
   * receipts), or, for a chain, the block the state was read at (`ledgerTime` is that block's timestamp).
   */
  proof?: string;
  evidence?: ChainEvidence;
}

/** How many op ids one attestation may ask about. */
export const MAX_ATTESTED_OPS = 8;

/**
 * A ledger as a gateway sees it. Implementations: MemoryLedger, LevelLedger (durable), HttpLedger
 * (a client of the ledger server). They own no retries: a caller that got no answer asks status(opId).
 */
export interface Ledger {
  readonly id: string;
  /**
   * Applies `op` at most once and returns its receipt (ok:true or a recorded refusal, ok:false).
   * Rejects with SatpError INVALID_INPUT (malformed op), OP_CONFLICT (opId reused with different
   * fields; nothing changed) or STORAGE_FAILURE / LEDGER_UNAVAILABLE (may or may not have happened).
   */
  execute(op: LedgerOp): Promise<LedgerReceipt>;
  /** The receipt of `opId` if the ledger recorded it, else undefined: never applied, safe to execute. */
  status(opId: string): Promise<LedgerReceipt | undefined>;
  asset(assetId: string): Promise<AssetRecord | undefined>;
  /**
   * A signed attestation of `assetId` and of which of `opIds` (at most MAX_ATTESTED_OPS) were recorded,
   * taken atomically with respect to execute. Rejects with LEDGER_UNAVAILABLE when it cannot answer.
   */
  attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation>;
}

/** Builders for the five operations, so call sites read like the steps they perform. Pure. */
export const ledgerOp = {
  lock: (opId: string, assetId: string, owner: string, expiresAt?: number): LockOp => ({
    opId,
    kind: 'lock',
    assetId,
    owner,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  }),
  unlock: (opId: string, assetId: string, lockOpId?: string): UnlockOp => ({
    opId,
    kind: 'unlock',
    assetId,
    ...(lockOpId !== undefined ? { lockOpId } : {}),
  }),
  burn: (opId: string, assetId: string, lockOpId?: string): BurnOp => ({
    opId,
    kind: 'burn',
    assetId,
    ...(lockOpId !== undefined ? { lockOpId } : {}),
  }),
  mint: (opId: string, assetId: string, owner: string): MintOp => ({ opId, kind: 'mint', assetId, owner }),
  assign: (opId: string, assetId: string, owner: string): AssignOp => ({ opId, kind: 'assign', assetId, owner }),
};
