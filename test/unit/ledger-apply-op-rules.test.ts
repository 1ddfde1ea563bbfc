// The ledger's pure state machine, every (state, op) pair: the six transitions of SATP core Figure 2 and
// recovery-04 §5.2.3 rollbacks are allowed, all others are refused and produce no next state.
import { describe, expect, it } from 'vitest';
import {
  ASSET_STATES,
  type AssetRecord,
  type AssetState,
  LEDGER_OP_KINDS,
  type LedgerOp,
  type LedgerOpKind,
  ledgerOp,
} from '../../kernel/ledger.ts';
import { applyOp } from '../../ledgers/apply-op.ts';

const opOf = (kind: LedgerOpKind, owner: string): LedgerOp =>
  kind === 'lock' || kind === 'mint' || kind === 'assign'
    ? ledgerOp[kind]('op', 'x', owner)
    : ledgerOp[kind]('op', 'x');

// The whole table: [state][kind] → the next state, or the refusal code.
const TABLE: Record<
  AssetState | 'missing',
  Record<LedgerOpKind, AssetState | 'ASSET_NOT_FOUND' | 'ASSET_EXISTS' | 'WRONG_STATE'>
> = {
  missing: {
    lock: 'ASSET_NOT_FOUND',
    unlock: 'ASSET_NOT_FOUND',
    burn: 'ASSET_NOT_FOUND',
    mint: 'minted',
    assign: 'ASSET_NOT_FOUND',
  },
  active: { lock: 'locked', unlock: 'WRONG_STATE', burn: 'WRONG_STATE', mint: 'ASSET_EXISTS', assign: 'WRONG_STATE' },
  locked: { lock: 'WRONG_STATE', unlock: 'active', burn: 'burned', mint: 'ASSET_EXISTS', assign: 'WRONG_STATE' },
  minted: { lock: 'WRONG_STATE', unlock: 'WRONG_STATE', burn: 'burned', mint: 'ASSET_EXISTS', assign: 'active' },
  burned: {
    lock: 'WRONG_STATE',
    unlock: 'WRONG_STATE',
    burn: 'WRONG_STATE',
    mint: 'ASSET_EXISTS',
    assign: 'WRONG_STATE',
  },
};

describe('applyOp', () => {
  it('follows the transition table for all 25 (state, op) pairs', () => {
    let checked = 0;
    for (const state of ['missing', ...ASSET_STATES] as const) {
      for (const kind of LEDGER_OP_KINDS) {
        const asset: AssetRecord | undefined =
          state === 'missing' ? undefined : { assetId: 'x', owner: 'alice', state };
        const frozen = asset && Object.freeze({ ...asset });
        const result = applyOp(frozen, opOf(kind, kind === 'lock' ? 'alice' : 'carol'), 0);
        const want = TABLE[state][kind];
        if ((ASSET_STATES as readonly string[]).includes(want)) {
          expect(result, `${state} ${kind}`).toMatchObject({ ok: true, next: { assetId: 'x', state: want } });
        } else {
          expect(result, `${state} ${kind}`).toMatchObject({ ok: false, error: { code: want } });
        }
        checked++;
      }
    }
    expect(checked).toBe(25);
  });

  it('lock refuses anyone but the current owner (WRONG_OWNER)', () => {
    expect(
      applyOp({ assetId: 'x', owner: 'alice', state: 'active' }, ledgerOp.lock('op', 'x', 'bob'), 0),
    ).toMatchObject({ ok: false, error: { code: 'WRONG_OWNER' } });
  });

  it(
    'mint gives the asset to the minter (escrow), ' + 'assign to the beneficiary; lock, unlock and burn keep the owner',
    () => {
      expect(applyOp(undefined, ledgerOp.mint('op', 'x', 'gw-b'), 0)).toEqual({
        ok: true,
        next: { assetId: 'x', owner: 'gw-b', state: 'minted' },
      });
      expect(applyOp({ assetId: 'x', owner: 'gw-b', state: 'minted' }, ledgerOp.assign('op', 'x', 'carol'), 0)).toEqual(
        {
          ok: true,
          next: { assetId: 'x', owner: 'carol', state: 'active' },
        },
      );
      expect(applyOp({ assetId: 'x', owner: 'alice', state: 'active' }, ledgerOp.lock('op', 'x', 'alice'), 0)).toEqual({
        ok: true,
        next: { assetId: 'x', owner: 'alice', state: 'locked', lockOpId: 'op' },
      });
      expect(applyOp({ assetId: 'x', owner: 'alice', state: 'locked' }, ledgerOp.unlock('op', 'x'), 0)).toEqual({
        ok: true,
        next: { assetId: 'x', owner: 'alice', state: 'active' },
      });
      expect(applyOp({ assetId: 'x', owner: 'alice', state: 'locked' }, ledgerOp.burn('op', 'x'), 0)).toEqual({
        ok: true,
        next: { assetId: 'x', owner: 'alice', state: 'burned' },
      });
    },
  );

  it('a lock with an expiry (TIME_LOCK) cannot be burned from the expiry on, but can still be unlocked', () => {
    const locked = applyOp(
      { assetId: 'x', owner: 'alice', state: 'active' },
      ledgerOp.lock('op', 'x', 'alice', 1_000),
      0,
    );
    expect(locked).toEqual({
      ok: true,
      next: { assetId: 'x', owner: 'alice', state: 'locked', lockOpId: 'op', lockExpiresAt: 1_000 },
    });
    const asset = (locked as { next: AssetRecordLike }).next;
    expect(applyOp(asset, ledgerOp.burn('b', 'x'), 999)).toEqual({
      ok: true,
      next: { assetId: 'x', owner: 'alice', state: 'burned' },
    });
    expect(applyOp(asset, ledgerOp.burn('b', 'x'), 1_000)).toMatchObject({
      ok: false,
      error: { code: 'LOCK_EXPIRED' },
    });
    expect(applyOp(asset, ledgerOp.unlock('u', 'x'), 5_000)).toEqual({
      ok: true,
      next: { assetId: 'x', owner: 'alice', state: 'active' },
    });
  });
});

type AssetRecordLike = { assetId: string; owner: string; state: 'locked'; lockExpiresAt: number };
