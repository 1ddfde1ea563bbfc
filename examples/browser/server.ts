// The browser demo's server, on one node:http server at 127.0.0.1: the page and its bundled script, the WebSocket
// relay between the page's two gateways (relay.ts), and for the browser ↔ Node mode the Node gateway with its
// WebSocket endpoint, its ledger over HTTP and its small JSON API (node-gateway.ts). `npm run demo:browser` runs
// it through cli.ts; test/process/browser-demo.test.ts starts it in-process.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Hono } from 'hono';
import { serveOnNode } from '../../http/node-serve.ts';
import { bundlePage } from './bundle.ts';
import { NodeGateway } from './node-gateway.ts';
import { Relay } from './relay.ts';

const PAGE = new URL('./page/index.html', import.meta.url);

export interface DemoServer {
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

export async function startDemoServer(options: { port?: number } = {}): Promise<DemoServer> {
  const [script, node] = await Promise.all([bundlePage(), NodeGateway.start()]);
  const html = readFileSync(PAGE, 'utf8');
  const relay = new Relay('/relay');
  const app = new Hono();
  const noStore = { 'cache-control': 'no-store' };
  app.get('/', (c) => c.html(html, 200, noStore));
  app.get('/app.js', (c) => c.body(script, 200, { 'content-type': 'text/javascript', ...noStore }));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  node.mount(app);
  const served = await serveOnNode(app.fetch, { port: options.port ?? 0 });
  served.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (new URL(req.url ?? '/', 'http://localhost').pathname === relay.path) relay.handleUpgrade(req, socket, head);
    else if (!node.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  return {
    url: served.url,
    close: async () => {
      relay.close();
      await node.close();
      await served.close();
    },
  };
}
