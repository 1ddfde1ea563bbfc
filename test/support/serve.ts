// Serves a fetch handler on 127.0.0.1 with an OS-chosen port in the runtime under test: Deno.serve on Deno,
// @hono/node-server on Node (through the Log Storage helper's serveOnNode).
import { serveOnNode } from '../../http/node-serve.ts';

export interface Served {
  url: string;
  close(): Promise<void>;
}

type Handler = (req: Request) => Response | Promise<Response>;

interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: Handler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

export async function serveFetch(handler: Handler): Promise<Served> {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (deno) {
    const server = deno.serve({ hostname: '127.0.0.1', port: 0, onListen: () => {} }, handler);
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  }
  const s = await serveOnNode(handler);
  return { url: s.url, close: () => s.close() };
}
