// The Log Storage API server (recovery-04 §3.4): the Hono app, the gateway table it authenticates callers with,
// and its OpenAPI document. Runs on Node, Deno and workerd; on Node, serve it with http/node-serve.ts. The client,
// the remote LogStore driver, is its own subpath (client.ts), so a gateway that only calls a log server loads
// none of this. docs/log-storage-api.md.
export { createLogStorageApp, LOG_STORAGE_DEFAULTS, type LogStorageAppOptions } from './app.ts';
export {
  type GatewayCredentials,
  gatewayCredentialsSchema,
  type GatewayTable,
  gatewayTableSchema,
  keysOfGateways,
  MIN_TOKEN_LENGTH,
} from './auth.ts';
export { LOG_STORAGE_OPENAPI } from './openapi.ts';
export type { LogApiApp } from './reply.ts';
