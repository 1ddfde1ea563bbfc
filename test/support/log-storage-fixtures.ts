// Gateways with tokens and keys, the server's gateway table, signed chains with chosen access profiles, and
// a small fetch client, shared by the Log Storage API and remote driver tests.
import { EMPTY_HEAD, END_STEP, nextEntryBody, sealEntry, type ChainHead, type LogEntry } from '../../kernel/index.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { signRequest } from '../../http/signed-request.ts';
import { type GatewayTable, keysOfGateways } from '../../log-api/auth.ts';
import { chainContext, G1, G2, step, testGateway, type TestGateway } from './fixtures.ts';

export { G1, G2 };
/** Reads what profiles let it read; has a token but no key, so it can neither sign nor author. */
export const OBSERVER = testGateway('gw-observer');
/** The backup of recovery-04 §6, named in a `backups:` profile clause. */
export const BACKUP = testGateway('gw-backup');
/** A gateway nobody configured. */
export const STRANGER = testGateway('gw-stranger');

export const TOKENS: Readonly<Record<string, string>> = {
  [G1.id]: 'origin-token-0123456789abcdef',
  [G2.id]: 'destination-token-0123456789ab',
  [OBSERVER.id]: 'observer-token-0123456789abcd',
  [BACKUP.id]: 'backup-token-0123456789abcdef',
};

export const GATEWAYS: GatewayTable = {
  [G1.id]: { token: TOKENS[G1.id], publicJwk: G1.jwk },
  [G2.id]: { token: TOKENS[G2.id], publicJwk: G2.jwk },
  [OBSERVER.id]: { token: TOKENS[OBSERVER.id] },
  [BACKUP.id]: { token: TOKENS[BACKUP.id], publicJwk: BACKUP.jwk },
};

/** A validating store over `driver` that trusts the keys of GATEWAYS, as a log server's does. */
export const serverStore = (driver: LogStoreDriver = new MemoryDriver()): LogStore =>
  new LogStore(driver, { keys: keysOfGateways(GATEWAYS), verifier: defaultVerifier() });

export interface ChainOptions {
  author?: TestGateway;
  profile?: string;
  from?: ChainHead;
  offset?: number;
  /** The last entry is the session's `end` entry. */
  end?: boolean;
}

/** A signed chain for `sessionId` by `author` under access profile `profile`; plain JSON copies, as from the wire. */
export async function chain(sessionId: string, n: number, opts: ChainOptions = {}): Promise<LogEntry[]> {
  const author = opts.author ?? G1;
  const ctx = { ...chainContext(sessionId, author), accessControlProfile: opts.profile ?? 'author-only' };
  const out: LogEntry[] = [];
  let head = opts.from ?? EMPTY_HEAD;
  for (let i = 0; i < n; i++) {
    const last = opts.end && i === n - 1;
    const e = await sealEntry(
      nextEntryBody(ctx, head, step((opts.offset ?? 0) + i, last ? { step: END_STEP, operation: 'done' } : {})),
      author.signer,
    );
    out.push(JSON.parse(JSON.stringify(e)) as LogEntry);
    head = { seq: e.seqNumber, hash: e.entryHash };
  }
  return out;
}

export const headOf = (entries: readonly LogEntry[]): ChainHead => {
  const last = entries[entries.length - 1];
  return last ? { seq: last.seqNumber, hash: last.entryHash } : EMPTY_HEAD;
};

export interface Reply {
  status: number;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read any member of a reply body
  body: any;
  headers: Headers;
}

export interface CallOptions {
  /** Authenticate with this gateway's token (default G1); null sends no credentials. */
  as?: string | null;
  /** Sign the request with this gateway's key instead of a token. */
  signAs?: TestGateway;
  body?: string | Uint8Array | object;
  headers?: Record<string, string>;
  now?: number;
}

/** One HTTP call against a live server; the reply body parsed when it is JSON. */
export async function call(base: string, method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<Reply> {
  const url = `${base}${path}`;
  const body =
    opts.body === undefined
      ? undefined
      : opts.body instanceof Uint8Array
        ? opts.body
        : new TextEncoder().encode(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  const headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  if (opts.signAs)
    headers.authorization = await signRequest(
      opts.signAs.signer,
      opts.signAs.id,
      { method, url, ...(body ? { body } : {}) },
      opts.now ?? Date.now(),
    );
  else if (opts.as !== null) headers.authorization = `Bearer ${TOKENS[opts.as ?? G1.id] ?? opts.as}`;
  const res = await fetch(url, { method, headers, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let parsed: unknown = text;
  if (contentType.includes('json')) parsed = JSON.parse(text);
  return { status: res.status, contentType, body: parsed, headers: res.headers };
}

/** The log's length as the API reports it (the draft's string), read by its author. */
export async function lengthOf(base: string, logId: string): Promise<string> {
  const [sessionId, author] = logId.split('/');
  const r = await call(base, 'GET', `/getLogLength/${sessionId}/${author}`, { as: author! });
  if (r.status !== 200) throw new Error(`getLogLength ${logId}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.response_data as string;
}
