#!/usr/bin/env node
// The SATP gateway as a Node process: WebSocket server and client from `ws`, LevelDB, stdin commands, JSON event lines.
//   npx satp-gateway --id gw-a --port 0 --db .data/gw-a --keys .data/gw-a.key.json \
//     --ledger http://127.0.0.1:4100 --peers peers.json [--peer-ledger gw-b=http://127.0.0.1:4101]
// (from the sources: node -r ./cli/uv-pool.cjs --import tsx cli/gateway.ts with the same flags; the preload sizes
// libuv's pool as the bin does)
// The first stdout line is {"event":"listening","url":...}; docs/demo.md describes the events and commands.
// The Deno variant (gateway.deno.ts) differs only in the GatewayRuntime it hands over.
import { createInterface } from 'node:readline';
import { WsServerTransport } from '../transports/ws/node/server.ts';
import { createNodeWsClient } from '../transports/ws/node/client.ts';
import { type GatewayRuntime, runGatewayProcess } from './gateway-process.ts';
import { useNativeSha256 } from '../storage/sha256-node.ts';
import { useNativeBase64Url } from '../storage/base64url-node.ts';
import { nodeVerifier } from '../storage/verifier-node.ts';
import { nodeSignerFromJwk } from '../storage/signer-node.ts';
import { nobleVerifier } from '../kernel/crypto/noble.ts';
import { serveOnNode } from '../http/node-serve.ts';

// Hashes with the runtime's native SHA-256 (node:crypto, in Node and Deno alike) instead of noble's.
useNativeSha256();
useNativeBase64Url();

const node: GatewayRuntime = {
  name: 'node',
  pid: process.pid,
  // node:crypto verifies ES256 at about half of WebCrypto's cost to this thread; noble keeps ES256K.
  verifier: nodeVerifier(nobleVerifier()),
  // And signs at about a third of WebCrypto's cost to this thread (storage/signer-node.ts).
  signerFromJwk: nodeSignerFromJwk,
  async listen({ host, port, tls, ...options }) {
    // A 5 s heartbeat finds a silently dead peer fast; a SIGKILLed one closes its sockets at once anyway.
    const transport = await WsServerTransport.listen({
      ...options,
      host,
      port,
      heartbeatMs: 5_000,
      ...(tls ? { tls } : {}),
    });
    return { transport, url: transport.url };
  },
  dialer: (options) => createNodeWsClient(options),
  async serve(handler, hostname, port) {
    const s = await serveOnNode(handler, { hostname, port });
    return { url: s.url, close: () => s.close() };
  },
  stdinLines: () => createInterface({ input: process.stdin, crlfDelay: Infinity }),
  onSignal(handler) {
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  },
  killSelf() {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable: SIGKILL did not end the process');
  },
  exit: (code) => process.exit(code),
};

await runGatewayProcess(node, process.argv.slice(2));
