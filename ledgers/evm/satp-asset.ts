// What the EVM ledger and its checker share about contracts/SatpAsset.sol: the ABI, the codes of kinds, states and
// refusals, how an op is encoded for the contract, and how a recorded-op event reads back as a receipt and an op.
import { type Hex, keccak256, parseAbi, toHex } from 'viem';
import {
  ASSET_STATES,
  type AssetRecord,
  type ChainEvidence,
  LEDGER_OP_KINDS,
  LEDGER_REFUSALS,
  type LedgerOp,
  type LedgerOpKind,
  type LedgerReceipt,
  type LedgerRefusalCode,
} from '../../kernel/ledger.ts';

export const SATP_ASSET_ABI = parseAbi([
  'struct Op { string opId; uint8 kind; string assetId; string owner; uint64 expiresAt; string lockOpId; }',
  'struct Record { bytes32 opHash; bool ok; uint8 code; uint64 txSeq; uint64 blockNumber; }',
  'event OpRecorded(bytes32 indexed opKey, Op op, bytes32 opHash, bool ok, uint8 code, uint64 txSeq, uint64 timestamp)',
  'error NotAdmin()',
  'error NotOperator()',
  'error OpConflict(bytes32 recorded, bytes32 asked)',
  'error AssetExists(string assetId)',
  'error BadOp()',
  'function setOperator(address who, bool allowed)',
  'function seed(string assetId, string owner)',
  // Returns (exists, owner, state, lockExpiresAt, lockOpId).
  'function asset(string assetId) view returns (bool, string, uint8, uint64, string)',
  'function op(string opId) view returns (Record)',
  'function txSeq() view returns (uint64)',
  'function execute(Op o, bytes32 opHash)',
]);

export interface OpStruct {
  opId: string;
  kind: number;
  assetId: string;
  owner: string;
  expiresAt: bigint;
  lockOpId: string;
}

export interface OpRecordView {
  opHash: Hex;
  ok: boolean;
  code: number;
  txSeq: bigint;
  blockNumber: bigint;
}

/** The indexed topic of an op's event: keccak-256 of its opId's UTF-8 bytes, as the contract computes it. */
export const opKeyOf = (opId: string): Hex => keccak256(toHex(opId));

/** The op as the contract takes it. expiresAt 0 means none, so a lock expiring at epoch 0 cannot be expressed. */
export function opStructOf(op: LedgerOp): OpStruct {
  return {
    opId: op.opId,
    kind: LEDGER_OP_KINDS.indexOf(op.kind),
    assetId: op.assetId,
    owner: op.kind === 'lock' || op.kind === 'mint' || op.kind === 'assign' ? op.owner : '',
    expiresAt: op.kind === 'lock' && op.expiresAt !== undefined ? BigInt(op.expiresAt) : 0n,
    lockOpId: (op.kind === 'unlock' || op.kind === 'burn') && op.lockOpId !== undefined ? op.lockOpId : '',
  };
}

/**
 * The LedgerOp an event's op fields stand for, or undefined when they are not what opStructOf writes (a field the
 * kind does not have is set, or a number is out of range): then the event proves no op.
 */
export function ledgerOpOfStruct(s: OpStruct): LedgerOp | undefined {
  const kind = LEDGER_OP_KINDS[s.kind];
  if (kind === undefined || s.expiresAt > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const hasOwner = kind === 'lock' || kind === 'mint' || kind === 'assign';
  const hasLock = kind === 'unlock' || kind === 'burn';
  if (!hasOwner && s.owner !== '') return undefined;
  if (kind !== 'lock' && s.expiresAt !== 0n) return undefined;
  if (!hasLock && s.lockOpId !== '') return undefined;
  const base = { opId: s.opId, assetId: s.assetId };
  switch (kind) {
    case 'lock':
      return { ...base, kind, owner: s.owner, ...(s.expiresAt !== 0n ? { expiresAt: Number(s.expiresAt) } : {}) };
    case 'mint':
    case 'assign':
      return { ...base, kind, owner: s.owner };
    default:
      return { ...base, kind, ...(s.lockOpId !== '' ? { lockOpId: s.lockOpId } : {}) };
  }
}

export const refusalOfCode = (code: number): LedgerRefusalCode | undefined =>
  code === 0 ? undefined : LEDGER_REFUSALS[code - 1];

/**
 * The message of a refusal, from the code, the kind and the asset only, so a checker reading the event can
 * recompute it (the contract does not store messages).
 */
export function refusalMessage(code: LedgerRefusalCode, kind: LedgerOpKind, assetId: string): string {
  switch (code) {
    case 'ASSET_NOT_FOUND':
      return `no asset ${assetId}`;
    case 'ASSET_EXISTS':
      return `${assetId} already exists or existed`;
    case 'WRONG_STATE':
      return `${assetId} is not in a state that allows ${kind}`;
    case 'WRONG_OWNER':
      return `${assetId} is not owned by the owner this ${kind} names`;
    case 'LOCK_EXPIRED':
      return `the lock on ${assetId} has lapsed by the chain's time`;
    case 'WRONG_LOCK':
      return `${assetId} is not held by the lock this ${kind} names`;
  }
}

/** The decoded fields of an OpRecorded event. */
export interface OpRecordedArgs {
  opKey: Hex;
  op: OpStruct;
  opHash: Hex;
  ok: boolean;
  code: number;
  txSeq: bigint;
  timestamp: bigint;
}

/**
 * The receipt an event stands for (field order as sealReceipt writes it), or undefined when the event is not a
 * well-formed record (unknown kind or code, ok disagreeing with the code).
 */
export function receiptOfEvent(
  ledgerId: string,
  args: OpRecordedArgs,
  evidence: ChainEvidence,
): LedgerReceipt | undefined {
  const kind = LEDGER_OP_KINDS[args.op.kind];
  if (kind === undefined) return undefined;
  const refusal = refusalOfCode(args.code);
  if (args.code > LEDGER_REFUSALS.length || args.ok !== (refusal === undefined)) return undefined;
  const receipt: LedgerReceipt = {
    opId: args.op.opId,
    kind,
    assetId: args.op.assetId,
    opHash: args.opHash.slice(2),
    ok: args.ok,
    ledgerId,
    txSeq: Number(args.txSeq),
    timestamp: Number(args.timestamp) * 1000,
    evidence,
  };
  if (refusal !== undefined) {
    const { ledgerId: l, txSeq, timestamp, evidence: e, ...head } = receipt;
    return {
      ...head,
      error: { code: refusal, message: refusalMessage(refusal, kind, args.op.assetId) },
      ledgerId: l,
      txSeq,
      timestamp,
      evidence: e,
    } as LedgerReceipt;
  }
  return receipt;
}

/** The asset view's tuple as an AssetRecord like the other ledgers give (lock fields only while locked). */
export function assetRecordOf(
  assetId: string,
  [exists, owner, state, lockExpiresAt, lockOpId]: readonly [boolean, string, number, bigint, string],
): AssetRecord | undefined {
  if (!exists) return undefined;
  const s = ASSET_STATES[state];
  if (s === undefined) throw new Error(`asset ${assetId} has unknown state ${state}`);
  const record: AssetRecord = { assetId, owner, state: s };
  if (s === 'locked') {
    if (lockExpiresAt !== 0n) record.lockExpiresAt = Number(lockExpiresAt);
    record.lockOpId = lockOpId;
  }
  return record;
}
