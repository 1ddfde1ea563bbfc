// The ledger's rules, once: a pure state machine over one asset record, shared by every ledger implementation.
import { assertNever } from '../kernel/errors.ts';
import type { AssetRecord, AssetState, LedgerOp, LedgerRefusal, LedgerRefusalCode } from '../kernel/ledger.ts';

export type ApplyResult = { ok: true; next: AssetRecord } | { ok: false; error: LedgerRefusal };

const refuse = (code: LedgerRefusalCode, message: string): ApplyResult => ({ ok: false, error: { code, message } });

const wrongState = (op: LedgerOp, state: AssetState, allowed: string): ApplyResult =>
  refuse('WRONG_STATE', `${op.kind} needs the asset ${allowed}; ${op.assetId} is ${state}`);

/**
 * What `op` does to `asset` (undefined: no such asset). The allowed transitions, SATP core Figure 2
 * and recovery-04 §5.2.3:
 *
 *   (none)  --mint-->   minted   (3.2)          active --lock-->   locked  (2.1, owner must match)
 *   minted  --assign--> active   (3.6)          locked --burn-->   burned  (3.4)
 *   minted  --burn-->   burned   (rollback 3.2) locked --unlock--> active  (rollback 2.1)
 *
 * A lock may carry an expiry; a burn at or after it is refused (LOCK_EXPIRED). A lock records its opId,
 * and a burn that names a lock (lockOpId) is refused unless that very lock holds the asset (WRONG_LOCK).
 * Everything else is refused and leaves the asset as it was.
 */
export function applyOp(asset: AssetRecord | undefined, op: LedgerOp, now: number): ApplyResult {
  if (op.kind === 'mint') {
    // A burned id stays taken: a late retry of a mint must not bring back an asset that was rolled back.
    if (asset) return refuse('ASSET_EXISTS', `${op.assetId} already exists (${asset.state})`);
    return { ok: true, next: { assetId: op.assetId, owner: op.owner, state: 'minted' } };
  }
  if (!asset) return refuse('ASSET_NOT_FOUND', `no asset ${op.assetId}`);
  switch (op.kind) {
    case 'lock':
      if (asset.state !== 'active') return wrongState(op, asset.state, 'active');
      if (asset.owner !== op.owner) return refuse('WRONG_OWNER', `${op.assetId} is not owned by ${op.owner}`);
      return {
        ok: true,
        next: {
          ...asset,
          state: 'locked',
          lockOpId: op.opId,
          ...(op.expiresAt !== undefined ? { lockExpiresAt: op.expiresAt } : {}),
        },
      };
    case 'unlock': {
      if (asset.state !== 'locked') return wrongState(op, asset.state, 'locked');
      if (op.lockOpId !== undefined && asset.lockOpId !== op.lockOpId) {
        return refuse('WRONG_LOCK', `${op.assetId} is not held by lock ${op.lockOpId}`);
      }
      const { lockExpiresAt: _expired, lockOpId: _lock, ...unlocked } = asset;
      return { ok: true, next: { ...unlocked, state: 'active' } };
    }
    case 'burn': {
      if (op.lockOpId !== undefined && asset.state !== 'locked')
        return wrongState(op, asset.state, `locked by ${op.lockOpId}`);
      if (asset.state !== 'locked' && asset.state !== 'minted') return wrongState(op, asset.state, 'locked or minted');
      if (op.lockOpId !== undefined && asset.lockOpId !== op.lockOpId) {
        return refuse('WRONG_LOCK', `${op.assetId} is not held by lock ${op.lockOpId}`);
      }
      // TIME_LOCK: past the expiry the lock no longer holds the asset for this transfer.
      if (asset.state === 'locked' && asset.lockExpiresAt !== undefined && now >= asset.lockExpiresAt) {
        return refuse('LOCK_EXPIRED', `the lock on ${op.assetId} lapsed at ${asset.lockExpiresAt}`);
      }
      const { lockExpiresAt: _done, lockOpId: _consumed, ...burned } = asset;
      return { ok: true, next: { ...burned, state: 'burned' } };
    }
    case 'assign':
      if (asset.state !== 'minted') return wrongState(op, asset.state, 'minted');
      return { ok: true, next: { ...asset, owner: op.owner, state: 'active' } };
    default:
      return assertNever(op, 'ledger op');
  }
}
