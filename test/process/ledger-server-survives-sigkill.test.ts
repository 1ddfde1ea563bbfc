// The ledger server as a real process, killed with SIGKILL while ops are in flight and restarted on the
// same database: every op that got a receipt is still recorded with that receipt, every op is applied
// at most once, and the signing key survives, so old receipts still verify.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { type LedgerReceipt, ledgerOp } from '../../kernel/ledger.ts';
import { verifyReceipt } from '../../kernel/ledger-receipt.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { startLedgerProcess } from '../support/ledger-process.ts';
import { tempDir } from '../support/ledger-harness.ts';

const IN_FLIGHT = 40;
const KILL_AFTER = 5;

describe('ledger server process', () => {
  it('keeps every receipted op across SIGKILL and restart, and applies none twice', async () => {
    const dir = tempDir();
    const args = [
      '--port',
      '0',
      '--db',
      join(dir.path, 'ledger-a'),
      '--id',
      'ledger-a',
      '--assets',
      'asset-1:alice,asset-2:bob',
    ];
    let proc = await startLedgerProcess(args);
    try {
      let ledger = await HttpLedger.connect(proc.url);
      expect(ledger.id).toBe('ledger-a');
      const { publicJwk } = await ledger.health();
      const lock = await ledger.execute(ledgerOp.lock('s1:2.1', 'asset-1', 'alice'));
      const refusal = await ledger.execute(ledgerOp.lock('s2:2.1', 'asset-2', 'alice'));
      expect([lock.ok, refusal.ok]).toEqual([true, false]);

      // Fire mints concurrently and kill the server as soon as KILL_AFTER of them have answered.
      const mints = Array.from({ length: IN_FLIGHT }, (_, i) => ledgerOp.mint(`s3-${i}:3.2`, `minted-${i}`, 'gw-b'));
      let answered = 0;
      let enough!: () => void;
      const enoughAnswered = new Promise<void>((resolve) => (enough = resolve));
      const calls = mints.map((op) =>
        ledger.execute(op).then((r) => {
          if (++answered === KILL_AFTER) enough();
          return r;
        }),
      );
      const allSettled = Promise.allSettled(calls); // observed now, so the calls the kill cuts off are not unhandled
      await enoughAnswered;
      expect(await proc.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
      const settled = await allSettled;
      const got = new Map<string, LedgerReceipt>([
        [lock.opId, lock],
        [refusal.opId, refusal],
      ]);
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') got.set(mints[i]!.opId, s.value);
        else expect(s.reason).toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
      });
      expect(got.size).toBeGreaterThanOrEqual(2 + KILL_AFTER);

      proc = await startLedgerProcess(args);
      ledger = await HttpLedger.connect(proc.url);
      expect((await ledger.health()).publicJwk).toEqual(publicJwk);
      for (const [opId, receipt] of got) {
        expect(await ledger.status(opId), opId).toEqual(receipt);
        expect((await verifyReceipt(receipt, publicJwk, defaultVerifier())).ok).toBe(true);
      }
      const recordedBefore = (await ledger.health()).txSeq;
      expect(recordedBefore).toBeGreaterThanOrEqual(got.size);
      expect(recordedBefore).toBeLessThanOrEqual(2 + IN_FLIGHT);

      // Settling after the crash: repeat everything. Receipted ops answer as before; the rest apply now or
      // turn out to have been recorded before the kill. Either way each op is recorded exactly once.
      expect(await ledger.execute(ledgerOp.lock('s1:2.1', 'asset-1', 'alice'))).toEqual(lock);
      for (const op of mints) {
        const r = await ledger.execute(op);
        expect(r.ok, op.opId).toBe(true);
        if (got.has(op.opId)) expect(r).toEqual(got.get(op.opId));
      }
      expect((await ledger.health()).txSeq).toBe(2 + IN_FLIGHT);
      const assets = await ledger.listAssets();
      expect(assets.filter((a) => a.state === 'minted')).toHaveLength(IN_FLIGHT);
      expect(assets.find((a) => a.assetId === 'asset-1')).toEqual({
        assetId: 'asset-1',
        owner: 'alice',
        state: 'locked',
        lockOpId: 's1:2.1',
      });
      expect(assets.find((a) => a.assetId === 'asset-2')).toEqual({
        assetId: 'asset-2',
        owner: 'bob',
        state: 'active',
      });
    } finally {
      await proc.kill('SIGKILL');
      dir.remove();
    }
  });
});
