// A ledger that answers like a chain without one: a MemoryLedger whose receipts carry chain evidence instead of a
// signature, and a checker that "reads the chain" by asking that ledger, which a test can take down and bring back.
// For testing how the kernel treats a chain it cannot read (kernel/satp/proofs.ts, ProofsUnavailable). Portable.
import type { ChainEvidence, Ledger, LedgerAttestation, LedgerOp, LedgerReceipt } from '../../kernel/ledger.ts';
import type { LedgerProofChecker } from '../../kernel/ledger-receipt.ts';
import { SatpError } from '../../kernel/errors.ts';

const block = (n: number): ChainEvidence => ({
  type: 'evm',
  chainId: 31337,
  contract: `0x${'11'.repeat(20)}`,
  blockNumber: n,
  blockHash: `0x${n.toString(16).padStart(64, '0')}`,
});

const onChain = (r: LedgerReceipt): LedgerReceipt => {
  const { proof: _p, ...body } = r;
  return {
    ...body,
    evidence: { ...block(r.txSeq), txHash: `0x${r.txSeq.toString(16).padStart(64, 'a')}`, logIndex: 0 },
  };
};

/** The chain-like ledger over `inner`, and `view()`: a checker of it (one per gateway) that a test can take down. */
export function fakeChain(inner: Ledger) {
  const ledger: Ledger = {
    id: inner.id,
    execute: async (op: LedgerOp) => onChain(await inner.execute(op)),
    status: async (opId) => {
      const r = await inner.status(opId);
      return r && onChain(r);
    },
    asset: (assetId) => inner.asset(assetId),
    attest: async (assetId, opIds): Promise<LedgerAttestation> => {
      const { proof: _p, ...body } = await inner.attest(assetId, opIds);
      return { ...body, evidence: block(body.txSeq) };
    },
  };
  const view = () => {
    let down = false;
    let refused = 0;
    const reachable = () => {
      if (!down) return;
      refused++;
      throw new SatpError('LEDGER_UNAVAILABLE', `chain of ${inner.id} is down`);
    };
    const checker: LedgerProofChecker = {
      receipt: async (r) => {
        reachable();
        const held = await inner.status(r.opId);
        return held !== undefined && JSON.stringify(onChain(held)) === JSON.stringify(r);
      },
      attestation: async (a) => {
        reachable();
        return a.evidence?.type === 'evm';
      },
    };
    return {
      checker,
      setDown: (d: boolean) => {
        down = d;
      },
      /** How many checks found the chain down. */
      refusedChecks: () => refused,
    };
  };
  return { ledger, view };
}
