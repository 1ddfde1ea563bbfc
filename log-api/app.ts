// The Log Storage API of recovery-04 §3.4 as one Hono app: served alone by a log server, or mounted by
// the gateway app (`app.route('/log', createLogStorageApp(…))`); every route is relative. docs/log-storage-api.md.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { Verifier } from '../kernel/crypto/types.ts';
import type { LogStore } from '../storage/log-store.ts';
import { createAuthenticator, type GatewayTable, WWW_AUTHENTICATE } from './auth.ts';
import { logApiProblemResponse, problemOfError } from './errors.ts';
import { ForbiddenError, LogAccessGuard } from './guard.ts';
import { LOG_STORAGE_OPENAPI } from './openapi.ts';
import { registerDriverRoutes } from './driver-routes.ts';
import { registerReadRoutes } from './read-routes.ts';
import { type LogApiApp, type LogApiEnv, ok, type RouteDeps } from './reply.ts';
import { HeadConflict, registerWriteRoutes } from './write-routes.ts';

export interface LogStorageAppOptions {
  /** The validating store (storage/log-store.ts) over any driver. */
  store: LogStore;
  /** Gateways that may call, with their tokens and/or public keys (auth.ts). */
  gateways: GatewayTable;
  /** Verifies signed requests (default: kernel defaultVerifier). */
  verifier?: Verifier;
  now?: () => number;
  /** Largest clock difference accepted on a signed request (default 30 000 ms). */
  maxClockSkewMs?: number;
  /** Largest request body (default 2 MiB); larger ones are refused 413 before they are read. */
  maxBodyBytes?: number;
  /** A request still unanswered after this long is answered 503 (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** Most entries per getLog or getLogDiff reply (default 256). */
  pageSize?: number;
  /** Most characters of entries per reply (default 4 Mi); at least one entry is always sent. */
  maxReplyChars?: number;
  /** Where unexpected errors (answered 500) are reported; default console.error. */
  onError?: (err: unknown) => void;
}

export const LOG_STORAGE_DEFAULTS = {
  maxBodyBytes: 2 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  pageSize: 256,
  maxReplyChars: 4 * 1024 * 1024,
  maxClockSkewMs: 30_000,
} as const;

export function createLogStorageApp(options: LogStorageAppOptions): LogApiApp {
  const maxBodyBytes = options.maxBodyBytes ?? LOG_STORAGE_DEFAULTS.maxBodyBytes;
  const authenticate = createAuthenticator({
    gateways: options.gateways,
    maxClockSkewMs: options.maxClockSkewMs ?? LOG_STORAGE_DEFAULTS.maxClockSkewMs,
    ...(options.now ? { now: options.now } : {}),
    ...(options.verifier ? { verifier: options.verifier } : {}),
  });
  const deps: RouteDeps = {
    store: options.store,
    guard: new LogAccessGuard(options.store),
    pageSize: options.pageSize ?? LOG_STORAGE_DEFAULTS.pageSize,
    maxReplyChars: options.maxReplyChars ?? LOG_STORAGE_DEFAULTS.maxReplyChars,
  };
  const report = options.onError ?? ((err: unknown) => console.error('log storage API: unexpected error', err));
  const app = new Hono<LogApiEnv>();

  // One place turns every failure into a problem reply, and the server keeps serving.
  app.onError((err) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof ForbiddenError) return logApiProblemResponse({ code: 'FORBIDDEN', detail: err.message });
    if (err instanceof HeadConflict)
      return logApiProblemResponse({ code: 'CHAIN_CONFLICT', detail: err.message, extra: { head: err.head } });
    const problem = problemOfError(err);
    if (problem.status === 500) report(err);
    return logApiProblemResponse(problem);
  });

  // The API's description; public, like any OpenAPI document.
  app.get('/openapi.json', (c) => c.json(LOG_STORAGE_OPENAPI));

  app.use(
    '*',
    timeout(options.requestTimeoutMs ?? LOG_STORAGE_DEFAULTS.requestTimeoutMs, () => {
      // recovery-04 §9 assumes "all requests are served up to a pre-defined time bound"; past it the
      // outcome of a write is unknown, and the client reads the head to learn it (§3.4.1).
      const res = logApiProblemResponse({
        code: 'STORAGE_FAILURE',
        detail: 'the request timed out; a write may or may not have happened',
      });
      return new HTTPException(503, { res });
    }),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      // The rest of the body is not read, so the connection cannot carry another request: say so
      // (RFC 9112 §9.6), or a client may reuse a connection the server is about to close.
      onError: () =>
        logApiProblemResponse({
          code: 'INVALID_INPUT',
          status: 413,
          detail: `the body is larger than ${maxBodyBytes} bytes`,
          headers: { connection: 'close' },
        }),
    }),
  );
  // Read the body once (bounded above), then authenticate: a signed request covers the body's hash.
  app.use('*', async (c, next) => {
    const body = c.req.raw.body ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array();
    c.set('rawBody', body);
    const who = await authenticate({
      method: c.req.method,
      url: c.req.url,
      authorization: c.req.header('authorization') ?? null,
      body,
    });
    if (!who.ok)
      return logApiProblemResponse({
        code: 'UNAUTHENTICATED',
        detail: who.detail,
        headers: { 'www-authenticate': WWW_AUTHENTICATE },
      });
    c.set('caller', { id: who.gatewayId, role: who.role });
    // Every POST carries JSON, as the gateway app insists too: a form or plain text is refused before it is read.
    if (c.req.method === 'POST' && !/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? ''))
      return logApiProblemResponse({
        code: 'INVALID_INPUT',
        status: 415,
        detail: 'send the body as application/json',
        headers: { accept: 'application/json' },
      });
    await next();
  });

  // What this server promises and accepts, so a remote driver can report true capabilities.
  app.get('/capabilities', (c) =>
    ok(c, { ...options.store.capabilities, maxBodyBytes, pageSize: deps.pageSize, maxReplyChars: deps.maxReplyChars }),
  );
  registerWriteRoutes(app, deps);
  registerReadRoutes(app, deps);
  registerDriverRoutes(app, deps);

  // Inside the app (not notFound), so the problem reply also holds when the app is mounted.
  app.all('*', (c) =>
    logApiProblemResponse({ code: 'NOT_FOUND', detail: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }),
  );
  return app;
}
