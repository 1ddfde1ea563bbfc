#!/usr/bin/env node
// The Log Storage API server on Node, over LevelDB, on 127.0.0.1 (docs/log-storage-api.md):
//   npx satp-log-server --port 8787 --db .data/log-server --gateways gateways.json
// (from the sources: node --import tsx cli/log-server.ts with the same flags)
// The first stdout line is the listening URL (port 0 lets the OS choose).
import process from 'node:process';
import { serveOnNode } from '../http/node-serve.ts';
import { openLogServer, parseLogServerArgs, USAGE } from './log-server-config.ts';
import { useNativeSha256 } from '../storage/sha256-node.ts';
import { useNativeBase64Url } from '../storage/base64url-node.ts';

// Hashes with the runtime's native SHA-256 (node:crypto, in Node and Deno alike) instead of noble's.
useNativeSha256();
useNativeBase64Url();

let config: ReturnType<typeof parseLogServerArgs>;
try {
  config = parseLogServerArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
if (config === 'help') {
  console.log(USAGE);
  process.exit(0);
}

const { app, store } = await openLogServer(config);
const served = await serveOnNode(app.fetch, {
  port: config.port,
  headersTimeoutMs: config.headersTimeoutMs,
  requestTimeoutMs: config.requestTimeoutMs,
});
console.log(served.url);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await served.close();
  await store.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
