// The notary of storage/notarized.ts on an EVM chain: contracts/SatpNotary.sol through viem. Writes are sent one at
// a time per EvmNotary (one account, so nonces never race) and awaited until mined; a revert rejects with the
// contract's error name in the message. Node and Deno.
import {
  type Abi,
  bytesToHex,
  decodeEventLog,
  type Hex,
  hexToBytes,
  keccak256,
  type PublicClient,
  toBytes,
  type TransactionReceipt,
} from 'viem';
import type { LogEntry } from '../../kernel/entry.ts';
import { entryBytes, entryFromBytes, type LogNotary, type NotaryWrite } from '../../storage/notarized.ts';
import { type EvmEndpoint, publicClientOf, walletClientOf } from './clients.ts';
import { SATP_NOTARY_ABI } from './satp-notary.ts';

export interface EvmNotaryOptions {
  endpoint: EvmEndpoint;
  /** The SatpNotary contract's address. */
  contract: Hex;
  /** The writer's key (a registered writer); without it the notary is read-only. */
  privateKey?: Hex;
  /** Where to start reading events (default 0: the whole chain). */
  fromBlock?: bigint;
  /** Most polls for a receipt (default 1200: about a minute). */
  maxReceiptPolls?: number;
}

/** Longest wait between two polls for a receipt; the first polls come sooner (1, 2, 4, … ms). */
const RECEIPT_POLL_MS = 50;

/**
 * The receipt of transaction `hash`, polled for: anvil's instant mining may answer eth_sendRawTransaction a moment
 * before the block is there, so the first polls come after 1, 2, 4, … ms, then every RECEIPT_POLL_MS; at most
 * `maxPolls` polls.
 */
export async function receiptOf(client: PublicClient, hash: Hex, maxPolls = 1200): Promise<TransactionReceipt> {
  for (let i = 0; i < maxPolls; i++) {
    const r = await client.getTransactionReceipt({ hash }).catch((err: unknown) => {
      if ((err as { name?: string }).name === 'TransactionReceiptNotFoundError') return undefined;
      throw err;
    });
    if (r) return r;
    await new Promise((resolve) => setTimeout(resolve, Math.min(RECEIPT_POLL_MS, 2 ** i)));
  }
  throw new Error(`transaction ${hash} not mined after ${maxPolls} polls`);
}

const hex32 = (hash: string): Hex => {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new TypeError(`not an entry hash: ${hash}`);
  return `0x${hash}`;
};

export class EvmNotary implements LogNotary {
  readonly endpoint: EvmEndpoint;
  readonly contract: Hex;
  readonly #abi: Abi;
  readonly #client: PublicClient;
  readonly #wallet: ReturnType<typeof walletClientOf> | undefined;
  readonly #fromBlock: bigint;
  readonly #maxPolls: number;
  /** Writes in order: each waits for the one before it to be mined. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: EvmNotaryOptions, abi: Abi) {
    this.endpoint = o.endpoint;
    this.contract = o.contract;
    this.#abi = abi;
    this.#client = publicClientOf(o.endpoint);
    this.#wallet = o.privateKey ? walletClientOf(o.endpoint, o.privateKey) : undefined;
    this.#fromBlock = o.fromBlock ?? 0n;
    this.#maxPolls = o.maxReceiptPolls ?? 1200;
  }

  static async connect(o: EvmNotaryOptions): Promise<EvmNotary> {
    return new EvmNotary(o, SATP_NOTARY_ABI as unknown as Abi);
  }

  /** The writer's address, when this notary can write. */
  get account(): Hex | undefined {
    return this.#wallet?.account.address;
  }

  async head(logId: string): Promise<number> {
    return Number(await this.#read('head', [logId]));
  }

  async hashAt(logId: string, seq: number): Promise<string | undefined> {
    const h = (await this.#read('hashAt', [logId, BigInt(seq)])) as Hex;
    return /^0x0{64}$/.test(h) ? undefined : h.slice(2);
  }

  async hashRange(logId: string, from: number, to: number): Promise<string[]> {
    if (to < from) return [];
    const hs = (await this.#read('hashRange', [logId, BigInt(from), BigInt(to)])) as readonly Hex[];
    return hs.map((h) => h.slice(2));
  }

  async isWriter(address: Hex): Promise<boolean> {
    return (await this.#read('isWriter', [address])) as boolean;
  }

  notarize(logId: string, firstSeq: number, hashes: readonly string[]): Promise<NotaryWrite> {
    return this.#write('notarize', [logId, BigInt(firstSeq), hashes.map(hex32)]);
  }

  publish(logId: string, firstSeq: number, entries: readonly LogEntry[]): Promise<NotaryWrite> {
    return this.#write('publish', [logId, BigInt(firstSeq), entries.map((e) => bytesToHex(entryBytes(e)))]);
  }

  /** Admin only: lets `writer` publish, or stops it. */
  setWriter(writer: Hex, allowed: boolean): Promise<NotaryWrite> {
    return this.#write('setWriter', [writer, allowed]);
  }

  /** Every entry published for `logId` (mode entries), from the Published events, in seq order. Not verified. */
  async entries(logId: string): Promise<LogEntry[]> {
    const logs = await this.#client.getContractEvents({
      address: this.contract,
      abi: this.#abi,
      eventName: 'Published',
      args: { logKey: keccak256(toBytes(logId)) },
      fromBlock: this.#fromBlock,
      toBlock: 'latest',
    });
    const out: LogEntry[] = [];
    const batches: { firstSeq: number; entries: readonly Hex[] }[] = [];
    for (const log of logs) {
      const ev = decodeEventLog({ abi: this.#abi, data: log.data, topics: log.topics });
      const args = ev.args as unknown as { logId: string; firstSeq: bigint; entries: readonly Hex[] };
      if (args.logId === logId) batches.push({ firstSeq: Number(args.firstSeq), entries: args.entries });
    }
    // The contract appends contiguously and emits only on appending, so the batches tile the log in order.
    batches.sort((a, b) => a.firstSeq - b.firstSeq);
    for (const b of batches) {
      if (b.firstSeq !== out.length + 1) throw new Error(`notary events for ${logId} skip to seq ${b.firstSeq}`);
      for (const e of b.entries) out.push(entryFromBytes(hexToBytes(e)));
    }
    return out;
  }

  #read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.#client.readContract({ address: this.contract, abi: this.#abi, functionName, args: [...args] });
  }

  #write(functionName: string, args: readonly unknown[]): Promise<NotaryWrite> {
    const run = async (): Promise<NotaryWrite> => {
      const wallet = this.#wallet;
      if (!wallet) throw new Error('this EvmNotary has no key: it cannot write');
      // Simulated first: a revert is reported with the contract's error, and nothing is sent.
      const { result, request } = await this.#client.simulateContract({
        account: wallet.account,
        address: this.contract,
        abi: this.#abi,
        functionName,
        args: [...args],
      });
      // Already there, exactly (slots are write-once, so that cannot change): nothing to send.
      if (result === false) return { appended: false, gasUsed: 0n };
      const txHash = await wallet.writeContract(request);
      const receipt = await this.#receipt(txHash);
      if (receipt.status !== 'success') throw new Error(`${functionName} reverted in transaction ${txHash}`);
      return { txHash, gasUsed: receipt.gasUsed, appended: true };
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #receipt(hash: Hex) {
    return receiptOf(this.#client, hash, this.#maxPolls);
  }
}
