// A SATP gateway as a Durable Object (Cloudflare Workers, workerd): one object per gateway. It builds its gateway
// with startGateway (gateway/start.ts) on the object's own storage (storage/durable-object.ts), serves the WebSocket
// peer transport itself (transports/ws/workerd/server.ts), dials its peers with the standard WebSocket client, and
// runs the driver's timers as the object's alarm (edge/alarm-clock.ts). The object starts on its first event, a
// request or an alarm: boot-time recovery (recovery-04 §5.1) replays what its storage holds, so an object evicted or
// restarted mid-transfer carries on where its log says. Bindings and deployment: docs/edge.md.
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { keyTable } from '../kernel/crypto/types.ts';
import { webCryptoSignerFromJwk } from '../kernel/crypto/webcrypto.ts';
import type { ChainHead } from '../kernel/entry.ts';
import { ID_PATTERN, logIdOf, parseLogId } from '../kernel/entry.ts';
import type { Json } from '../kernel/json.ts';
import type { Ledger } from '../kernel/ledger.ts';
import type { Report } from '../kernel/satp/effects.ts';
import type { TransferRequest } from '../kernel/satp/payloads.ts';
import { type Outcome, outcomeOf, type SessionState } from '../kernel/satp/state.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import { type PeerGateway, type RunningGateway, startGateway } from '../gateway/start.ts';
import { problemResponse, STATUS_TITLES } from '../http/problem.ts';
import { HttpLedger } from '../ledgers/http-ledger.ts';
import type { StoredHead } from '../storage/driver.ts';
import { DurableObjectDriver, type DurableObjectStorageLike } from '../storage/durable-object.ts';
import { WsClientTransport } from '../transports/ws/web/client.ts';
import { WorkerdWsServer } from '../transports/ws/workerd/server.ts';
import type { TransportErrorHandler } from '../transports/types.ts';
import { Activity } from './activity.ts';
import { AlarmClock, type AlarmStorage } from './alarm-clock.ts';
import { type EdgeGatewayConfig, edgeGatewayConfig, type GatewayObjectEnv } from './config.ts';

/** The slice of a Durable Object's `state` (DurableObjectState) the gateway object uses. */
export interface DurableObjectStateLike {
  readonly storage: DurableObjectStorageLike & AlarmStorage;
  /** Resets the object: its memory and sockets dropped, its storage kept, as an eviction or a crash would. */
  abort?(reason?: string): void;
}

/** Why an instance of the object was built: the event that found it asleep. */
export interface Wake {
  instance: string;
  cause: 'fetch' | 'alarm';
  at: number;
}

/** Where the object's own keys live; the log's keys are under LOG_PREFIX. */
export const LOG_PREFIX = 'log/';
const WAKES_KEY = 'gateway/wakes';
const WAKES_KEPT = 32;
/** How long an alarm handler waits for the work its timers set off (below workerd's 15-minute alarm limit). */
const ALARM_WORK_MS = 60_000;
/** Longest wait a control request may ask for (waitMs). */
const MAX_WAIT_MS = 30_000;
/** Most reports kept in memory for GET /control/status. */
const REPORTS_KEPT = 64;

interface Parts {
  config: EdgeGatewayConfig;
  server: WorkerdWsServer;
  clock: AlarmClock;
  activity: Activity;
  /** Resolves once startGateway has booted (recovered what the storage holds). */
  running: Promise<RunningGateway>;
}

const problem = (status: number, detail: string): Response =>
  problemResponse({ type: 'about:blank', title: STATUS_TITLES[status] ?? 'Error', status, detail });

/** What GET /control/sessions/<id> tells of a session. */
export interface SessionView {
  sessionId: string;
  role: string;
  peer: string;
  status: SessionState['status']['kind'];
  /** How many entries the gateway's own chain of the session holds: a long poll answers once it grows. */
  seq: number;
  outcome?: Outcome;
  promised: boolean;
  committed: boolean;
  recovery?: string;
}

const viewOf = (s: SessionState): SessionView => ({
  sessionId: s.sessionId,
  role: s.role,
  peer: s.peer,
  status: s.status.kind,
  seq: s.head.seq,
  ...(outcomeOf(s) ? { outcome: outcomeOf(s) } : {}),
  promised: s.promised,
  committed: s.committed,
  ...(s.recovery ? { recovery: s.recovery.status } : {}),
});

const transferFields = [
  'sessionId',
  'contextId',
  'peer',
  'assetId',
  'assetProfileId',
  'originator',
  'beneficiary',
  'lockSeconds',
] as const;

/**
 * The gateway Durable Object. Export it from the worker under the class name the namespace binding names
 * (examples/workerd/gateway-worker.ts). Requests: the peer WebSocket at `<WS_PATH>` and its challenge at
 * `<WS_PATH>/challenge`; with CONTROL_TOKEN set, the control routes under /control/ (docs/edge.md).
 */
export class SatpGatewayObject {
  readonly #state: DurableObjectStateLike;
  readonly #env: GatewayObjectEnv;
  readonly #instance = crypto.randomUUID();
  readonly #reports: { session: string; report: Report }[] = [];
  /** Long polls waiting for a session's own chain to grow or the session to end. */
  readonly #watchers = new Map<string, Set<() => void>>();
  #parts: Promise<Parts> | undefined;
  /** What #parts resolved to, so a gateway that fails to start later drops only itself. */
  #built: Parts | undefined;

  constructor(state: DurableObjectStateLike, env: GatewayObjectEnv) {
    this.#state = state;
    this.#env = env;
  }

  async fetch(request: Request): Promise<Response> {
    let parts: Parts;
    try {
      parts = await this.#wake('fetch');
    } catch (err) {
      return problem(500, `the gateway object cannot start: ${(err as Error).message}`);
    }
    const served = await parts.server.fetch(request);
    if (served) return served;
    const url = new URL(request.url);
    if (url.pathname.startsWith('/control/'))
      return this.#control(request, url, parts).catch((err: unknown) =>
        problem(500, `the control route failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    return problem(404, `nothing at ${url.pathname}; the peer WebSocket is at ${parts.config.wsPath}`);
  }

  /** The object's alarm: the timers due fire, and the handler stays until the work they set off has settled. */
  async alarm(): Promise<void> {
    const parts = await this.#wake('alarm');
    // A new instance first boots: its recovery arms every timer its sessions need (the due ones included).
    await parts.running;
    await parts.clock.alarm();
    await parts.activity.quiet(ALARM_WORK_MS);
    await parts.clock.settled();
  }

  #wake(cause: Wake['cause']): Promise<Parts> {
    if (!this.#parts) {
      this.#parts = this.#build(cause);
      // A start that failed (a bad binding, a storage outage) is tried again by the next event.
      this.#parts.catch(() => (this.#parts = undefined));
    }
    return this.#parts;
  }

  async #build(cause: Wake['cause']): Promise<Parts> {
    const config = edgeGatewayConfig(this.#env);
    const storage = this.#state.storage;
    await this.#recordWake({ instance: this.#instance, cause, at: Date.now() });
    const activity = new Activity();
    const signer = await webCryptoSignerFromJwk(config.key);
    const verifier = defaultVerifier();
    const keys = keyTable({
      [config.id]: signer.publicJwk,
      ...Object.fromEntries(Object.entries(config.peers).map(([p, c]) => [p, c.publicJwk])),
    });
    const onError: TransportErrorHandler = (error, context) =>
      console.warn(
        JSON.stringify({ gateway: config.id, what: context.what, peer: context.peer, error: String(error) }),
      );
    const server = new WorkerdWsServer({ self: config.id, signer, keys, verifier, path: config.wsPath, onError });
    const urls = Object.fromEntries(Object.entries(config.peers).flatMap(([p, c]) => (c.url ? [[p, c.url]] : [])));
    const client = new WsClientTransport({
      self: config.id,
      signer,
      keys,
      verifier,
      peers: (peer) => (Object.hasOwn(urls, peer) ? urls[peer] : undefined),
      connectTimeoutMs: 10_000,
      onError,
    });
    const clock = new AlarmClock(storage, { onError: (err) => onError(err, { what: 'setting the alarm failed' }) });
    const ledgerOf = (url: string, id: string): Ledger => activity.wrap(new HttpLedger({ url, id }));
    const peers: Record<string, PeerGateway> = Object.fromEntries(
      Object.entries(config.peers).map(([p, c]) => [
        p,
        {
          publicJwk: c.publicJwk,
          networkId: c.networkId,
          ledgerKey: c.ledgerPublicJwk,
          ...(c.ledgerUrl ? { ledger: ledgerOf(c.ledgerUrl, c.networkId) } : {}),
        },
      ]),
    );
    const { connectWaitMs, ...timing } = config.timing;
    const running = startGateway({
      id: config.id,
      signer: activity.wrap(signer),
      verifier: activity.wrap(verifier),
      store: activity.wrap(this.#watched(new DurableObjectDriver(storage, { prefix: LOG_PREFIX }), config.id)),
      // Our own dialled connection first, then the peer's connection to us (gateway/links.ts).
      transports: [client, server],
      ledger: ledgerOf(config.ledger.url, config.ledger.id),
      ledgerKey: config.ledger.publicJwk,
      peers,
      clock,
      timing,
      connectWaitMs: connectWaitMs ?? 1_000,
      // Failed dials are logged at debug level, once per backoff step while a peer is down: left out.
      logger: { info: console.info, warn: console.warn, error: console.error },
      wrapOutbox: (outbox) => activity.wrap(outbox),
      onReport: (session, report) => this.#onReport(session, report),
    });
    const parts = { config, server, clock, activity, running };
    // A gateway that failed to start is dropped with its sockets; the next event builds it again.
    running.catch((err: unknown) => {
      console.error(JSON.stringify({ gateway: config.id, what: 'the gateway failed to start', error: String(err) }));
      void Promise.allSettled([server.close(), client.close()]);
      if (this.#built === parts) this.#parts = undefined;
    });
    this.#built = parts;
    return parts;
  }

  /** The driver, telling the long polls when one of the gateway's own chains grows. */
  #watched(driver: DurableObjectDriver, self: string): DurableObjectDriver {
    return new Proxy(driver, {
      get: (t, prop) => {
        const v = Reflect.get(t, prop, t);
        if (prop !== 'append') return typeof v === 'function' ? v.bind(t) : v;
        return async (logId: string, ...rest: [ChainHead, readonly string[], StoredHead]) => {
          await t.append(logId, ...rest);
          const id = parseLogId(logId);
          if (id?.author === self) this.#changed(id.sessionId);
        };
      },
    });
  }

  async #recordWake(wake: Wake): Promise<void> {
    const kept = await this.#state.storage.get(WAKES_KEY);
    const wakes = Array.isArray(kept) ? (kept as Wake[]) : [];
    await this.#state.storage.put({ [WAKES_KEY]: [...wakes, wake].slice(-WAKES_KEPT) });
  }

  #onReport(session: string, report: Report): void {
    this.#reports.push({ session, report });
    if (this.#reports.length > REPORTS_KEPT) this.#reports.shift();
    if (report.kind === 'ended') this.#changed(session);
  }

  #changed(session: string): void {
    for (const wake of [...(this.#watchers.get(session) ?? [])]) wake();
  }

  /** Resolves once the session changes (its own chain grows, or it ends) or `ms` pass; the waiter is dropped then. */
  #changeWithin(session: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#watchers.get(session) ?? new Set();
      this.#watchers.set(session, waiters);
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#watchers.get(session) === waiters) this.#watchers.delete(session);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  }

  async #control(request: Request, url: URL, parts: Parts): Promise<Response> {
    const token = parts.config.controlToken;
    // Without a token binding there is no control surface at all, not even a refusal that says one exists.
    if (!token) return problem(404, `nothing at ${url.pathname}`);
    if (request.headers.get('authorization') !== `Bearer ${token}`)
      return problemResponse(
        { type: 'about:blank', title: STATUS_TITLES[401]!, status: 401, detail: 'the control routes need the token' },
        { 'www-authenticate': 'Bearer' },
      );
    const path = url.pathname.slice('/control/'.length).split('/').map(decodeURIComponent);
    const [route, arg] = path;
    if (request.method === 'POST' && route === 'evict' && path.length === 1) return this.#evict();
    const running = await parts.running;
    if (request.method === 'POST' && route === 'transfers' && path.length === 1) {
      const body = parseStrictJson(await request.text());
      const fields = body.ok ? body.value : undefined;
      if (
        fields === null ||
        typeof fields !== 'object' ||
        Array.isArray(fields) ||
        Object.keys(fields).some((k) => !(transferFields as readonly string[]).includes(k)) ||
        transferFields.some((k) =>
          k === 'lockSeconds' ? typeof fields[k] !== 'number' : typeof fields[k] !== 'string',
        )
      )
        return problem(400, `a transfer is a JSON object of ${transferFields.join(', ')}`);
      const result = await running.transfer(fields as unknown as TransferRequest);
      return Response.json(result, { status: result.accepted ? 200 : 422 });
    }
    if (request.method !== 'GET') return problem(405, `${request.method} ${url.pathname} is not a control route`);
    if (route === 'status' && path.length === 1) {
      const wakes = await this.#state.storage.get(WAKES_KEY);
      return Response.json({
        id: running.id,
        instance: this.#instance,
        recovered: running.recovered,
        wakes: (wakes ?? []) as Json,
        timers: parts.clock.pending,
        sessions: running.gateway.sessions().map(viewOf) as unknown as Json,
        quarantined: Object.fromEntries(running.gateway.quarantined()),
        reports: this.#reports as unknown as Json,
      });
    }
    if (route === 'sessions' && arg !== undefined && path.length === 2 && ID_PATTERN.test(arg)) {
      // A long poll: with waitMs and after (the seq last seen), the answer waits until the chain has grown past
      // `after` or the session has ended, at most waitMs.
      const waitMs = Math.min(Math.max(Number(url.searchParams.get('waitMs') ?? 0) || 0, 0), MAX_WAIT_MS);
      const after = Number(url.searchParams.get('after') ?? -1);
      const seen = () => {
        const s = running.gateway.session(arg);
        return s !== undefined && (s.head.seq > after || outcomeOf(s) !== undefined);
      };
      if (waitMs > 0 && !seen()) await this.#changeWithin(arg, waitMs);
      const s = running.gateway.session(arg);
      return s ? Response.json(viewOf(s)) : problem(404, `no session ${arg} here`);
    }
    // A log id is <session>/<author>: its two parts are the path's last two segments.
    if (route === 'logs' && path.length === 3 && ID_PATTERN.test(path[1]!) && ID_PATTERN.test(path[2]!)) {
      const logId = logIdOf(path[1]!, path[2]!);
      return Response.json({ logId, entries: (await running.store.getLog(logId)) as unknown as Json });
    }
    return problem(404, `no control route ${request.method} ${url.pathname}`);
  }

  /** Drops the object's memory as an eviction would, its storage kept; the next event (an alarm too) rebuilds it. */
  #evict(): Response {
    if (!this.#state.abort) return problem(501, 'this runtime cannot reset a Durable Object (state.abort)');
    this.#state.abort('evicted through the control API');
    // Not reached in workerd: abort() ends the request with an error.
    return new Response(null, { status: 202 });
  }
}
