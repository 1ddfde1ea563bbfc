// A Ledger on an EVM chain: contracts/SatpAsset.sol holds the assets and records every op by opId; receipts and
// attestations carry chain evidence (where to read them back) instead of a signature. See docs/evm-ledger.md.
import {
  type Account,
  type Chain,
  createPublicClient,
  decodeEventLog,
  type Hex,
  http,
  type Log,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { ID_PATTERN } from '../../kernel/entry.ts';
import { isSatpError, SatpError } from '../../kernel/errors.ts';
import { KeyedLock } from '../../kernel/keyed-lock.ts';
import type {
  AssetRecord,
  ChainEvidence,
  Ledger,
  LedgerAttestation,
  LedgerOp,
  LedgerReceipt,
} from '../../kernel/ledger.ts';
import { checkAttestRequest, LEDGER_REF_PATTERN, parseLedgerOp } from '../../kernel/ledger-schema.ts';
import { opHashOf } from '../../kernel/ledger-receipt.ts';
import { chainOf, type EvmEndpoint, walletClientOf } from './clients.ts';
import {
  assetRecordOf,
  type OpRecordedArgs,
  type OpRecordView,
  opKeyOf,
  opStructOf,
  receiptOfEvent,
  SATP_ASSET_ABI,
} from './satp-asset.ts';

export interface EvmLedgerOptions {
  /** The ledger id written into receipts (ID_PATTERN). */
  id: string;
  endpoint: EvmEndpoint;
  /** The SatpAsset contract (deployAssetContract). */
  contract: Hex;
  /**
   * An operator account of the contract: it pays for and signs the transactions. Without it the ledger is read only
   * (status, asset, attest: what a destination asks of the origin's chain); execute then refuses.
   */
  privateKey?: Hex;
  /** Blocks a receipt's block must have on top of it, itself included, before execute answers. Default 1. */
  confirmations?: number;
  /** How long execute waits for its transaction to be mined and confirmed. Default 60 000 ms. */
  receiptTimeoutMs?: number;
  /** How often the node is polled for a receipt or a new block. Default 50 ms (anvil mines at once). */
  pollingIntervalMs?: number;
}

const unavailable = (what: string, cause: unknown): SatpError =>
  isSatpError(cause)
    ? cause
    : new SatpError('LEDGER_UNAVAILABLE', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
      });

/** A read-only client for one endpoint, polling at `pollingIntervalMs`. No retries: callers settle by reading. */
export const evmReader = (e: EvmEndpoint, pollingIntervalMs = 50): PublicClient =>
  createPublicClient({
    chain: chainOf(e),
    pollingInterval: pollingIntervalMs,
    // A cached block number would make a block mined a moment ago look missing (confirmations, status).
    cacheTime: 0,
    transport: http(e.url, { retryCount: 0, timeout: 10_000 }),
  });

/** Decodes a log as the contract's OpRecorded event, or undefined. */
export function decodeOpRecorded(log: { data: Hex; topics: readonly Hex[] }): OpRecordedArgs | undefined {
  try {
    const d = decodeEventLog({
      abi: SATP_ASSET_ABI,
      eventName: 'OpRecorded',
      data: log.data,
      topics: log.topics as [Hex, ...Hex[]],
    });
    return d.args as unknown as OpRecordedArgs;
  } catch {
    return undefined;
  }
}

/**
 * A Ledger whose state is a SatpAsset contract. Ops are sent one at a time per instance (one account, one nonce
 * sequence). A call whose outcome is unknown (the node did not answer, the transaction was not seen mined in time)
 * rejects LEDGER_UNAVAILABLE and is settled by opId: status(opId) throws LEDGER_UNAVAILABLE while this account has a
 * transaction pending, so "undefined" always means the op was never recorded and cannot land later from this account.
 */
export class EvmLedger implements Ledger {
  readonly id: string;
  readonly contract: Hex;
  readonly chainId: number;
  readonly confirmations: number;
  readonly #reader: PublicClient;
  readonly #wallet: WalletClient<Transport, Chain, Account> | undefined;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #lock = new KeyedLock();

  constructor(o: EvmLedgerOptions) {
    if (!ID_PATTERN.test(o.id)) throw new TypeError(`invalid ledger id ${JSON.stringify(o.id)}`);
    if (!/^0x[0-9a-fA-F]{40}$/.test(o.contract)) throw new TypeError(`invalid contract address ${o.contract}`);
    this.id = o.id;
    this.contract = o.contract.toLowerCase() as Hex;
    this.chainId = o.endpoint.chainId;
    this.confirmations = Math.max(1, Math.trunc(o.confirmations ?? 1));
    this.#pollMs = o.pollingIntervalMs ?? 50;
    this.#timeoutMs = o.receiptTimeoutMs ?? 60_000;
    this.#reader = evmReader(o.endpoint, this.#pollMs);
    this.#wallet = o.privateKey === undefined ? undefined : walletClientOf(o.endpoint, o.privateKey);
  }

  /** The operator account's address (undefined for a read-only ledger). */
  get address(): Hex | undefined {
    return this.#wallet?.account.address;
  }

  async execute(value: LedgerOp): Promise<LedgerReceipt> {
    const op = parseLedgerOp(value);
    if (op.kind === 'lock' && op.expiresAt === 0) {
      // The contract reads expiresAt 0 as "no expiry"; a lock lapsed since 1970 is not worth a special case.
      throw new SatpError('INVALID_INPUT', 'invalid ledger op: op.expiresAt: 0 is not a lock expiry on this ledger');
    }
    const opHash = `0x${opHashOf(op)}` as Hex;
    const wallet = this.#wallet;
    if (!wallet) throw new SatpError('INVALID_INPUT', `ledger ${this.id} is read only here: no operator key`);
    return this.#lock.run('send', async () => {
      const prior = await this.#recorded(op, opHash);
      if (prior) return this.#confirmed(await this.#receiptOf(op.opId, prior));
      let txHash: Hex;
      try {
        txHash = await wallet.writeContract({
          address: this.contract,
          abi: SATP_ASSET_ABI,
          functionName: 'execute',
          args: [opStructOf(op), opHash],
        });
      } catch (err) {
        // Rejected before it was sent (e.g. gas estimation hit OpConflict), or sent with no answer: read again.
        // OP_CONFLICT (another caller recorded this opId with other fields) is the answer; a read failure is not.
        const now = await this.#recorded(op, opHash).catch((e: unknown) => {
          if (isSatpError(e, 'OP_CONFLICT')) throw e;
          return undefined;
        });
        if (now) return this.#confirmed(await this.#receiptOf(op.opId, now));
        throw unavailable(`execute ${op.opId}`, err);
      }
      let tx: Awaited<ReturnType<PublicClient['waitForTransactionReceipt']>>;
      try {
        tx = await this.#reader.waitForTransactionReceipt({
          hash: txHash,
          confirmations: this.confirmations,
          pollingInterval: this.#pollMs,
          timeout: this.#timeoutMs,
        });
      } catch (err) {
        throw unavailable(`execute ${op.opId}: transaction ${txHash} not seen mined and confirmed`, err);
      }
      const key = opKeyOf(op.opId);
      for (const log of tx.logs) {
        if (log.address.toLowerCase() !== this.contract || log.topics[1] !== key) continue;
        const args = decodeOpRecorded(log);
        if (args) return this.#fromLog(args, log);
      }
      // Nothing new recorded by this transaction: another caller recorded the op first, or it reverted.
      const now = await this.#recorded(op, opHash);
      if (now) return this.#receiptOf(op.opId, now);
      throw new SatpError('LEDGER_UNAVAILABLE', `execute ${op.opId}: transaction ${txHash} recorded nothing`);
    });
  }

  /**
   * The receipt of `opId` if the contract recorded it (at the latest block), else undefined. Throws
   * LEDGER_UNAVAILABLE when the node cannot be read, when the op is recorded in a block without enough confirmations
   * yet, and when it is not recorded but this ledger's account has a transaction pending, which may still record it.
   */
  async status(opId: string): Promise<LedgerReceipt | undefined> {
    if (typeof opId !== 'string' || !LEDGER_REF_PATTERN.test(opId)) return undefined;
    try {
      const r = await this.#record(opId);
      const address = this.address;
      if (r.txSeq === 0n && address === undefined) return undefined;
      if (r.txSeq === 0n && address !== undefined) {
        const [pending, latest] = await Promise.all([
          this.#reader.getTransactionCount({ address, blockTag: 'pending' }),
          this.#reader.getTransactionCount({ address, blockTag: 'latest' }),
        ]);
        if (pending > latest) {
          throw new SatpError(
            'LEDGER_UNAVAILABLE',
            `status ${opId}: not recorded yet, and ${pending - latest} transaction(s) of ${address} are pending`,
          );
        }
        return undefined;
      }
      const receipt = await this.#receiptOf(opId, r);
      const head = await this.#reader.getBlockNumber();
      if (head - BigInt(receipt.evidence!.blockNumber) + 1n < BigInt(this.confirmations)) {
        throw new SatpError(
          'LEDGER_UNAVAILABLE',
          `status ${opId}: recorded, not yet ${this.confirmations} blocks deep`,
        );
      }
      return receipt;
    } catch (err) {
      throw unavailable(`status ${opId}`, err);
    }
  }

  async asset(assetId: string): Promise<AssetRecord | undefined> {
    if (typeof assetId !== 'string' || !LEDGER_REF_PATTERN.test(assetId)) return undefined;
    try {
      return assetRecordOf(assetId, await this.#asset(assetId));
    } catch (err) {
      throw unavailable(`asset ${assetId}`, err);
    }
  }

  /** The asset, txSeq and asked op records, all read at one block; ledgerTime is that block's timestamp. */
  async attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    checkAttestRequest(assetId, opIds);
    try {
      const block = await this.#reader.getBlock({ blockTag: 'latest' });
      return await readAttestation(this.#reader, this.id, this.chainId, this.contract, block, assetId, opIds);
    } catch (err) {
      throw unavailable(`attest ${assetId}`, err);
    }
  }

  /** txSeq of the last recorded op (0 when none), at the latest block. */
  async txSeq(): Promise<number> {
    try {
      return Number(
        await this.#reader.readContract({ address: this.contract, abi: SATP_ASSET_ABI, functionName: 'txSeq' }),
      );
    } catch (err) {
      throw unavailable('txSeq', err);
    }
  }

  #record(opId: string, blockNumber?: bigint): Promise<OpRecordView> {
    return this.#reader.readContract({
      address: this.contract,
      abi: SATP_ASSET_ABI,
      functionName: 'op',
      args: [opId],
      ...(blockNumber !== undefined ? { blockNumber } : {}),
    }) as Promise<OpRecordView>;
  }

  #asset(assetId: string) {
    return this.#reader.readContract({
      address: this.contract,
      abi: SATP_ASSET_ABI,
      functionName: 'asset',
      args: [assetId],
    });
  }

  /** The op's record if recorded with this opHash; OP_CONFLICT if recorded with another; undefined if not recorded. */
  async #recorded(op: LedgerOp, opHash: Hex): Promise<OpRecordView | undefined> {
    let r: OpRecordView;
    try {
      r = await this.#record(op.opId);
    } catch (err) {
      throw unavailable(`execute ${op.opId}`, err);
    }
    if (r.txSeq === 0n) return undefined;
    if (r.opHash.toLowerCase() !== opHash.toLowerCase()) {
      throw new SatpError('OP_CONFLICT', `op ${op.opId} was recorded on chain with other fields`, {
        detail: { opId: op.opId, recordedOpHash: r.opHash.slice(2), opHash: opHash.slice(2) },
      });
    }
    return r;
  }

  /** The receipt of a recorded op, from its event (one getLogs over the block the record names). */
  async #receiptOf(opId: string, r: OpRecordView): Promise<LedgerReceipt> {
    try {
      const logs = await this.#reader.getLogs({
        address: this.contract,
        event: SATP_ASSET_ABI.find((x) => x.type === 'event' && x.name === 'OpRecorded')!,
        args: { opKey: opKeyOf(opId) },
        fromBlock: r.blockNumber,
        toBlock: r.blockNumber,
      });
      for (const log of logs) {
        const args = decodeOpRecorded(log as Log);
        if (args && args.op.opId === opId && args.txSeq === r.txSeq) return this.#fromLog(args, log as Log);
      }
    } catch (err) {
      throw unavailable(`status ${opId}`, err);
    }
    throw new SatpError('LEDGER_UNAVAILABLE', `op ${opId} is recorded but its event was not found in its block`);
  }

  #fromLog(args: OpRecordedArgs, log: Log): LedgerReceipt {
    if (log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null)
      throw new SatpError('LEDGER_UNAVAILABLE', `op ${args.op.opId}: its event is not in a mined block yet`);
    const evidence: ChainEvidence = {
      type: 'evm',
      chainId: this.chainId,
      contract: this.contract,
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash.toLowerCase(),
      txHash: log.transactionHash.toLowerCase(),
      logIndex: log.logIndex,
    };
    const receipt = receiptOfEvent(this.id, args, evidence);
    if (!receipt) throw new SatpError('LEDGER_UNAVAILABLE', `op ${args.op.opId}: its event is malformed`);
    return receipt;
  }

  /** Waits until the receipt's block has `confirmations` blocks, itself included (execute of a recorded op). */
  async #confirmed(receipt: LedgerReceipt): Promise<LedgerReceipt> {
    if (this.confirmations <= 1) return receipt;
    try {
      await this.#reader.waitForTransactionReceipt({
        hash: receipt.evidence!.txHash as Hex,
        confirmations: this.confirmations,
        pollingInterval: this.#pollMs,
        timeout: this.#timeoutMs,
      });
    } catch (err) {
      throw unavailable(`execute ${receipt.opId}: not confirmed`, err);
    }
    return receipt;
  }
}

/** Reads an attestation of `assetId` at `block` (asset, txSeq, op records): used by the ledger and its checker. */
export async function readAttestation(
  reader: PublicClient,
  ledgerId: string,
  chainId: number,
  contract: Hex,
  block: { number: bigint | null; hash: Hex | null; timestamp: bigint },
  assetId: string,
  opIds: readonly string[],
): Promise<LedgerAttestation> {
  if (block.number === null || block.hash === null) throw new Error('block not mined');
  const at = { address: contract, abi: SATP_ASSET_ABI, blockNumber: block.number } as const;
  const [assetTuple, txSeq, records] = await Promise.all([
    reader.readContract({ ...at, functionName: 'asset', args: [assetId] }),
    reader.readContract({ ...at, functionName: 'txSeq' }),
    Promise.all(
      opIds.map((opId) => reader.readContract({ ...at, functionName: 'op', args: [opId] }) as Promise<OpRecordView>),
    ),
  ]);
  const asset = assetRecordOf(assetId, assetTuple);
  const ops: { opId: string; ok: boolean }[] = [];
  opIds.forEach((opId, i) => {
    const r = records[i]!;
    if (r.txSeq !== 0n) ops.push({ opId, ok: r.ok });
  });
  return {
    kind: 'attestation',
    ledgerId,
    assetId,
    ...(asset ? { asset } : {}),
    ledgerTime: Number(block.timestamp) * 1000,
    txSeq: Number(txSeq),
    ops,
    evidence: {
      type: 'evm',
      chainId,
      contract: contract.toLowerCase(),
      blockNumber: Number(block.number),
      blockHash: block.hash.toLowerCase(),
    },
  };
}

export { addressOf } from './clients.ts';
