// The demo's two ledgers: durable simulated ledgers (LevelDB) served over HTTP from the demo's own process, on
// 127.0.0.1 with OS-chosen ports. The gateway processes reach them with HttpLedger, as they would a real one.
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { AssetRecord } from '../../kernel/ledger.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import type { SeedAsset } from '../../ledgers/ledger-engine.ts';
import { LevelLedger } from '../../ledgers/level-ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import { HTTP_TIMEOUTS, nodeServerTimeouts } from '../../http/node-limits.ts';

export interface DemoLedger {
  id: string;
  url: string;
  /** The key its receipts verify under: the demo hands it to the gateways as configuration. */
  publicJwk: PublicJwk;
  assets(): Promise<AssetRecord[]>;
  close(): Promise<void>;
}

export async function startLedger(dir: string, id: string, assets: SeedAsset[] = []): Promise<DemoLedger> {
  const { signer } = await generateWebCryptoSigner();
  const ledger = await LevelLedger.open(join(dir, id), { id, signer, assets, now: Date.now });
  const app = createLedgerApp(ledger);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const serverOptions = nodeServerTimeouts(HTTP_TIMEOUTS); // node's defaults let a slow client stay 90 s
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0, serverOptions }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    publicJwk: signer.publicJwk,
    assets: () => ledger.listAssets(),
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await ledger.close();
    },
  };
}
