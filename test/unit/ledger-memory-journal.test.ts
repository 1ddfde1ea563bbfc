// MemoryLedger's journal for invariant checks: every op applied at most once however often it was
// requested, and no caller can change the ledger by mutating what it was given.
import { describe, expect, it } from 'vitest';
import { ledgerOp } from '../../kernel/ledger.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { LEDGER_KEY } from '../support/ledger-harness.ts';

const seeded = () =>
  new MemoryLedger({ id: 'ledger-a', signer: LEDGER_KEY.signer, assets: [{ assetId: 'asset-1', owner: 'alice' }] });

describe('MemoryLedger journal', () => {
  it('ops() counts requests and applications separately; applied never exceeds 1', async () => {
    const ledger = seeded();
    for (let i = 0; i < 3; i++) await ledger.execute(ledgerOp.lock('L1', 'asset-1', 'alice'));
    for (let i = 0; i < 2; i++) await ledger.execute(ledgerOp.unlock('U0', 'ghost'));
    await ledger.execute(ledgerOp.burn('B1', 'asset-1'));
    const ops = ledger.ops();
    expect(ops.map((o) => [o.op.opId, o.receipt.txSeq, o.applied, o.requested])).toEqual([
      ['L1', 1, 1, 3],
      ['U0', 2, 0, 2],
      ['B1', 3, 1, 1],
    ]);
    expect(ops.every((o) => o.applied <= 1)).toBe(true);
    expect(ledger.snapshot()).toEqual([{ assetId: 'asset-1', owner: 'alice', state: 'burned' }]);
  });

  it('a rejected OP_CONFLICT is not counted as a request of the recorded op', async () => {
    const ledger = seeded();
    await ledger.execute(ledgerOp.lock('L1', 'asset-1', 'alice'));
    await expect(ledger.execute(ledgerOp.lock('L1', 'asset-1', 'bob'))).rejects.toMatchObject({ code: 'OP_CONFLICT' });
    expect(ledger.ops().map((o) => o.requested)).toEqual([1]);
  });

  it('mutating returned receipts, records or snapshots changes nothing inside the ledger', async () => {
    const ledger = seeded();
    const receipt = await ledger.execute(ledgerOp.lock('L1', 'asset-1', 'alice'));
    const copy = structuredClone(receipt);
    receipt.ok = false;
    ledger.snapshot()[0]!.state = 'burned';
    ledger.ops()[0]!.receipt.txSeq = 99;
    (await ledger.asset('asset-1'))!.owner = 'mallory';
    expect(await ledger.status('L1')).toEqual(copy);
    expect(ledger.snapshot()).toEqual([{ assetId: 'asset-1', owner: 'alice', state: 'locked', lockOpId: 'L1' }]);
  });

  it('refuses malformed or duplicate seeds and a ledger id outside the id alphabet', () => {
    expect(
      () => new MemoryLedger({ id: 'ledger-a', signer: LEDGER_KEY.signer, assets: [{ assetId: 'a b', owner: 'x' }] }),
    ).toThrow(/invalid seed/);
    expect(
      () =>
        new MemoryLedger({
          id: 'ledger-a',
          signer: LEDGER_KEY.signer,
          assets: [
            { assetId: 'a', owner: 'x' },
            { assetId: 'a', owner: 'y' },
          ],
        }),
    ).toThrow(TypeError);
    expect(() => new MemoryLedger({ id: 'ledger a', signer: LEDGER_KEY.signer })).toThrow(TypeError);
  });
});
