// Deploying the contracts (contracts/*.sol, compiled by scripts/build-contracts.mjs into contracts/build/) and
// seeding assets: operator tooling for tests, the demo and the bench. Node and Deno (reads the build outputs); not
// needed to run a gateway, which is given a deployed contract's address.
import type { Abi, Hex } from 'viem';
import { type SeedAsset, seedRecords } from '../ledger-engine.ts';
import { loadArtifact } from './artifacts.ts';
import { type EvmEndpoint, publicClientOf, walletClientOf } from './clients.ts';
import { SATP_ASSET_ABI } from './satp-asset.ts';

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

/**
 * Deploys a fresh SatpAsset with `adminKey` as its admin, `operators` (addresses) allowed to execute, and `seeds`
 * as active assets (seeding takes no txSeq). Returns the contract's address, lowercase.
 */
export async function deployAssetContract(
  endpoint: EvmEndpoint,
  adminKey: Hex,
  o: { operators: Hex[]; seeds?: readonly SeedAsset[] },
): Promise<Hex> {
  const seeds = seedRecords(o.seeds);
  const d = await deployContract(endpoint, adminKey, 'SatpAsset', [
    o.operators,
    seeds.map((s) => s.assetId),
    seeds.map((s) => s.owner),
  ]);
  return d.address.toLowerCase() as Hex;
}

/** Adds one active asset as the contract's admin (no txSeq), and waits for it to be mined. */
export async function adminSeed(endpoint: EvmEndpoint, adminKey: Hex, contract: Hex, seed: SeedAsset): Promise<void> {
  const [s] = seedRecords([seed]);
  const wallet = walletClientOf(endpoint, adminKey);
  const hash = await wallet.writeContract({
    address: contract,
    abi: SATP_ASSET_ABI,
    functionName: 'seed',
    args: [s!.assetId, s!.owner],
  });
  const r = await publicClientOf(endpoint).waitForTransactionReceipt({ hash, timeout: 60_000 });
  if (r.status !== 'success') throw new Error(`seeding ${s!.assetId} failed in ${hash}`);
}

/** Deploys SatpNotary with `adminKey` as admin and `writers` (addresses) registered. */
export async function deployNotary(
  endpoint: EvmEndpoint,
  adminKey: Hex,
  writers: readonly Hex[],
): Promise<{ address: Hex; blockNumber: number }> {
  const d = await deployContract(endpoint, adminKey, 'SatpNotary', [writers]);
  return { address: d.address, blockNumber: d.blockNumber };
}
