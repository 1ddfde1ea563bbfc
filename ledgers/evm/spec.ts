// One string names a ledger on an EVM chain, so a command line or a config file can give it where it would give a
// ledger server's URL: evm+http://127.0.0.1:8545?id=ledger-a&chain=31337&contract=0x…[&confirmations=1]
// (the JSON-RPC URL after "evm+", the ledger id its receipts name, the chain id, the asset contract).
import { ID_PATTERN } from '../../kernel/entry.ts';
import type { EvmEndpoint } from './clients.ts';

export interface EvmLedgerSpec {
  /** The ledger id (network id) its receipts name. */
  id: string;
  endpoint: EvmEndpoint;
  /** The asset contract (contracts/SatpAsset.sol), 0x and 40 lowercase hex digits. */
  contract: `0x${string}`;
  /** Blocks on top of an op's block before its receipt is answered or accepted (default 1: mined). */
  confirmations: number;
}

export const isEvmLedgerUrl = (s: string): boolean => /^evm\+https?:\/\//.test(s);

/** Parses an evm+http(s):// ledger URL; throws a RangeError that says what is wrong. */
export function parseEvmLedgerUrl(s: string): EvmLedgerSpec {
  if (!isEvmLedgerUrl(s)) throw new RangeError(`not an evm+http(s):// ledger URL: ${JSON.stringify(s)}`);
  let u: URL;
  try {
    u = new URL(s.slice('evm+'.length));
  } catch {
    throw new RangeError(`bad EVM ledger URL ${JSON.stringify(s)}`);
  }
  const q = u.searchParams;
  const id = q.get('id') ?? '';
  if (!ID_PATTERN.test(id)) throw new RangeError(`EVM ledger URL ${s}: id= must be a ledger id`);
  const chainId = Number(q.get('chain'));
  if (!Number.isSafeInteger(chainId) || chainId < 1) throw new RangeError(`EVM ledger URL ${s}: bad chain=`);
  const contract = (q.get('contract') ?? '').toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(contract)) throw new RangeError(`EVM ledger URL ${s}: bad contract=`);
  const confirmations = q.has('confirmations') ? Number(q.get('confirmations')) : 1;
  if (!Number.isSafeInteger(confirmations) || confirmations < 1 || confirmations > 64)
    throw new RangeError(`EVM ledger URL ${s}: confirmations= must be 1–64`);
  for (const k of ['id', 'chain', 'contract', 'confirmations']) q.delete(k);
  const rpc = `${u.origin}${u.pathname === '/' ? '' : u.pathname}${q.size > 0 ? `?${q}` : ''}`;
  return { id, endpoint: { url: rpc, chainId }, contract: contract as `0x${string}`, confirmations };
}

/** The evm+ URL of a spec (the inverse of parseEvmLedgerUrl). */
export function evmLedgerUrl(spec: Omit<EvmLedgerSpec, 'confirmations'> & { confirmations?: number }): string {
  const u = new URL(spec.endpoint.url);
  u.searchParams.set('id', spec.id);
  u.searchParams.set('chain', String(spec.endpoint.chainId));
  u.searchParams.set('contract', spec.contract.toLowerCase());
  if (spec.confirmations !== undefined && spec.confirmations !== 1)
    u.searchParams.set('confirmations', String(spec.confirmations));
  return `evm+${u.href.replace(/\/\?/, '?')}`;
}
