// A gateway under test in its own Deno process: the conformance echo server over one transport, chosen by argv:
//   ws-native  Deno.serve + Deno.upgradeWebSocket (transports/ws/deno/server.ts)
//   ws-compat  transports/ws/node/server.ts (node:http + ws) through Deno's Node compatibility
//   http       the Hono gateway app on Deno.serve
// Prints one JSON line {"url": ...} when listening. Reads commands on stdin ("peer <id> <url>", answered
// "ok peer <id>"); on stdin's end it closes everything and must then exit on its own (no Deno.exit).
import { conformanceValidator, serveEcho } from '../../transports/conformance/echo.ts';
import { DenoWsServer } from '../../transports/ws/deno/server.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import { TRANSPORT_IDS, transportKeys } from './transport-identities.ts';

declare const Deno: {
  args: string[];
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
  stdin: { readable: ReadableStream<Uint8Array> };
};

const mode = Deno.args[0];
const server = TRANSPORT_IDS.server;
const common = {
  self: server.id,
  signer: server.signer,
  keys: transportKeys,
  validate: conformanceValidator,
  onError: () => {},
};
const directory: Record<string, string> = {};
let close: () => Promise<void>;
let url: string;

if (mode === 'ws-native') {
  const ws = new DenoWsServer({ ...common, idleTimeoutSeconds: 1 });
  serveEcho(ws);
  const http = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen: () => {} },
    async (req) => (await ws.fetch(req)) ?? new Response(null, { status: 404 }),
  );
  url = `ws://127.0.0.1:${http.addr.port}${ws.path}`;
  close = async () => {
    await ws.close();
    await http.shutdown();
  };
} else if (mode === 'ws-compat') {
  const ws = await WsServerTransport.listen({ ...common, heartbeatMs: 200 });
  serveEcho(ws);
  url = ws.url;
  close = () => ws.close();
} else if (mode === 'http') {
  const transport = new HttpTransport({ ...common, peers: (id) => directory[id] });
  serveEcho(transport);
  const app = createGatewayApp({ transport });
  const http = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: () => {} }, (req) => app.fetch(req));
  url = `http://127.0.0.1:${http.addr.port}`;
  close = async () => {
    await transport.close();
    await http.shutdown();
  };
} else {
  throw new TypeError(`usage: gateway-fixture.deno.ts ws-native|ws-compat|http (got ${mode})`);
}

const say = (line: string) => console.log(line);
say(JSON.stringify({ url }));

let buffered = '';
const decoder = new TextDecoder();
const reader = Deno.stdin.readable.getReader();
for (let r = await reader.read(); !r.done; r = await reader.read()) {
  buffered += decoder.decode(r.value, { stream: true });
  for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
    const [cmd, id, target] = buffered.slice(0, nl).trim().split(' ');
    buffered = buffered.slice(nl + 1);
    if (cmd === 'peer' && id && target) {
      directory[id] = target;
      say(`ok peer ${id}`);
    } else say(`error unknown command ${cmd}`);
  }
}
await close();
