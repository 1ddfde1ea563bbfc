// The Log Storage API server on Deno (Deno.serve), over LevelDB, on 127.0.0.1; same flags as log-server.ts:
//   deno run -A cli/log-server.deno.ts --port 0 --db .data/log-server --gateways gateways.json
// The first stdout line is the listening URL. Deno.serve has no header timeout to set (Node's has).
import process from 'node:process';
import { openLogServer, parseLogServerArgs, USAGE } from './log-server-config.ts';

// The few Deno APIs used here, declared so `tsc` (which has Node's types, not Deno's) checks this file.
declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
};

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
const server = Deno.serve(
  {
    hostname: '127.0.0.1',
    port: config.port,
    onListen: ({ hostname, port }) => console.log(`http://${hostname}:${port}`),
  },
  app.fetch,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.shutdown();
  await store.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
