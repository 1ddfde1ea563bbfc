// Every Ledger adapter passes the one conformance suite: MemoryLedger, LevelLedger on a temp dir, and
// HttpLedger against the Hono ledger app served on 127.0.0.1.
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { ledgerConformance } from '../../ledgers/conformance.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { LevelLedger } from '../../ledgers/level-ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { fakeClock, LEDGER_KEY, OTHER_KEY, serveOnLoopback, tempDir } from '../support/ledger-harness.ts';

const options = { verifier: defaultVerifier(), otherTrust: { key: OTHER_KEY.jwk } };

ledgerConformance(
  'MemoryLedger',
  async (assets) => {
    const ledger = new MemoryLedger({ id: 'ledger-a', signer: LEDGER_KEY.signer, assets });
    return { ledger, trust: { key: ledger.publicJwk }, close: async () => undefined };
  },
  options,
);

ledgerConformance(
  'LevelLedger',
  async (assets) => {
    const dir = tempDir();
    const ledger = await LevelLedger.open(dir.path, {
      id: 'ledger-a',
      signer: LEDGER_KEY.signer,
      assets,
      now: fakeClock(),
    });
    return {
      ledger,
      trust: { key: ledger.publicJwk },
      close: async () => {
        await ledger.close();
        dir.remove();
      },
    };
  },
  options,
);

ledgerConformance(
  'HttpLedger → ledger server (Hono on @hono/node-server)',
  async (assets) => {
    const host = new MemoryLedger({ id: 'ledger-a', signer: LEDGER_KEY.signer, assets, now: fakeClock() });
    const server = await serveOnLoopback(createLedgerApp(host).fetch);
    const ledger = await HttpLedger.connect(server.url);
    return { ledger, trust: { key: (await ledger.health()).publicJwk }, close: () => server.close() };
  },
  options,
);
