// The remote LogStore driver: a fetch client of the Log Storage API (app.ts, beside it), so gateways and their
// backups share one log server (recovery-04 §3.3, §3.4); its appends are conditional on the head, which fences
// a stale primary (docs/log-storage-api.md). It needs only fetch: it loads none of the server's code.
import { ERROR_CODES, type ErrorCode, SatpError } from '../kernel/errors.ts';
import { type ChainHead, parseLogId } from '../kernel/entry.ts';
import { utf8 } from '../kernel/encoding.ts';
import { HASH_PATTERN } from '../kernel/hash.ts';
import type { JsonLimits } from '../kernel/json.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import type { Signer } from '../kernel/crypto/types.ts';
import { signRequest } from '../http/signed-request.ts';
import { readProblem } from '../http/problem.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from '../storage/driver.ts';

export interface RemoteDriverOptions {
  /** Base URL of the API: a log server (`http://127.0.0.1:8787`) or a gateway mounting it (`…/log`). */
  url: string;
  /** The gateway this driver authenticates as. */
  gatewayId: string;
  /** A bearer token from the server's gateway table… */
  token?: string;
  /** …or the gateway's identity key, to sign every request (preferred: no shared secret). */
  signer?: Signer;
  /** What the server promises; RemoteDriver.connect asks the server (GET /capabilities). */
  capabilities: StoreCapabilities;
  fetch?: typeof fetch;
  /** Each request is abandoned after this long (default 15 000 ms): STORAGE_FAILURE, outcome unknown. */
  timeoutMs?: number;
  now?: () => number;
}

/** Name of the request header carrying the head an append expects (write-routes.ts). */
const EXPECTED_HEAD_HEADER = 'X-Expected-Last-Hash';
/** Replies are untrusted text: bounded before they are parsed, and parsed strictly. */
const MAX_REPLY_CHARS = 32 * 1024 * 1024;
const REPLY_LIMITS: JsonLimits = { maxDepth: 24, maxString: 64 * 1024, maxItems: 4096, maxNodes: 2_000_000 };
/** read() follows getLogTexts pages; each page advances at least one entry, and this bounds the count. */
const MAX_PAGES = 100_000;
const KNOWN_CODES = new Set<string>(ERROR_CODES);

export class RemoteDriver implements LogStoreDriver {
  readonly name = 'remote';
  readonly capabilities: StoreCapabilities;
  readonly #base: string;
  readonly #opts: RemoteDriverOptions;
  readonly #fetch: typeof fetch;
  #closed = false;

  constructor(options: RemoteDriverOptions) {
    if (!options.token && !options.signer) throw new TypeError('RemoteDriver needs a token or a signer');
    this.#opts = options;
    this.#base = options.url.replace(/\/+$/, '');
    // Wrapped, so that a fetch given unbound (`fetch: window.fetch`) is not called with this object as `this`.
    const given = options.fetch;
    this.#fetch = given ? (input, init) => given(input, init) : globalThis.fetch.bind(globalThis);
    this.capabilities = Object.freeze({
      persistent: options.capabilities.persistent,
      durable: options.capabilities.durable,
    });
  }

  /** A driver whose capabilities are those the server reports (GET /capabilities). */
  static async connect(options: Omit<RemoteDriverOptions, 'capabilities'>): Promise<RemoteDriver> {
    const probe = new RemoteDriver({ ...options, capabilities: { persistent: false, durable: false } });
    const caps = (await probe.#call('GET', '/capabilities')) as { persistent?: unknown; durable?: unknown } | null;
    if (typeof caps?.persistent !== 'boolean' || typeof caps.durable !== 'boolean') {
      throw new SatpError('STORAGE_FAILURE', 'the log server sent malformed capabilities');
    }
    return new RemoteDriver({ ...options, capabilities: { persistent: caps.persistent, durable: caps.durable } });
  }

  async head(logId: string): Promise<StoredHead | undefined> {
    const path = logPath(logId);
    if (!path) return undefined;
    const head = (await this.#call('GET', `/getHead/${path}`)) as {
      seq?: unknown;
      hash?: unknown;
      open?: unknown;
    } | null;
    if (head === null) return undefined;
    if (
      typeof head.seq !== 'number' ||
      !Number.isSafeInteger(head.seq) ||
      head.seq < 1 ||
      typeof head.hash !== 'string' ||
      !HASH_PATTERN.test(head.hash) ||
      typeof head.open !== 'boolean'
    ) {
      throw new SatpError('STORAGE_FAILURE', 'the log server sent a malformed head');
    }
    return { seq: head.seq, hash: head.hash, open: head.open };
  }

  /**
   * Sends the batch with the expected head; the server appends it atomically only if the log still
   * ends there, so a concurrent writer, or a primary fenced out by its backup, gets CHAIN_CONFLICT.
   */
  async append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    const path = logPath(logId);
    if (!path) throw new SatpError('INVALID_INPUT', `not a log id: ${logId}`);
    const body = utf8(`{"entries":[${texts.join(',')}]}`);
    const length = await this.#call('POST', `/writeLogEntry/${path}`, body, { [EXPECTED_HEAD_HEADER]: expected.hash });
    if (length !== String(next.seq))
      throw new SatpError('STORAGE_FAILURE', `the log server reports length ${String(length)}, expected ${next.seq}`);
  }

  /**
   * The stored texts, verbatim (getLogTexts), page after page: this driver is as dumb as the others
   * (storage/driver.ts), and the LogStore above it verifies what the server holds.
   */
  async read(logId: string, from: number, to: number): Promise<string[]> {
    const path = logPath(logId);
    const last = Math.min(Math.floor(to), Number.MAX_SAFE_INTEGER);
    let at = Math.max(1, Math.ceil(from));
    if (!path || !(last >= at)) return [];
    const out: string[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const reply = (await this.#call('GET', `/getLogTexts/${path}?from=${at}&to=${last}`)) as {
        texts?: unknown;
        more?: unknown;
        next?: unknown;
      } | null;
      if (
        !reply ||
        !Array.isArray(reply.texts) ||
        !reply.texts.every((t) => typeof t === 'string') ||
        typeof reply.more !== 'boolean'
      ) {
        throw new SatpError('STORAGE_FAILURE', 'malformed getLogTexts page');
      }
      out.push(...(reply.texts as string[]));
      if (!reply.more) return out;
      if (typeof reply.next !== 'number' || !(reply.next > at))
        throw new SatpError('STORAGE_FAILURE', 'a getLogTexts page did not advance');
      at = reply.next;
    }
    throw new SatpError('STORAGE_FAILURE', `reading ${logId} took more than ${MAX_PAGES} pages`);
  }

  async openLogs(): Promise<string[]> {
    const reply = await this.#call('GET', '/openLogs');
    if (!Array.isArray(reply)) throw new SatpError('STORAGE_FAILURE', 'malformed openLogs reply');
    return reply.map((o) => {
      const id = (o as { logId?: unknown } | null)?.logId;
      if (typeof id !== 'string' || !parseLogId(id)) throw new SatpError('STORAGE_FAILURE', 'malformed openLogs reply');
      return id;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** One authenticated call; the reply's response_data, or a SatpError mapped from the problem reply. */
  async #call(
    method: 'GET' | 'POST',
    path: string,
    body?: Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    if (this.#closed) throw new SatpError('STORE_CLOSED', 'the remote store is closed');
    const url = `${this.#base}${path}`;
    const auth = this.#opts.signer
      ? await signRequest(
          this.#opts.signer,
          this.#opts.gatewayId,
          { method, url, ...(body ? { body } : {}) },
          (this.#opts.now ?? Date.now)(),
        )
      : `Bearer ${this.#opts.token}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers: {
          authorization: auth,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new SatpError(
        'STORAGE_FAILURE',
        `the log server did not answer ${method} ${path}; the operation may or may not have happened`,
        { cause: err },
      );
    }
    if (res.status !== 200) throw await errorOf(res, method, path);
    const text = await res.text().catch((err: unknown) => {
      throw new SatpError('STORAGE_FAILURE', `the reply to ${method} ${path} was cut off`, { cause: err });
    });
    const parsed = text.length <= MAX_REPLY_CHARS ? parseStrictJson(text, REPLY_LIMITS) : undefined;
    const envelope = parsed?.ok ? (parsed.value as { success?: unknown; response_data?: unknown } | null) : undefined;
    if (envelope?.success !== true || !('response_data' in envelope)) {
      throw new SatpError('STORAGE_FAILURE', `malformed reply to ${method} ${path}`);
    }
    return envelope.response_data;
  }
}

/** `sessionId/author` is already the route's two path segments; ids never need escaping. */
const logPath = (logId: string): string | undefined => {
  const p = parseLogId(logId);
  return p && `${p.sessionId}/${p.author}`;
};

/**
 * The SatpError for a problem reply. The server's code is kept, except: STORE_CLOSED (the server's
 * store, not ours) and unknown codes become STORAGE_FAILURE; UNAUTHENTICATED and FORBIDDEN (the
 * HTTP layer's codes) become PEER_REFUSED: the same call will be refused again.
 */
async function errorOf(res: Response, method: string, path: string): Promise<SatpError> {
  const problem = await readProblem(res);
  const serverCode = typeof problem?.code === 'string' ? problem.code : undefined;
  let code: ErrorCode;
  if (serverCode === 'UNAUTHENTICATED' || serverCode === 'FORBIDDEN') code = 'PEER_REFUSED';
  else if (serverCode !== undefined && KNOWN_CODES.has(serverCode) && serverCode !== 'STORE_CLOSED')
    code = serverCode as ErrorCode;
  else code = res.status >= 500 || serverCode === 'STORE_CLOSED' ? 'STORAGE_FAILURE' : 'INVALID_INPUT';
  const detail: Record<string, unknown> = { status: res.status, ...(serverCode ? { serverCode } : {}) };
  if (problem?.head) detail.head = problem.head;
  return new SatpError(code, `log server: ${method} ${path}: ${res.status} ${problem?.detail ?? res.statusText}`, {
    detail,
  });
}
