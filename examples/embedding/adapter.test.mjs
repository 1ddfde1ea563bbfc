// Checking your own adapters with the package's conformance suites (vitest, an optional peer dependency):
//   npx vitest run adapter.test.mjs
// Replace MemoryLedger and MemoryDriver by your adapter for your chain and your store driver for your database;
// docs/embedding.md says what each case expects. scripts/check-package.mjs runs this file against the packed tarball.
import { defaultVerifier } from 'satp-recovery';
import { generateWebCryptoSigner } from 'satp-recovery/crypto/webcrypto';
import { ledgerConformance } from 'satp-recovery/ledgers/conformance';
import { MemoryLedger } from 'satp-recovery/ledgers/memory';
import { logStoreConformance } from 'satp-recovery/storage/conformance';
import { MemoryDriver } from 'satp-recovery/storage/memory';

const ledgerKey = await generateWebCryptoSigner();
const someoneElse = await generateWebCryptoSigner();

// A Ledger adapter: a fresh ledger holding exactly `assets` for each case, and the key its receipts are signed with.
ledgerConformance(
  'my ledger adapter',
  async (assets) => {
    const ledger = new MemoryLedger({ id: 'my-chain', signer: ledgerKey.signer, assets });
    return { ledger, publicJwk: ledgerKey.signer.publicJwk, close: async () => undefined };
  },
  { verifier: defaultVerifier(), otherKey: someoneElse.signer.publicJwk },
);

/**
 * The raw stored entries of one log, so the suite can tamper with them behind the store's back.
 * @param {import('satp-recovery/storage').LogStoreDriver} driver
 * @param {string} logId
 */
const rawLog = (driver, logId) => {
  const log = /** @type {MemoryDriver} */ (driver).logs.get(logId);
  if (!log) throw new RangeError(`no log ${logId}`);
  return log;
};

// A log store driver: a fresh empty store per case, and raw access to change or drop one stored entry.
logStoreConformance({
  name: 'my store driver',
  capabilities: { persistent: false, durable: false },
  create: async () => new MemoryDriver(),
  async tamper(driver, logId, seq, mutate) {
    const log = rawLog(driver, logId);
    log[seq - 1] = mutate(/** @type {string} */ (log[seq - 1]));
  },
  async remove(driver, logId, seq) {
    rawLog(driver, logId).splice(seq - 1, 1);
  },
});
