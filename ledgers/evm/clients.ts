// The viem clients every EVM part uses (the ledger, its checker, the notary): one chain description per endpoint,
// no retries (a caller settles an unanswered call by reading again). Portable: no file or process API.
import {
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

/** The address of a private key (to name an operator or a writer). */
export const addressOf = (privateKey: Hex): Hex => privateKeyToAccount(privateKey).address;
