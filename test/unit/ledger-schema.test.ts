// Ledger ops and receipts from outside pass one schema: exact fields per kind, bounded ids,
// and a receipt's error present exactly when it is a refusal.
import { describe, expect, it } from 'vitest';
import { isSatpError } from '../../kernel/errors.ts';
import { ledgerOp } from '../../kernel/ledger.ts';
import { opHashOf, receiptSigningBytes, sealReceipt, verifyReceipt } from '../../kernel/ledger-receipt.ts';
import { parseLedgerOp, parseLedgerReceipt } from '../../kernel/ledger-schema.ts';
import { fromUtf8 } from '../../kernel/encoding.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { LEDGER_KEY } from '../support/ledger-harness.ts';

const code = (work: () => unknown): string | undefined => {
  try {
    work();
    return undefined;
  } catch (err) {
    return isSatpError(err) ? err.code : String(err);
  }
};

describe('parseLedgerOp', () => {
  it('accepts each kind with exactly its fields and returns a fresh copy', () => {
    for (const op of [
      ledgerOp.lock('a', 'b', 'c'),
      ledgerOp.unlock('a', 'b'),
      ledgerOp.burn('a', 'b'),
      ledgerOp.mint('a', 'b', 'c'),
      ledgerOp.assign('a', 'b', 'c'),
    ]) {
      const parsed = parseLedgerOp(op);
      expect(parsed).toEqual(op);
      expect(parsed).not.toBe(op);
    }
  });

  it('refuses missing or extra fields, unknown kinds, and ids outside the bounded alphabet, as INVALID_INPUT', () => {
    const bad: unknown[] = [
      { opId: 'a', kind: 'mint', assetId: 'b' },
      { opId: 'a', kind: 'burn', assetId: 'b', owner: 'c' },
      { opId: 'a', kind: 'lock', assetId: 'b', owner: 'c', note: 'x' },
      { opId: 'a', kind: 'LOCK', assetId: 'b', owner: 'c' },
      { opId: 'a/b', kind: 'burn', assetId: 'b' },
      { opId: 'a!b', kind: 'burn', assetId: 'b' },
      { opId: 'x'.repeat(257), kind: 'burn', assetId: 'b' },
      { opId: 'a', kind: 'burn', assetId: 7 },
      'lock',
      undefined,
    ];
    for (const v of bad)
      expect(
        code(() => parseLedgerOp(v)),
        JSON.stringify(v),
      ).toBe('INVALID_INPUT');
    expect(code(() => parseLedgerOp({ opId: 'x'.repeat(256), kind: 'burn', assetId: 'b' }))).toBeUndefined();
  });

  it('opHash differs whenever any field differs, and ignores key order', () => {
    const base = ledgerOp.lock('a', 'b', 'c');
    expect(opHashOf({ owner: 'c', assetId: 'b', kind: 'lock', opId: 'a' })).toBe(opHashOf(base));
    expect(
      new Set(
        [base, ledgerOp.lock('a', 'b', 'd'), ledgerOp.lock('a', 'x', 'c'), ledgerOp.mint('a', 'b', 'c')].map(opHashOf),
      ).size,
    ).toBe(4);
  });
});

describe('receipts', () => {
  const body = {
    opId: 'op-1',
    kind: 'lock' as const,
    assetId: 'asset-1',
    opHash: opHashOf(ledgerOp.lock('op-1', 'asset-1', 'alice')),
    ok: true,
    ledgerId: 'ledger-a',
    txSeq: 1,
  };

  it('sign the canonical JSON of every field but proof, with absent optional fields left out', async () => {
    const receipt = await sealReceipt({ ...body, timestamp: undefined } as never, LEDGER_KEY.signer);
    expect(Object.keys(receipt)).not.toContain('timestamp');
    expect(fromUtf8(receiptSigningBytes(receipt))).toBe(
      '{"assetId":"asset-1","kind":"lock","ledgerId":"ledger-a","ok":true,' +
        `"opHash":"${body.opHash}","opId":"op-1","txSeq":1}`,
    );
    expect(await verifyReceipt(receipt, LEDGER_KEY.jwk, defaultVerifier())).toEqual({ ok: true, receipt });
  });

  it('carry an error exactly when ok is false', async () => {
    const refusal = await sealReceipt(
      { ...body, ok: false, error: { code: 'WRONG_STATE', message: 'no' } },
      LEDGER_KEY.signer,
    );
    expect(parseLedgerReceipt(refusal)).toEqual(refusal);
    expect(code(() => parseLedgerReceipt({ ...refusal, ok: true }))).toBe('INVALID_INPUT');
    const { error: _e, ...noError } = refusal;
    expect(code(() => parseLedgerReceipt(noError))).toBe('INVALID_INPUT');
    expect(code(() => parseLedgerReceipt({ ...refusal, error: { code: 'NOPE', message: 'no' } }))).toBe(
      'INVALID_INPUT',
    );
  });

  it('verifyReceipt reports malformed input and never throws on hostile values', async () => {
    for (const v of [null, 42, 'x', {}, { ...body, proof: '!' }, Object.create({ opId: 'a' })]) {
      expect((await verifyReceipt(v, LEDGER_KEY.jwk, defaultVerifier())).ok).toBe(false);
    }
  });
});
