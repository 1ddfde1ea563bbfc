// The Log Storage API as a Cloudflare Worker (workerd), over the in-memory driver: the same Hono app as
// the Node and Deno servers. Memory lives as long as the isolate: a demo and test target, not a durable log
// (a Durable Object driver would be the durable one). Bindings: GATEWAYS, the gateway table as JSON text.
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import { LogStore } from '../storage/log-store.ts';
import { MemoryDriver } from '../storage/memory.ts';
import { type GatewayTable, gatewayTableSchema, keysOfGateways } from '../log-api/auth.ts';
import { createLogStorageApp } from '../log-api/app.ts';
import type { LogApiApp } from '../log-api/reply.ts';

export interface Env {
  GATEWAYS: string;
}

let app: LogApiApp | undefined;

function build(env: Env): LogApiApp {
  const parsed = parseStrictJson(env.GATEWAYS ?? '');
  const table = parsed.ok ? gatewayTableSchema.safeParse(parsed.value) : undefined;
  if (!table?.success) throw new TypeError('the GATEWAYS binding is not a gateway table (docs/log-storage-api.md)');
  const gateways = table.data as GatewayTable;
  const store = new LogStore(new MemoryDriver(), { keys: keysOfGateways(gateways), verifier: defaultVerifier() });
  return createLogStorageApp({ store, gateways });
}

export default {
  fetch(request: Request, env: Env): Response | Promise<Response> {
    app ??= build(env);
    return app.fetch(request);
  },
};
