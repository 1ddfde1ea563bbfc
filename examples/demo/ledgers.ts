// The demo's two ledgers: durable simulated ledgers (LevelDB) served over HTTP from the demo's own process, on
// 127.0.0.1 with OS-chosen ports, which the gateway processes reach with HttpLedger as they would a real one; or
// (npm start -- --ledgers evm) two anvil chains, each with the SatpAsset contract (ledgers/evm).
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { AssetRecord } from '../../kernel/ledger.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import type { SeedAsset } from '../../ledgers/ledger-engine.ts';
import { LevelLedger } from '../../ledgers/level-ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import type { LedgerProofChecker } from '../../kernel/ledger-receipt.ts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { evmChecker } from '../../ledgers/evm/check.ts';
import { addressOf } from '../../ledgers/evm/clients.ts';
import { deployAssetContract } from '../../ledgers/evm/deploy.ts';
import { EvmLedger } from '../../ledgers/evm/ledger.ts';
import { evmLedgerUrl } from '../../ledgers/evm/spec.ts';
import type { PairLedger } from '../gateway-pair.ts';
import { HTTP_TIMEOUTS, nodeServerTimeouts } from '../../http/node-limits.ts';

export interface DemoLedger {
  id: string;
  /** A ledger server's http:// URL, or an EVM ledger's evm+http:// URL (ledgers/evm/spec.ts). */
  url: string;
  /** A ledger server: the key its receipts verify under; the demo hands it to the gateways as configuration. */
  publicJwk?: PublicJwk;
  /** An EVM ledger: what checks its receipts on the chain, and the file with the gateway's account key. */
  checker?: LedgerProofChecker;
  evmKeyFile?: string;
  assets(): Promise<AssetRecord[]>;
  close(): Promise<void>;
}

/** How the gateway pair is given a demo ledger: by its key, or by its chain and account key. */
export const pairLedger = (l: DemoLedger): PairLedger =>
  l.publicJwk ? { url: l.url, publicJwk: l.publicJwk } : { url: l.url, evmKeyFile: l.evmKeyFile! };

export type EvmDemoLedger = DemoLedger & { anvil: Anvil; contract: Hex; ledger: EvmLedger };

/**
 * A ledger on its own anvil chain (ledgers/evm/anvil.ts, 127.0.0.1, a port chosen at run time): a SatpAsset
 * contract deployed by anvil's first development account, whose operator is the gateway's account (`operatorKey`,
 * written to a key file for the gateway process). Blocks come at once for each transaction and, with `blockTime`,
 * also every `blockTime` seconds, so the chain's clock (which judges lock expiry) moves while nobody transacts.
 */
export async function startEvmLedger(
  dir: string,
  id: string,
  o: {
    chainId: number;
    operatorKey: Hex;
    seeds?: SeedAsset[];
    watch: string[];
    blockTime?: number;
    /** anvil writes the chain here when it stops (SIGTERM), and a restart (restartAnvil) loads it. */
    stateFile?: string;
  },
): Promise<EvmDemoLedger> {
  const anvil = await startAnvil({
    chainId: o.chainId,
    ...(o.blockTime ? { blockTime: o.blockTime, mixedMining: true } : {}),
    ...(o.stateFile ? { stateFile: o.stateFile } : {}),
  });
  try {
    const endpoint = { url: anvil.url, chainId: anvil.chainId };
    const contract = await deployAssetContract(endpoint, ANVIL_KEYS[0], {
      operators: [addressOf(o.operatorKey)],
      seeds: o.seeds ?? [],
    });
    const spec = { id, endpoint, contract, confirmations: 1 };
    const evmKeyFile = join(dir, `${id}.evm-key`);
    writeFileSync(evmKeyFile, `${o.operatorKey}\n`, { mode: 0o600 });
    const ledger = new EvmLedger({ ...spec, privateKey: o.operatorKey });
    return {
      id,
      url: evmLedgerUrl(spec),
      checker: evmChecker(spec),
      evmKeyFile,
      anvil,
      contract,
      ledger,
      assets: async () =>
        (await Promise.all(o.watch.map((a) => ledger.asset(a)))).filter((a): a is AssetRecord => a !== undefined),
      close: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop('SIGKILL');
    throw err;
  }
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
