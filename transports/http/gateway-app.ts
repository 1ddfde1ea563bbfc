// The gateway's HTTP surface, one Hono app for Node, Deno and workerd (docs/transports.md, "HTTP"):
// POST /satp/messages?to=<id> takes any gateway message from an authenticated peer; every reply is signed;
// the Log Storage API mounts at /log.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { utf8 } from '../../kernel/encoding.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import { errorMessage, PROBLEM_TYPES } from '../error-msg.ts';
import { admitBytes } from '../inbound.ts';
import type { Gatekeeper } from '../ws/gatekeeper.ts';
import { parseSignedAuthorization, pathAndQueryOf, SIGNED_SCHEME, stringToSign } from '../../http/signed-request.ts';
import { type HttpTransport, MESSAGES_PATH } from './client.ts';
import { type ProblemDetails, problemResponse } from '../../http/problem.ts';
import { REPLY_SIGNATURE_HEADER, requestSignatureOf, signReply } from './reply-signature.ts';

export interface GatewayAppOptions {
  /** The receiving side of this gateway's HTTP transport: its identity, keys, validator and handlers. */
  transport: HttpTransport;
  /** The Log Storage API app (createLogStorageApp), mounted at /log. */
  logStorage?: Hono;
  /** Bound on one request, body upload included (default 10 s): 408 past it. */
  requestTimeoutMs?: number;
  /** Largest |server clock − request timestamp| (default 30 s). */
  maxSkewMs?: number;
  /** Most request signatures remembered against replay; past it requests are refused 503 (default 100,000). */
  maxRemembered?: number;
  /**
   * A WebSocket endpoint sharing this app's port (Node: WsServerTransport.attach on the same server):
   * its challenge route, GET `${path}/challenge`, is served here.
   */
  websocket?: { path: string; gatekeeper: Pick<Gatekeeper, 'challengeResponse'> };
}

export function createGatewayApp(options: GatewayAppOptions): Hono {
  const t = options.transport;
  const skew = options.maxSkewMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const replay = new ReplayGuard(options.maxRemembered ?? 100_000);
  const problem = (_c: Context, status: number, type: string, detail: string, hash?: string): Response =>
    problemResponse(
      errorMessage({
        status,
        type,
        detail,
        hashPrevMessage: hash,
        timestamp: t.ctx.clock(),
      }) as unknown as ProblemDetails,
      {
        ...(status === 401 ? { 'www-authenticate': `${SIGNED_SCHEME} realm="satp-gateway"` } : {}),
        // A 413 or 408 leaves the body unread on the connection; closing it keeps a client from reusing it.
        ...(status === 413 || status === 408 ? { connection: 'close' } : {}),
      },
    );

  const app = new Hono();
  app.use(
    '/satp/*',
    signReplies(t),
    withTimeout(timeoutMs, (c) => problem(c, 408, PROBLEM_TYPES.timeout, `no complete request within ${timeoutMs} ms`)),
  );
  app.post(
    MESSAGES_PATH,
    bodyLimit({
      maxSize: t.ctx.maxMessageBytes,
      onError: (c) => problem(c, 413, PROBLEM_TYPES.tooLarge, `message is larger than ${t.ctx.maxMessageBytes} bytes`),
    }),
    async (c) => {
      // The body is read first (at most maxMessageBytes, bodyLimit saw to that): a reply sent before the body is
      // consumed leaves bytes on a keep-alive connection, which some servers and clients then trip over.
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (t.isClosed) return problem(c, 503, PROBLEM_TYPES.busy, `${t.self} is shutting down`);
      // 1. Who is calling (401/403) and is this request meant for us: checked before the body is parsed.
      const auth = parseSignedAuthorization(c.req.header('authorization') ?? '');
      if (!auth)
        return problem(
          c,
          401,
          PROBLEM_TYPES.unauthenticated,
          `sign the request: Authorization: ${SIGNED_SCHEME} <gatewayId> <timestampMs> <signature>`,
        );
      const key = t.keys(auth.gatewayId);
      if (!key) return problem(c, 403, PROBLEM_TYPES.forbidden, `gateway ${auth.gatewayId} is not a peer of ${t.self}`);
      const to = c.req.query('to');
      // The signature covers `to`, so a request signed for another gateway does not authenticate here (401,
      // as a WebSocket proof for another server). Not 421: clients may silently retry that one.
      if (to !== t.self)
        return problem(
          c,
          401,
          PROBLEM_TYPES.misdirected,
          `this is ${t.self}; the request is signed for ${to ?? '(no "to")'}`,
        );
      if (!/^application\/json(;|$)/i.test(c.req.header('content-type') ?? ''))
        return problem(c, 415, PROBLEM_TYPES.badlyFormed, 'send the message as application/json');
      const now = t.ctx.clock();
      if (Math.abs(now - auth.timestampMs) > skew)
        return problem(
          c,
          401,
          PROBLEM_TYPES.unauthenticated,
          `request timestamp is more than ${skew} ms from ${t.self}'s clock`,
        );
      const bodyHash = sha256Hex(body);
      const signed = stringToSign('POST', pathAndQueryOf(c.req.url), auth.timestampMs, bodyHash);
      if (!(await t.verifier.verify(key, utf8(signed), auth.signature)))
        return problem(c, 401, PROBLEM_TYPES.unauthenticated, 'request signature does not verify');
      // 2. Not seen before: a signed request is good once (ECDSA signatures are malleable, so the signed content is
      // the key).
      const seen = replay.spend(sha256Hex(utf8(signed)), auth.timestampMs + skew, now);
      if (seen === 'replay')
        return problem(c, 401, PROBLEM_TYPES.unauthenticated, 'this signed request was already received (replay)');
      if (seen === 'full') return problem(c, 503, PROBLEM_TYPES.busy, 'too many recent requests; retry later');
      // 3. The choke point shared with WebSocket: UTF-8, strict JSON, then the codec's validator.
      const a = await admitBytes(auth.gatewayId, body, t.ctx);
      if (!a.ok) {
        if (a.reply) return problemResponse(a.reply as unknown as ProblemDetails);
        return problem(c, a.status, PROBLEM_TYPES.refused, a.detail, bodyHash);
      }
      t.receive(auth.gatewayId, a.message);
      return c.json({ accepted: true }, 202);
    },
  );
  if (options.websocket) {
    const { path, gatekeeper } = options.websocket;
    app.get(`${path}/challenge`, (c) => gatekeeper.challengeResponse(c.req.url));
  }
  app.onError((err, c) => {
    t.ctx.onError(err, { what: `${c.req.method} ${new URL(c.req.url).pathname} failed` });
    return problem(c, 500, 'about:blank', 'internal error');
  });
  if (options.logStorage) app.route('/log', options.logStorage);
  return app;
}

/** Signs every reply of the /satp routes, errors included, binding it to the request's signature. */
function signReplies(t: HttpTransport): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const body = new Uint8Array(await c.res.clone().arrayBuffer());
    const header = await signReply(
      t.signer,
      t.self,
      c.res.status,
      requestSignatureOf(c.req.header('authorization')),
      body,
      t.ctx.clock(),
    );
    const headers = new Headers(c.res.headers);
    headers.set(REPLY_SIGNATURE_HEADER, header);
    c.res = new Response(body, { status: c.res.status, headers });
  };
}

/** Answers with `onTimeout` if the rest of the chain (body upload included) takes longer than `ms`; leaves no timer. */
function withTimeout(ms: number, onTimeout: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
    try {
      if ((await Promise.race([next().then(() => 'done' as const), timedOut])) === 'timeout') c.res = onTimeout(c);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Request fingerprints until their timestamp leaves the skew window; only verified requests enter. */
class ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(private readonly max: number) {}

  spend(fingerprint: string, expiresAt: number, now: number): 'ok' | 'replay' | 'full' {
    for (const [k, exp] of this.#seen) {
      if (exp >= now) break; // roughly expiry-ordered: stop at the first live one
      this.#seen.delete(k);
    }
    if (this.#seen.has(fingerprint)) return 'replay';
    if (this.#seen.size >= this.max) return 'full';
    this.#seen.set(fingerprint, expiresAt);
    return 'ok';
  }
}
