// Test support for ledgers: deterministic ledger keys, temp databases, and HTTP servers on 127.0.0.1 port 0.
import { serve } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { testGateway } from './fixtures.ts';

/** The ledger's signing key, deterministic (RFC 6979) so receipts repeat byte for byte across runs. */
export const LEDGER_KEY = testGateway('ledger-a');
/** Another key, under which the ledger's receipts must not verify. */
export const OTHER_KEY = testGateway('ledger-impostor');

/** A clock for receipt timestamps: 1_700_000_000_000, +1 ms per reading. Time is an input. */
export function fakeClock(start = 1_700_000_000_000): () => number {
  let t = start;
  return () => t++;
}

export function tempDir(prefix = 'satp-ledger-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface LoopbackServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a fetch handler on 127.0.0.1 with an OS-chosen port through @hono/node-server, which runs
 * under Deno's Node compatibility as well, so both runtimes exercise the same server code.
 */
export function serveOnLoopback(fetch: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            // Idle keep-alive sockets would hold close() open; the test is over, so drop them.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}
