// The gateway command line's EVM ledger flags (cli/gateway-cli.ts, ledgers/evm/spec.ts): an evm+http:// ledger URL,
// the account key file, peers whose ledgers are chains; and a clear error naming the flag for each bad use.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGatewayArgs } from '../../cli/gateway-cli.ts';
import { gatewayArgsError } from '../support/gateway-cli-error.ts';
import { evmLedgerUrl, evmNotaryUrl, parseEvmLedgerUrl, parseEvmNotaryUrl } from '../../ledgers/evm/spec.ts';
import { G1, G2 } from '../support/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'satp-cli-evm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONTRACT = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const chainA = evmLedgerUrl({
  id: 'ledger-a',
  endpoint: { url: 'http://127.0.0.1:8545', chainId: 31337 },
  contract: CONTRACT,
});
const chainB = evmLedgerUrl({
  id: 'ledger-b',
  endpoint: { url: 'http://127.0.0.1:8546', chainId: 31338 },
  contract: CONTRACT,
  confirmations: 2,
});
const keyFile = join(dir, 'evm.key');
writeFileSync(keyFile, `0x${'ab'.repeat(32)}\n`);
const peer = { url: 'ws://127.0.0.1:2/satp/ws', publicJwk: G2.jwk, networkId: 'ledger-b' };
const args = (
  over: Record<string, string | undefined>,
  peers: Record<string, unknown> = { 'gw-b': { ...peer, ledgerChain: chainB } },
) => {
  const flags: Record<string, string | undefined> = {
    '--id': 'gw-a',
    '--db': join(dir, 'db'),
    '--keys': join(dir, 'k.json'),
    '--ledger': chainA,
    '--evm-key': keyFile,
    '--peers': JSON.stringify(peers),
    ...over,
  };
  return Object.entries(flags).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
};
const error = gatewayArgsError;

describe('satp-gateway --notary', () => {
  const NOTARY = `0x${'cd'.repeat(20)}` as const;
  const notaryUrl = `evm+http://127.0.0.1:8547?chain=31337&contract=${NOTARY}`;
  it('names a SatpNotary on a chain and the mode, and writes as --notary-key, or as --evm-key without it', () => {
    const base = parseGatewayArgs(args({ '--notary': notaryUrl })) as Exclude<
      ReturnType<typeof parseGatewayArgs>,
      'help'
    >;
    expect(base.notary).toEqual({
      endpoint: { url: 'http://127.0.0.1:8547', chainId: 31337 },
      contract: NOTARY,
      mode: 'hashes',
      key: `0x${'ab'.repeat(32)}`,
    });
    const writer = join(dir, 'notary.key');
    writeFileSync(writer, `0x${'ef'.repeat(32)}\n`);
    const own = parseGatewayArgs(
      args({ '--notary': evmNotaryUrl({ ...base.notary!, mode: 'entries' as const }), '--notary-key': writer }),
    ) as Exclude<ReturnType<typeof parseGatewayArgs>, 'help'>;
    expect(own.notary).toMatchObject({ mode: 'entries', key: `0x${'ef'.repeat(32)}`, contract: NOTARY });
    const { key: _key, ...spec } = base.notary!;
    expect(parseEvmNotaryUrl(evmNotaryUrl(spec))).toEqual(spec);
    expect(parseEvmNotaryUrl(evmNotaryUrl({ ...spec, mode: 'entries' })).mode).toBe('entries');
  });
  it('refuses a notary it could not write to or could not read', () => {
    expect(error(args({ '--notary-key': keyFile }))).toMatch(/--notary-key needs --notary/);
    // A gateway on a ledger server has no --evm-key: the notary needs its own writer key.
    expect(
      error(
        args({
          '--notary': notaryUrl,
          '--ledger': 'http://127.0.0.1:4100',
          '--evm-key': undefined,
          '--ledger-key': JSON.stringify(G1.jwk),
        }),
      ),
    ).toMatch(/--notary needs --notary-key/);
    expect(error(args({ '--notary': `${notaryUrl}&mode=all` }))).toMatch(/mode= must be hashes or entries/);
    expect(error(args({ '--notary': notaryUrl.replace('chain=31337', 'chain=0') }))).toMatch(/bad chain=/);
    expect(error(args({ '--notary': notaryUrl.replace(NOTARY, '0x12') }))).toMatch(/bad contract=/);
    expect(error(args({ '--notary': 'http://127.0.0.1:8547' }))).toMatch(/not an evm\+http/);
    expect(error(args({ '--notary': notaryUrl, '--notary-key': join(dir, 'missing.key') }))).toMatch(
      /cannot read --notary-key/,
    );
  });
});

describe('satp-gateway EVM ledger flags', () => {
  it('receiptTimeoutMs= in an evm+ URL: how long an execute waits for its receipt, round-tripped and bounded', () => {
    const spec = {
      id: 'ledger-a',
      endpoint: { url: 'http://127.0.0.1:8545', chainId: 31337 },
      contract: CONTRACT as `0x${string}`,
      confirmations: 1,
      receiptTimeoutMs: 5_000,
    };
    const url = evmLedgerUrl(spec);
    expect(url).toContain('receiptTimeoutMs=5000');
    // EvmLedger takes the spec as its options: the timeout reaches it under its own option name.
    expect(parseEvmLedgerUrl(url)).toEqual(spec);
    expect(parseEvmLedgerUrl(url).endpoint.url).toBe('http://127.0.0.1:8545');
    for (const bad of ['999', '3600001', '1.5', 'soon', ''])
      expect(() => parseEvmLedgerUrl(`${chainA}&receiptTimeoutMs=${bad}`)).toThrow(/receiptTimeoutMs= must be/);
    expect(error(args({ '--ledger': `${chainA}&receiptTimeoutMs=10` }))).toMatch(/receiptTimeoutMs=/);
  });

  it('an evm+http:// URL round-trips: RPC URL, chain id, contract, ledger id, confirmations', () => {
    expect(parseEvmLedgerUrl(chainB)).toEqual({
      id: 'ledger-b',
      endpoint: { url: 'http://127.0.0.1:8546', chainId: 31338 },
      contract: CONTRACT,
      confirmations: 2,
    });
    expect(parseEvmLedgerUrl(chainA).confirmations).toBe(1);
    expect(parseEvmLedgerUrl(chainA)).not.toHaveProperty('receiptTimeoutMs');
    // The node's own query string (an API key) stays with the RPC URL.
    expect(parseEvmLedgerUrl(`evm+https://rpc.example/v1?key=k&id=l&chain=1&contract=${CONTRACT}`).endpoint.url).toBe(
      'https://rpc.example/v1?key=k',
    );
  });

  it('parse to the ledger URL and the account key, with no --ledger-key, and peers checked on their chain', () => {
    const c = parseGatewayArgs(args({}));
    expect(c).toMatchObject({
      ledger: chainA,
      evmKey: `0x${'ab'.repeat(32)}`,
      peers: { 'gw-b': { ledgerChain: chainB } },
    });
    expect(c !== 'help' && c.ledgerKey).toBeUndefined();
  });

  it('refuse, naming the flag: no account key, a bad key file, a bad URL, a peer with neither key nor chain', () => {
    expect(error(args({ '--evm-key': undefined }))).toMatch(/--evm-key is required/);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not a key');
    expect(error(args({ '--evm-key': bad }))).toMatch(/bad --evm-key/);
    expect(error(args({ '--evm-key': join(dir, 'missing') }))).toMatch(/cannot read --evm-key/);
    expect(error(args({ '--ledger': chainA.replace('chain=31337', 'chain=x') }))).toMatch(/bad chain=/);
    expect(error(args({ '--ledger': chainA.replace(CONTRACT, '0x12') }))).toMatch(/bad contract=/);
    expect(error(args({ '--ledger': 'http://127.0.0.1:1' }))).toMatch(/--ledger-key is required/);
    expect(error(args({}, { 'gw-b': peer }))).toMatch(/gw-b needs ledgerPublicJwk or ledgerChain/);
    expect(error(args({}, { 'gw-b': { ...peer, ledgerChain: chainA } }))).toMatch(/names another ledger/);
    // A ledger server with its key still parses as before, and so does a peer with a ledger key.
    const server = args(
      { '--ledger': 'http://127.0.0.1:1', '--evm-key': undefined, '--ledger-key': JSON.stringify(G1.jwk) },
      { 'gw-b': { ...peer, ledgerPublicJwk: G2.jwk } },
    );
    expect(error(server)).toBe('parsed');
  });
});
