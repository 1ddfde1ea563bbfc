// What the Node and Deno log servers share: their command line, the gateway table file, and the app over
// LevelDB. The runtime-specific files (log-server.ts, log-server.deno.ts) only listen.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';
import { createAuthenticator, type GatewayTable, gatewayTableSchema, keysOfGateways } from '../log-api/auth.ts';
import { createLogStorageApp } from '../log-api/app.ts';
import type { LogApiApp } from '../log-api/reply.ts';

export const USAGE = `usage: satp-log-server --gateways <gateways.json> [--port 8787] [--db .data/log-server]
       [--headers-timeout-ms 10000] [--request-timeout-ms 30000] [--max-body-bytes 2097152]
gateways.json: {"<gatewayId>": {"token"?: "<≥16 chars>", "tokenSha256"?: "<hex>", "publicJwk"?: {…}}, …}
(--tokens is accepted as another name for --gateways)`;

export interface LogServerConfig {
  port: number;
  db: string;
  gateways: GatewayTable;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
}

const int = (text: string, name: string, min: number): number => {
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min)) throw new TypeError(`--${name} must be an integer ≥ ${min}`);
  return n;
};

/** The configuration from argv; a TypeError with the reason when it is wrong. */
export function parseLogServerArgs(argv: string[]): LogServerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string', default: '8787' },
      db: { type: 'string', default: '.data/log-server' },
      gateways: { type: 'string' },
      tokens: { type: 'string' },
      'headers-timeout-ms': { type: 'string', default: '10000' },
      'request-timeout-ms': { type: 'string', default: '30000' },
      'max-body-bytes': { type: 'string', default: String(2 * 1024 * 1024) },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const file = values.gateways ?? values.tokens;
  if (!file) throw new TypeError('--gateways <file> is required: without it no gateway could authenticate');
  const parsed = parseStrictJson(readFileSync(file, 'utf8'));
  if (!parsed.ok) throw new TypeError(`${file}: not JSON: ${parsed.problem}`);
  const table = gatewayTableSchema.safeParse(parsed.value);
  if (!table.success)
    throw new TypeError(`${file}: ${table.error.issues[0]?.path.join('.')}: ${table.error.issues[0]?.message}`);
  // What only the whole table can show (two gateways sharing a token): checked here, a configuration error like
  // the others, before anything is opened or created.
  try {
    createAuthenticator({ gateways: table.data as GatewayTable });
  } catch (err) {
    throw new TypeError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    port: int(values.port, 'port', 0),
    db: values.db,
    gateways: table.data as GatewayTable,
    headersTimeoutMs: int(values['headers-timeout-ms'], 'headers-timeout-ms', 1),
    requestTimeoutMs: int(values['request-timeout-ms'], 'request-timeout-ms', 1),
    maxBodyBytes: int(values['max-body-bytes'], 'max-body-bytes', 1),
  };
}

/** The Log Storage API over LevelDB (one synced batch per append: durable when it answers 200). */
export async function openLogServer(config: LogServerConfig): Promise<{ app: LogApiApp; store: LogStore }> {
  const store = new LogStore(await LevelDriver.open(config.db), {
    keys: keysOfGateways(config.gateways),
    verifier: defaultVerifier(),
  });
  const app = createLogStorageApp({ store, gateways: config.gateways, maxBodyBytes: config.maxBodyBytes });
  return { app, store };
}
