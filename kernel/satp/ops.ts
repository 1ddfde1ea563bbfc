// The ledger operations of a session, built in one place: their ids are derived from the session and the
// step, so a retry after a crash reuses them and a counterparty can name and check them (kernel/satp/claims.ts).
import {
  type AssignOp,
  type BurnOp,
  type LedgerOp,
  type LockOp,
  type MintOp,
  type UnlockOp,
  ledgerOp,
} from '../ledger.ts';

/**
 * `<sessionId>:<step>:<kind>`. Steps and kinds contain no ':', so the id is unambiguous whatever the session id holds.
 */
export const opId = (sessionId: string, step: string, kind: string): string => `${sessionId}:${step}:${kind}`;

export const lockOpId = (sessionId: string): string => opId(sessionId, '2.1', 'lock');
export const mintOpId = (sessionId: string): string => opId(sessionId, '3.2', 'mint');
export const burnOpId = (sessionId: string): string => opId(sessionId, '3.4', 'burn');
export const assignOpId = (sessionId: string): string => opId(sessionId, '3.6', 'assign');
export const unlockOpId = (sessionId: string): string => opId(sessionId, 'rollback', 'unlock');
export const compensationBurnOpId = (sessionId: string): string => opId(sessionId, 'rollback', 'burn');

/** 2.1 (origin): lock the originator's asset until `expiresAt` (TIME_LOCK, enforced by the origin ledger's clock). */
export const lockOp = (sessionId: string, assetId: string, originator: string, expiresAt: number): LockOp =>
  ledgerOp.lock(lockOpId(sessionId), assetId, originator, expiresAt);

/** 3.2 (destination): mint the asset under the destination's escrow account. */
export const mintOp = (sessionId: string, assetId: string, escrow: string): MintOp =>
  ledgerOp.mint(mintOpId(sessionId), assetId, escrow);

/** 3.4 (origin): burn what this session's lock holds, and nothing else (lockOpId). */
export const burnOp = (sessionId: string, assetId: string): BurnOp =>
  ledgerOp.burn(burnOpId(sessionId), assetId, lockOpId(sessionId));

/** 3.6 (destination): give the minted asset to the beneficiary. */
export const assignOp = (sessionId: string, assetId: string, beneficiary: string): AssignOp =>
  ledgerOp.assign(assignOpId(sessionId), assetId, beneficiary);

/** Rollback of 2.1 (origin): release this session's lock. */
export const unlockOp = (sessionId: string, assetId: string): UnlockOp =>
  ledgerOp.unlock(unlockOpId(sessionId), assetId, lockOpId(sessionId));

/** Rollback of 3.2 (destination): burn the minted asset. */
export const compensationBurnOp = (sessionId: string, assetId: string): BurnOp =>
  ledgerOp.burn(compensationBurnOpId(sessionId), assetId);

/** The op a compensation kind stands for, for the role that performs it. */
export const compensationOp = (sessionId: string, assetId: string, kind: 'UNLOCK' | 'BURN'): LedgerOp =>
  kind === 'UNLOCK' ? unlockOp(sessionId, assetId) : compensationBurnOp(sessionId, assetId);
