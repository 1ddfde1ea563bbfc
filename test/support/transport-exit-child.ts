// A process that runs every transport once and closes them, then must exit on its own: a leaked socket, timer
// or listener keeps it alive, and test/process/transport-clean-exit.test.ts fails. Runs under node (tsx) and deno.
// One port serves the HTTP gateway app and the WebSocket endpoint together (the app serves the challenge).
// Prints "exchanged <n>" then "closed" on stdout.
import { conformanceValidator, serveEcho } from '../../transports/conformance/echo.ts';
import { DenoWsServer } from '../../transports/ws/deno/server.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { serveOnNode } from '../../http/node-serve.ts';
import { MemoryNetwork } from '../../transports/memory/network.ts';
import type { Transport } from '../../transports/types.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import { serveFetch } from './serve.ts';
import { inDeno, wsClient } from './transport-harnesses.ts';
import { TRANSPORT_IDS as ids, transportKeys } from './transport-identities.ts';

const echoOnce = (client: Transport, to: string) =>
  new Promise<void>((resolve, reject) => {
    const off = client.onMessage(() => {
      off();
      resolve();
    });
    client.send(to, { hello: client.self }).catch(reject);
  });

const server = { self: ids.server.id, signer: ids.server.signer, keys: transportKeys, validate: conformanceValidator };
const directory: Record<string, string> = {};
const httpGateway = new HttpTransport({ ...server, peers: (id) => directory[id] });
serveEcho(httpGateway);

let wsUrl: string;
let stopServer: () => Promise<void>;
let wsServer: Transport;
if (inDeno) {
  const ws = new DenoWsServer({ ...server, idleTimeoutSeconds: 1 });
  const app = createGatewayApp({ transport: httpGateway });
  const served = await serveFetch(async (req) => (await ws.fetch(req)) ?? app.fetch(req));
  wsServer = ws;
  wsUrl = `${served.url.replace('http', 'ws')}${ws.path}`;
  stopServer = () => served.close();
} else {
  const ws = new WsServerTransport({ ...server, heartbeatMs: 100 });
  const app = createGatewayApp({ transport: httpGateway, websocket: { path: ws.path, gatekeeper: ws.gatekeeper } });
  const served = await serveOnNode(app.fetch);
  ws.attach(served.server);
  wsServer = ws;
  wsUrl = `${served.url.replace('http', 'ws')}${ws.path}`;
  stopServer = () => served.close();
}
serveEcho(wsServer);
const baseUrl = wsUrl.replace(/^ws/, 'http').replace(/\/satp\/ws$/, '');

const wsA = wsClient({ self: ids.a.id, signer: ids.a.signer, keys: transportKeys, peers: { [ids.server.id]: wsUrl } });
await wsA.connect(ids.server.id);
await echoOnce(wsA, ids.server.id);

const httpB = new HttpTransport({
  self: ids.b.id,
  signer: ids.b.signer,
  keys: transportKeys,
  peers: { [ids.server.id]: baseUrl },
});
const servedB = await serveFetch(createGatewayApp({ transport: httpB }).fetch);
directory[ids.b.id] = servedB.url;
await echoOnce(httpB, ids.server.id);

const net = new MemoryNetwork();
const m1 = net.transport('m1');
serveEcho(m1);
await echoOnce(net.transport('m2'), 'm1');

console.log('exchanged 3');
await wsA.close();
await httpB.close();
await servedB.close();
await wsServer.close();
await httpGateway.close();
await stopServer();
console.log('closed');
