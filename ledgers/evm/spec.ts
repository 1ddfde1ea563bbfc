// One string names a ledger on an EVM chain, so a command line or a config file can give it where it would give a
// ledger server's URL: evm+http://127.0.0.1:8545?id=ledger-a&chain=31337&contract=0x…[&confirmations=1]
// [&receiptTimeoutMs=60000] (the JSON-RPC URL after "evm+", the ledger id its receipts name, the chain id, the asset
// contract; how many blocks make an op final, and how long a transaction may wait to be mined).
import { ID_PATTERN } from '../../kernel/entry.ts';
import type { NotaryMode } from '../../storage/notarized.ts';
import type { EvmEndpoint } from './clients.ts';

export interface EvmLedgerSpec {
  /** The ledger id (network id) its receipts name. */
  id: string;
  endpoint: EvmEndpoint;
  /** The asset contract (contracts/SatpAsset.sol), 0x and 40 lowercase hex digits. */
  contract: `0x${string}`;
  /** Blocks on top of an op's block before its receipt is answered or accepted (default 1: mined). */
  confirmations: number;
  /**
   * How long an execute waits for its transaction to be mined and confirmed before its outcome counts as unknown
   * (and is settled by op id); EvmLedger's default (60 s) when not given. A chain that lost a pending transaction
   * (a node restarted, its pool dropped) costs a gateway this long before it asks the chain by op id.
   */
  receiptTimeoutMs?: number;
}

/** The bounds of receiptTimeoutMs=: a second (a chain mines in that, or is slow), an hour. */
const RECEIPT_TIMEOUT_MS = { min: 1_000, max: 3_600_000 } as const;

export const isEvmLedgerUrl = (s: string): boolean => /^evm\+https?:\/\//.test(s);

/**
 * What every evm+http(s):// URL says (`what` names the kind in errors): the chain id and the contract, and the rest
 * of its parameters; `rpc` then gives the JSON-RPC URL, the node's own parameters kept and the named ones dropped.
 */
function evmUrl(s: string, what: string) {
  if (!isEvmLedgerUrl(s)) throw new RangeError(`not an evm+http(s):// ${what} URL: ${JSON.stringify(s)}`);
  let u: URL;
  try {
    u = new URL(s.slice('evm+'.length));
  } catch {
    throw new RangeError(`bad EVM ${what} URL ${JSON.stringify(s)}`);
  }
  const q = u.searchParams;
  const chainId = Number(q.get('chain'));
  if (!Number.isSafeInteger(chainId) || chainId < 1) throw new RangeError(`EVM ${what} URL ${s}: bad chain=`);
  const contract = (q.get('contract') ?? '').toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(contract)) throw new RangeError(`EVM ${what} URL ${s}: bad contract=`);
  const rpc = (named: string[]): EvmEndpoint => {
    for (const k of ['chain', 'contract', ...named]) q.delete(k);
    return { url: `${u.origin}${u.pathname === '/' ? '' : u.pathname}${q.size > 0 ? `?${q}` : ''}`, chainId };
  };
  return { q, contract: contract as `0x${string}`, rpc };
}

/** Parses an evm+http(s):// ledger URL; throws a RangeError that says what is wrong. */
export function parseEvmLedgerUrl(s: string): EvmLedgerSpec {
  const { q, contract, rpc } = evmUrl(s, 'ledger');
  const id = q.get('id') ?? '';
  if (!ID_PATTERN.test(id)) throw new RangeError(`EVM ledger URL ${s}: id= must be a ledger id`);
  const confirmations = q.has('confirmations') ? Number(q.get('confirmations')) : 1;
  if (!Number.isSafeInteger(confirmations) || confirmations < 1 || confirmations > 64)
    throw new RangeError(`EVM ledger URL ${s}: confirmations= must be 1–64`);
  const timeout = q.has('receiptTimeoutMs') ? Number(q.get('receiptTimeoutMs')) : undefined;
  const { min, max } = RECEIPT_TIMEOUT_MS;
  if (timeout !== undefined && (!Number.isSafeInteger(timeout) || timeout < min || timeout > max))
    throw new RangeError(`EVM ledger URL ${s}: receiptTimeoutMs= must be ${min}–${max} (milliseconds)`);
  return {
    id,
    endpoint: rpc(['id', 'confirmations', 'receiptTimeoutMs']),
    contract,
    confirmations,
    ...(timeout !== undefined && { receiptTimeoutMs: timeout }),
  };
}

/** The evm+ URL of a node's endpoint, a contract and more parameters (those not undefined): evmUrl's inverse. */
function evmUrlOf(endpoint: EvmEndpoint, contract: string, params: Record<string, string | undefined>): string {
  const u = new URL(endpoint.url);
  u.searchParams.set('chain', String(endpoint.chainId));
  u.searchParams.set('contract', contract.toLowerCase());
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return `evm+${u.href.replace(/\/\?/, '?')}`;
}

/** The evm+ URL of a spec (the inverse of parseEvmLedgerUrl). */
export function evmLedgerUrl(spec: Omit<EvmLedgerSpec, 'confirmations'> & { confirmations?: number }): string {
  return evmUrlOf(spec.endpoint, spec.contract, {
    id: spec.id,
    confirmations:
      spec.confirmations !== undefined && spec.confirmations !== 1 ? String(spec.confirmations) : undefined,
    receiptTimeoutMs: spec.receiptTimeoutMs === undefined ? undefined : String(spec.receiptTimeoutMs),
  });
}

/** Where a gateway's log is notarized (storage/notarized.ts): a SatpNotary contract on an EVM chain, and the mode. */
export interface EvmNotarySpec {
  endpoint: EvmEndpoint;
  /** The SatpNotary contract, 0x and 40 lowercase hex digits. */
  contract: `0x${string}`;
  /** hashes: each entry's hash is published (recovery-04 §3.3 mode 1, as a notary); entries: the entries too. */
  mode: NotaryMode;
}

/**
 * Parses an evm+http(s):// notary URL: evm+http://127.0.0.1:8545?chain=31337&contract=0x…[&mode=hashes|entries] (the
 * JSON-RPC URL after "evm+", the chain id, the SatpNotary contract; mode hashes by default). Throws a RangeError that
 * says what is wrong.
 */
export function parseEvmNotaryUrl(s: string): EvmNotarySpec {
  const { q, contract, rpc } = evmUrl(s, 'notary');
  const mode = q.get('mode') ?? 'hashes';
  if (mode !== 'hashes' && mode !== 'entries')
    throw new RangeError(`EVM notary URL ${s}: mode= must be hashes or entries`);
  return { endpoint: rpc(['mode']), contract, mode };
}

/** The evm+ URL of a notary spec (the inverse of parseEvmNotaryUrl). */
export function evmNotaryUrl(spec: EvmNotarySpec): string {
  return evmUrlOf(spec.endpoint, spec.contract, { mode: spec.mode === 'hashes' ? undefined : spec.mode });
}
