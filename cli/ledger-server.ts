#!/usr/bin/env node
// Runs a durable simulated ledger over HTTP on 127.0.0.1, so gateway processes can crash around it:
//   node --import tsx cli/ledger-server.ts --port 0 --db .data/ledger-a --id ledger-a \
//     --assets asset-1:alice,asset-2:bob
// The first stdout line is the listening URL (port 0 lets the OS choose).
import { serve } from '@hono/node-server';
import { parseArgs } from 'node:util';
import { LevelLedger } from '../ledgers/level-ledger.ts';
import { createLedgerApp } from '../ledgers/ledger-server.ts';
import type { SeedAsset } from '../ledgers/ledger-engine.ts';
// The ledger's signing key must survive restarts, or receipts given out before a crash would stop verifying:
// kept beside the database (not inside it: LevelDB owns its directory), created once, as a gateway's key is.
import { loadOrCreateKey } from '../gateway/keys.ts';
import { nodeSignerFromJwk } from '../storage/signer-node.ts';
import { HTTP_TIMEOUTS, nodeServerTimeouts } from '../http/node-limits.ts';

const USAGE =
  'usage: satp-ledger-server --db <dir> --id <ledger-id> [--port 0] [--assets id:owner,...] [--key <private-jwk-file>]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    db: { type: 'string' },
    id: { type: 'string' },
    assets: { type: 'string', default: '' },
    key: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.db || !values.id) fail('--db and --id are required');
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${values.port}`);

const seeds: SeedAsset[] = values.assets
  .split(',')
  .filter((s) => s !== '')
  .map((pair) => {
    const [assetId, owner, extra] = pair.split(':');
    if (!assetId || !owner || extra !== undefined) fail(`bad --assets item ${JSON.stringify(pair)} (want id:owner)`);
    return { assetId, owner };
  });

// It signs every receipt it gives: under Node with node:crypto, as the Node gateways do (storage/signer-node.ts).
// Under Deno, whose node:crypto signs at about a third of its WebCrypto's rate here, with WebCrypto.
const signer = await loadOrCreateKey(
  values.key ?? `${values.db.replace(/\/+$/, '')}.key.json`,
  'Deno' in globalThis ? undefined : nodeSignerFromJwk,
);
const ledger = await LevelLedger.open(values.db, { id: values.id, signer, assets: seeds, now: Date.now });
const app = createLedgerApp(ledger);

// node's defaults would let a silent or slow client hold a socket for up to 90 s (docs/transports.md).
const serverOptions = nodeServerTimeouts(HTTP_TIMEOUTS);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port, serverOptions }, (info) => {
  console.log(`http://127.0.0.1:${info.port}`);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => void ledger.close().then(() => process.exit(0)));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
