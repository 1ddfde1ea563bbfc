// Serves a fetch handler (a Hono app's app.fetch) on Node with @hono/node-server, on 127.0.0.1 by default, with
// node:http's limits on slow clients turned on (node-limits.ts): a client trickling its headers is cut off. It
// serves the Log Storage API, and the gateway app on Node.
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { HTTP_TIMEOUTS, nodeServerTimeouts } from './node-limits.ts';

export interface NodeServeOptions {
  /** 0 (the default) lets the OS choose. */
  port?: number;
  hostname?: string;
  /** All request headers must arrive within this time (default 10 000 ms); otherwise 408 and close. */
  headersTimeoutMs?: number;
  /** The whole request, body included, must arrive within this time (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this time (default 5 000 ms). */
  keepAliveTimeoutMs?: number;
  /** Largest request head in bytes (default 16 KiB, node's default). */
  maxHeaderSize?: number;
  /** Serve https:// (TLS 1.3 at least, as SATP core asks) with this certificate and key, both PEM. */
  tls?: { cert: string; key: string };
}

export interface NodeServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

type FetchHandler = (request: Request) => Response | Promise<Response>;

export function serveOnNode(fetch: FetchHandler, options: NodeServeOptions = {}): Promise<NodeServer> {
  const headersTimeout = options.headersTimeoutMs ?? HTTP_TIMEOUTS.headersTimeoutMs;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? HTTP_TIMEOUTS.requestTimeoutMs, headersTimeout);
  return new Promise((resolve, reject) => {
    const hostname = options.hostname ?? '127.0.0.1';
    const server = serve({
      fetch,
      port: options.port ?? 0,
      hostname,
      serverOptions: {
        // node checks the first two only every connectionsCheckingInterval (default 30 s); this sets it too.
        ...nodeServerTimeouts({
          headersTimeoutMs: headersTimeout,
          requestTimeoutMs: requestTimeout,
          keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? HTTP_TIMEOUTS.keepAliveTimeoutMs,
        }),
        maxHeaderSize: options.maxHeaderSize ?? 16 * 1024,
        ...(options.tls ? { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.3' as const } : {}),
      },
      ...(options.tls ? { createServer: createTlsServer } : {}),
    } as Parameters<typeof serve>[0]) as Server;
    server.once('error', reject);
    server.once('listening', () => {
      const { port } = server.address() as AddressInfo;
      const host = hostname.includes(':') ? `[${hostname}]` : hostname;
      resolve({
        url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
        port,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
