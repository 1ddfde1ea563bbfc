// Conformance harnesses: each starts the echo gateway over one transport, in this process or in a Deno process,
// and makes clients for it in the runtime under test (Node: ws's WebSocket; Deno: the standard one).
import type { ConformanceHarness, HarnessServer, Identity } from '../../transports/conformance/suite.ts';
import { conformanceValidator, serveEcho } from '../../transports/conformance/echo.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { MemoryNetwork } from '../../transports/memory/network.ts';
import type { Transport } from '../../transports/types.ts';
import { WsClientTransport, type WsClientOptions } from '../../transports/ws/web/client.ts';
import { createNodeWsClient } from '../../transports/ws/node/client.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import { createAuthority, issueTlsCertificate } from '../../identity/x509.ts';
import { startDenoFixture } from './deno-fixture.ts';
import { serveFetch } from './serve.ts';
import { quietErrors, TRANSPORT_IDS as ids, transportKeys } from './transport-identities.ts';

export const inDeno = 'Deno' in globalThis;
/** The in-process Node server pings this often, so a dead peer goes within about two beats. */
const HEARTBEAT_MS = 200;

export function memoryHarness(): ConformanceHarness {
  return {
    name: 'memory: MemoryNetwork in auto mode',
    wire: 'memory',
    identities: ids,
    async start() {
      const net = new MemoryNetwork({ mode: 'auto' });
      const server = net.transport(ids.server.id, { validate: conformanceValidator, onError: quietErrors().onError });
      serveEcho(server);
      return { client: async (who) => net.transport(who.id), stop: () => server.close() };
    },
  };
}

/** A WebSocket client in the runtime under test: the standard WebSocket on Deno, ws's on Node 20. */
export function wsClient(options: Omit<WsClientOptions, 'WebSocket'>): WsClientTransport {
  return inDeno ? new WsClientTransport(options) : createNodeWsClient(options);
}

const WS_WHERE = {
  'in-process': 'transports/ws/node/server.ts in this process',
  'deno-native': 'transports/ws/deno/server.ts (Deno.serve + Deno.upgradeWebSocket) in a Deno process',
  'deno-compat': 'transports/ws/node/server.ts (node:http + ws) in a Deno process, through Deno’s Node compat',
  'in-process-tls': 'transports/ws/node/server.ts over TLS (wss, a certificate from a test CA) in this process',
} as const;

/** A test CA and a server certificate for 127.0.0.1 and localhost, made once per process. */
let tlsFixture: Promise<{ ca: string; cert: string; key: string }> | undefined;
const tlsCredentials = () =>
  (tlsFixture ??= (async () => {
    const ca = await createAuthority('satp-recovery test TLS CA');
    const server = await issueTlsCertificate(ca, ['127.0.0.1', 'localhost']);
    return { ca: ca.certificate.toString('pem'), ...server };
  })());

export function wsHarness(where: keyof typeof WS_WHERE): ConformanceHarness {
  return {
    name: `ws: ${WS_WHERE[where]}`,
    wire: 'ws',
    identities: ids,
    // Deno.upgradeWebSocket aborts a connection on a text frame that is not UTF-8 without a close frame.
    invalidUtf8Close: where === 'deno-native' ? 1006 : 1007,
    // Deno's idleTimeout is in whole seconds (1 s here): a ping after 1 s idle, a close 1 s later.
    deadPeerWithinMs: where === 'deno-native' ? 8_000 : 10 * HEARTBEAT_MS,
    async start(): Promise<HarnessServer> {
      let url: string;
      let stop: () => Promise<void>;
      const tls = where === 'in-process-tls' ? await tlsCredentials() : undefined;
      if (where === 'in-process' || tls) {
        const server = await WsServerTransport.listen({
          ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
          self: ids.server.id,
          signer: ids.server.signer,
          keys: transportKeys,
          validate: conformanceValidator,
          onError: quietErrors().onError,
          heartbeatMs: HEARTBEAT_MS,
        });
        serveEcho(server);
        url = server.url;
        stop = () => server.close();
      } else {
        const fixture = await startDenoFixture(where === 'deno-native' ? 'ws-native' : 'ws-compat');
        url = fixture.url;
        stop = async () => {
          const ended = await fixture.stop();
          if (!ended.selfExit) throw new Error(`the Deno fixture did not exit on its own after close (${where})`);
        };
      }
      return {
        url,
        ...(tls ? { ca: tls.ca } : {}),
        stop,
        async client(who: Identity) {
          const options = {
            self: who.id,
            signer: who.signer,
            keys: transportKeys,
            peers: { [ids.server.id]: url },
            onError: quietErrors().onError,
          };
          // Over TLS, ws's sockets in both runtimes: only they can be given the test CA as their roots.
          const t = tls ? createNodeWsClient({ ...options, tls: { ca: tls.ca } }) : wsClient(options);
          try {
            await t.connect(ids.server.id);
          } catch (err) {
            await t.close();
            throw err;
          }
          return t;
        },
      };
    },
  };
}

export function httpHarness(where: 'in-process' | 'deno'): ConformanceHarness {
  return {
    name:
      where === 'deno'
        ? 'http: the Hono gateway app on Deno.serve in a Deno process'
        : `http: the Hono gateway app in this process (${inDeno ? 'Deno.serve' : '@hono/node-server'})`,
    wire: 'http',
    identities: ids,
    async start(): Promise<HarnessServer> {
      let url: string;
      let stop: () => Promise<void>;
      let register: (id: string, at: string) => Promise<void>;
      if (where === 'in-process') {
        const directory: Record<string, string> = {};
        const server = new HttpTransport({
          self: ids.server.id,
          signer: ids.server.signer,
          keys: transportKeys,
          peers: (id) => directory[id],
          validate: conformanceValidator,
          onError: quietErrors().onError,
        });
        serveEcho(server);
        const served = await serveFetch(createGatewayApp({ transport: server }).fetch);
        url = served.url;
        register = async (id, at) => void (directory[id] = at);
        stop = async () => {
          await server.close();
          await served.close();
        };
      } else {
        const fixture = await startDenoFixture('http');
        url = fixture.url;
        register = async (id, at) => {
          const answer = await fixture.control(`peer ${id} ${at}`);
          if (answer !== `ok peer ${id}`) throw new Error(`fixture answered ${answer}`);
        };
        stop = async () => {
          const ended = await fixture.stop();
          if (!ended.selfExit) throw new Error('the Deno fixture did not exit on its own after close (http)');
        };
      }
      return {
        url,
        stop,
        // Each HTTP client is a gateway with its own app, since the server's replies (echoes) are POSTs to it.
        async client(who: Identity) {
          const t = new HttpTransport({
            self: who.id,
            signer: who.signer,
            keys: transportKeys,
            peers: { [ids.server.id]: url },
            onError: quietErrors().onError,
          });
          const served = await serveFetch(createGatewayApp({ transport: t }).fetch);
          await register(who.id, served.url);
          return closingAlso(t, () => served.close());
        },
      };
    },
  };
}

/** `t`, whose close() also runs `after` (once). */
function closingAlso(t: Transport, after: () => Promise<void>): Transport {
  let closing: Promise<void> | undefined;
  return {
    self: t.self,
    capabilities: t.capabilities,
    send: (to, m) => t.send(to, m),
    onMessage: (h) => t.onMessage(h),
    onPeer: (h) => t.onPeer(h),
    peers: () => t.peers(),
    close: () => (closing ??= t.close().then(after)),
  };
}
