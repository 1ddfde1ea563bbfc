// Deploys a compiled contract (ledgers/evm/artifacts.ts) with viem, and makes the clients every EVM part uses.
import {
  type Abi,
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { loadArtifact } from './artifacts.ts';

export interface EvmEndpoint {
  /** JSON-RPC URL of the node, e.g. http://127.0.0.1:8545 */
  url: string;
  chainId: number;
}

/** A chain description for viem: only the id and the RPC URL matter here. */
export const chainOf = (e: EvmEndpoint): Chain =>
  defineChain({
    id: e.chainId,
    name: `chain-${e.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [e.url] } },
  });

/** A read-only client. `retryCount: 0`: callers own retries (an unanswered call is settled by reading again). */
export const publicClientOf = (e: EvmEndpoint): PublicClient =>
  createPublicClient({ chain: chainOf(e), transport: http(e.url, { retryCount: 0, timeout: 10_000 }) });

export const walletClientOf = (e: EvmEndpoint, privateKey: Hex): WalletClient<Transport, Chain, Account> =>
  createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: chainOf(e),
    transport: http(e.url, { retryCount: 0, timeout: 10_000 }),
  });

export interface Deployed {
  address: Hex;
  txHash: Hex;
  blockNumber: number;
  abi: Abi;
}

/** Deploys contracts/<name>.sol's contract `name` with constructor `args`, and waits for it to be mined. */
export async function deployContract(
  e: EvmEndpoint,
  privateKey: Hex,
  name: string,
  args: readonly unknown[] = [],
): Promise<Deployed> {
  const artifact = await loadArtifact(name);
  const abi = artifact.abi as unknown as Abi;
  const wallet = walletClientOf(e, privateKey);
  const txHash = await wallet.deployContract({ abi, bytecode: artifact.bytecode, args: [...args] });
  const receipt = await publicClientOf(e).waitForTransactionReceipt({ hash: txHash, timeout: 60_000 });
  if (receipt.status !== 'success' || !receipt.contractAddress)
    throw new Error(`deploying ${name} failed in transaction ${txHash}`);
  return { address: receipt.contractAddress, txHash, blockNumber: Number(receipt.blockNumber), abi };
}
