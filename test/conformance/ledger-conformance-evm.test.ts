// The ledger conformance suite against EvmLedger: one anvil for the file, a fresh SatpAsset contract per test
// (so txSeq starts at 1), receipts and attestations proven by evmChecker reading the chain.
import { afterAll, beforeAll } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import type { LedgerProofChecker } from '../../kernel/ledger-receipt.ts';
import { ledgerConformance } from '../../ledgers/conformance.ts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { evmChecker } from '../../ledgers/evm/check.ts';
import { addressOf, type EvmEndpoint } from '../../ledgers/evm/clients.ts';
import { deployAssetContract } from '../../ledgers/evm/deploy.ts';
import { EvmLedger } from '../../ledgers/evm/ledger.ts';

const ADMIN = ANVIL_KEYS[0];
const OPERATOR = ANVIL_KEYS[1];
let anvil: Anvil | undefined;
let endpoint: EvmEndpoint;
let otherChecker: LedgerProofChecker;

beforeAll(async () => {
  anvil = await startAnvil();
  endpoint = { url: anvil.url, chainId: anvil.chainId };
  // Another deployment of the same contract, with the same ledger id: its checker must refuse this ledger's answers.
  const other = await deployAssetContract(endpoint, ADMIN, { operators: [addressOf(OPERATOR)] });
  otherChecker = evmChecker({ id: 'ledger-a', endpoint, contract: other });
}, 60_000);

afterAll(async () => {
  await anvil?.stop();
});

// The suite reads otherTrust when a test runs, after beforeAll has made the checker.
const otherTrust = {
  get checker(): LedgerProofChecker {
    return otherChecker;
  },
};

ledgerConformance(
  'EvmLedger → SatpAsset on anvil',
  async (seeds) => {
    const contract = await deployAssetContract(endpoint, ADMIN, { operators: [addressOf(OPERATOR)], seeds });
    const ledger = new EvmLedger({ id: 'ledger-a', endpoint, contract, privateKey: OPERATOR });
    return {
      ledger,
      trust: { checker: evmChecker({ id: 'ledger-a', endpoint, contract }) },
      close: async () => undefined,
    };
  },
  { verifier: defaultVerifier(), otherTrust },
);
