// Checks an EVM ledger's receipts and attestations by reading the chain through the checker's own endpoint: nothing
// in the receipt is trusted, every field is compared with what the node returns. See docs/evm-ledger.md.
import type { Hex, PublicClient } from 'viem';
import type { LedgerAttestation, LedgerReceipt } from '../../kernel/ledger.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { type LedgerProofChecker, opHashOf } from '../../kernel/ledger-receipt.ts';
import type { EvmEndpoint } from './deploy.ts';
import { decodeOpRecorded, evmReader, readAttestation } from './ledger.ts';
import { ledgerOpOfStruct, opKeyOf, receiptOfEvent } from './satp-asset.ts';

export interface EvmCheckerOptions {
  /** The ledger id its receipts must carry. */
  id: string;
  endpoint: EvmEndpoint;
  contract: Hex;
  /** Blocks a receipt's block must have on top of it, itself included. Default 1. */
  confirmations?: number;
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a as Json) === canonicalJson(b as Json);

/** A LedgerProofChecker for one SatpAsset contract on one chain. Never throws: false when unsure. */
export function evmChecker(o: EvmCheckerOptions): LedgerProofChecker {
  const contract = o.contract.toLowerCase();
  const confirmations = BigInt(Math.max(1, Math.trunc(o.confirmations ?? 1)));
  let client: PublicClient | undefined;
  const reader = () => (client ??= evmReader(o.endpoint));

  /** The block at `number` if it is canonical and has `hash`, and the node is the configured chain. */
  const canonicalBlock = async (number: number, hash: string) => {
    const r = reader();
    if ((await r.getChainId()) !== o.endpoint.chainId) return undefined;
    const block = await r.getBlock({ blockNumber: BigInt(number) });
    if (block.hash?.toLowerCase() !== hash) return undefined;
    return block;
  };

  return {
    async receipt(receipt: LedgerReceipt): Promise<boolean> {
      try {
        const e = receipt.evidence;
        if (e?.type !== 'evm' || e.txHash === undefined || e.logIndex === undefined) return false;
        if (e.chainId !== o.endpoint.chainId || e.contract !== contract || receipt.ledgerId !== o.id) return false;
        if (receipt.proof !== undefined) return false;
        const r = reader();
        const tx = await r.getTransactionReceipt({ hash: e.txHash as Hex });
        if (tx.status !== 'success') return false;
        if (tx.blockHash.toLowerCase() !== e.blockHash || Number(tx.blockNumber) !== e.blockNumber) return false;
        const block = await canonicalBlock(e.blockNumber, e.blockHash);
        if (!block) return false;
        const head = await r.getBlockNumber();
        if (head - BigInt(e.blockNumber) + 1n < confirmations) return false;
        const log = tx.logs.find((l) => l.logIndex === e.logIndex);
        if (!log || log.address.toLowerCase() !== contract || log.removed) return false;
        const args = decodeOpRecorded(log);
        if (!args || args.opKey !== opKeyOf(args.op.opId)) return false;
        if (args.timestamp !== block.timestamp) return false;
        const op = ledgerOpOfStruct(args.op);
        if (!op || `0x${opHashOf(op)}` !== args.opHash.toLowerCase()) return false;
        const expected = receiptOfEvent(o.id, args, e);
        return expected !== undefined && same(expected, receipt);
      } catch {
        return false;
      }
    },

    async attestation(attestation: LedgerAttestation): Promise<boolean> {
      try {
        const e = attestation.evidence;
        if (e?.type !== 'evm' || e.txHash !== undefined || e.logIndex !== undefined) return false;
        if (e.chainId !== o.endpoint.chainId || e.contract !== contract || attestation.ledgerId !== o.id) return false;
        if (attestation.proof !== undefined) return false;
        const block = await canonicalBlock(e.blockNumber, e.blockHash);
        if (!block) return false;
        const opIds = attestation.ops.map((x) => x.opId);
        const expected = await readAttestation(
          reader(),
          o.id,
          o.endpoint.chainId,
          contract as Hex,
          block,
          attestation.assetId,
          opIds,
        );
        return same(expected, attestation);
      } catch {
        return false;
      }
    },
  };
}
