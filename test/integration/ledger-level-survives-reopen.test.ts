// LevelLedger keeps everything across close and reopen: records, receipts, asset states, txSeq, and
// idempotency; seeds given again at reopen never reset an asset.
import { describe, expect, it } from 'vitest';
import { ledgerOp } from '../../kernel/ledger.ts';
import { verifyReceipt } from '../../kernel/ledger-receipt.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { LevelLedger } from '../../ledgers/level-ledger.ts';
import { fakeClock, LEDGER_KEY, tempDir } from '../support/ledger-harness.ts';

const SEEDS = [
  { assetId: 'asset-1', owner: 'alice' },
  { assetId: 'asset-2', owner: 'bob' },
];

describe('LevelLedger across reopen', () => {
  it('keeps receipts, assets and txSeq, answers repeats with the first receipt, and keeps counting', async () => {
    const dir = tempDir();
    try {
      const open = (assets = SEEDS) =>
        LevelLedger.open(dir.path, { id: 'ledger-a', signer: LEDGER_KEY.signer, assets, now: fakeClock() });
      let ledger = await open();
      const ops = [
        ledgerOp.lock('L1', 'asset-1', 'alice'),
        ledgerOp.mint('M1', 'asset-9', 'gw-b'),
        ledgerOp.lock('L2', 'asset-2', 'mallory'),
        ledgerOp.burn('B1', 'asset-1'),
      ];
      const receipts = [];
      for (const op of ops) receipts.push(await ledger.execute(op));
      const assets = await ledger.listAssets();
      await ledger.close();
      await expect(ledger.status('L1')).rejects.toMatchObject({ code: 'STORE_CLOSED' });

      ledger = await open([...SEEDS, { assetId: 'asset-3', owner: 'carol' }]);
      try {
        expect(await ledger.txSeq()).toBe(4);
        for (const [i, op] of ops.entries()) {
          expect(await ledger.status(op.opId)).toEqual(receipts[i]);
          expect(await ledger.execute(op)).toEqual(receipts[i]);
          expect((await verifyReceipt(receipts[i], LEDGER_KEY.jwk, defaultVerifier())).ok).toBe(true);
        }
        // asset-1 was burned: the seed given again must not bring it back; asset-3 is new.
        expect(assets.map((a) => a.assetId)).toEqual(['asset-1', 'asset-2', 'asset-9']);
        expect(await ledger.listAssets()).toEqual([
          assets[0],
          assets[1],
          { assetId: 'asset-3', owner: 'carol', state: 'active' },
          assets[2],
        ]);
        expect(assets[0]).toEqual({ assetId: 'asset-1', owner: 'alice', state: 'burned' });
        const journal = await ledger.ops();
        expect(journal.map((o) => [o.op.opId, o.applied])).toEqual([
          ['L1', 1],
          ['M1', 1],
          ['L2', 0],
          ['B1', 1],
        ]);
        expect((await ledger.execute(ledgerOp.assign('A1', 'asset-9', 'dave'))).txSeq).toBe(5);
      } finally {
        await ledger.close();
      }
    } finally {
      dir.remove();
    }
  });
});
