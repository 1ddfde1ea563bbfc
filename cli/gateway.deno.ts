// The SATP gateway as a Deno process: Deno.serve with Deno.upgradeWebSocket, the standard WebSocket client,
// LevelDB (classic-level through npm), stdin commands and JSON event lines, exactly as cli/gateway.ts.
//   deno run -A cli/gateway.deno.ts --id gw-a --port 0 --db .data/gw-a ... (the same flags)
import { DenoWsServer } from '../transports/ws/deno/server.ts';
import { serveBounded } from './deno-serve.ts';
import { WsClientTransport } from '../transports/ws/web/client.ts';
import { createNodeWsClient } from '../transports/ws/node/client.ts';
import { type GatewayRuntime, runGatewayProcess } from './gateway-process.ts';
import { useNativeSha256 } from '../storage/sha256-node.ts';
import { useNativeBase64Url } from '../storage/base64url-node.ts';

// Hashes with the runtime's native SHA-256 (node:crypto, in Node and Deno alike) instead of noble's.
useNativeSha256();
useNativeBase64Url();

/** The slice of Deno's API used here, declared so the file type-checks without Deno's types. */
declare const Deno: {
  args: string[];
  pid: number;
  stdin: { readable: ReadableStream<Uint8Array> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  kill(pid: number, signal: 'SIGKILL'): void;
  exit(code: number): never;
};

async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    buffered += decoder.decode(r.value, { stream: true });
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered) yield buffered;
}

const deno: GatewayRuntime = {
  name: 'deno',
  pid: Deno.pid,
  async listen({ host, port, tls, ...options }) {
    const ws = new DenoWsServer({ ...options, idleTimeoutSeconds: 5 });
    const http = serveBounded(
      { hostname: host, port, ...(tls ? { cert: tls.cert, key: tls.key } : {}) },
      async (req) => (await ws.fetch(req)) ?? new Response(null, { status: 404 }),
    );
    const close = ws.close.bind(ws);
    // Closing the transport also stops the listener, as WsServerTransport.close does on Node: the sockets are closed
    // first (1001), then what is left is cut (cli/deno-serve.ts).
    ws.close = async () => {
      await close();
      await http.close();
    };
    return { transport: ws, url: `${tls ? 'wss' : 'ws'}://${host}:${http.port}${ws.path}` };
  },
  // Deno's WebSocket takes no roots of its own: with a private CA to trust, ws's sockets (through the Node compat).
  dialer: ({ tls, ...options }) => (tls ? createNodeWsClient({ ...options, tls }) : new WsClientTransport(options)),
  async serve(handler, hostname, port) {
    const http = serveBounded({ hostname, port }, handler);
    return { url: `http://${hostname}:${http.port}`, close: () => http.close() };
  },
  stdinLines: () => lines(Deno.stdin.readable),
  onSignal(handler) {
    Deno.addSignalListener('SIGTERM', handler);
    Deno.addSignalListener('SIGINT', handler);
  },
  killSelf() {
    Deno.kill(Deno.pid, 'SIGKILL');
    throw new Error('unreachable: SIGKILL did not end the process');
  },
  exit: (code) => Deno.exit(code),
};

await runGatewayProcess(deno, Deno.args);
