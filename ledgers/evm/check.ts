// Checks an EVM ledger's receipts and attestations by reading the chain through the checker's own endpoint: nothing
// in the receipt is trusted, every field is compared with what the node returns. See docs/evm-ledger.md.
import { BaseError, type Hex, HttpRequestError, type PublicClient, TimeoutError } from 'viem';
import { SatpError } from '../../kernel/errors.ts';
import type { LedgerAttestation, LedgerReceipt } from '../../kernel/ledger.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { type LedgerProofChecker, opHashOf } from '../../kernel/ledger-receipt.ts';
import type { EvmEndpoint } from './clients.ts';
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

/**
 * The node could not be asked (refused, timed out, answered an HTTP error): the proof is neither accepted nor refused,
 * and the checker rejects with LEDGER_UNAVAILABLE so the caller asks again later. Anything the node did answer that
 * does not match is `false`.
 */
function unavailableOr(err: unknown, what: string): false {
  const down =
    err instanceof BaseError && err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null;
  if (down || err instanceof SatpError)
    throw new SatpError('LEDGER_UNAVAILABLE', `${what}: ${err instanceof Error ? err.message : String(err)}`);
  return false;
}

/**
 * A LedgerProofChecker for one SatpAsset contract on one chain: true or false once the chain was read; rejects with
 * LEDGER_UNAVAILABLE when it cannot be read now, or when the op's block is not yet `confirmations` deep.
 */
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
        // Not deep enough yet is "not now", not "no": the same receipt is proven once more blocks come.
        if (head - BigInt(e.blockNumber) + 1n < confirmations)
          throw new SatpError('LEDGER_UNAVAILABLE', `block ${e.blockNumber} has fewer than ${confirmations} blocks`);
        const log = tx.logs.find((l) => l.logIndex === e.logIndex);
        if (!log || log.address.toLowerCase() !== contract || log.removed) return false;
        const args = decodeOpRecorded(log);
        if (!args || args.opKey !== opKeyOf(args.op.opId)) return false;
        if (args.timestamp !== block.timestamp) return false;
        const op = ledgerOpOfStruct(args.op);
        if (!op || `0x${opHashOf(op)}` !== args.opHash.toLowerCase()) return false;
        const expected = receiptOfEvent(o.id, args, e);
        return expected !== undefined && same(expected, receipt);
      } catch (err) {
        return unavailableOr(err, `checking the receipt of ${receipt.opId} on chain ${o.endpoint.chainId}`);
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
      } catch (err) {
        return unavailableOr(err, `checking an attestation of ${attestation.assetId} on chain ${o.endpoint.chainId}`);
      }
    },
  };
}
