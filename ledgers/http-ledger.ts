// A Ledger reached over HTTP: the client of ledger-server.ts, on the standard fetch (Node, Deno, browsers, workerd).
import * as z from '../kernel/zod.ts';
import { fromUtf8 } from '../kernel/encoding.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import { SatpError } from '../kernel/errors.ts';
import type { AssetRecord, Ledger, LedgerAttestation, LedgerOp, LedgerReceipt } from '../kernel/ledger.ts';
import {
  assetRecordSchema,
  LEDGER_REF_PATTERN,
  ledgerAttestationSchema,
  ledgerReceiptSchema,
  parseLedgerOp,
} from '../kernel/ledger-schema.ts';
import { receiptMatchesOp } from '../kernel/ledger-receipt.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import type { LedgerHealth } from './ledger-server.ts';

export interface HttpLedgerOptions {
  /** The server's base URL, e.g. http://127.0.0.1:4100 */
  url: string;
  /** The ledger id every receipt must name. */
  id: string;
  fetch?: typeof fetch;
  /**
   * Ends a request that gets no answer (default 30 s), so the caller can settle the op by
   * status(opId) instead of waiting forever. A bound on one request, not a retry policy.
   */
  timeoutMs?: number;
  /** Largest response accepted (default 1 MiB). */
  maxResponseBytes?: number;
}

const healthSchema = z.strictObject({
  status: z.literal('ok'),
  ledgerId: z.string().check(z.regex(ID_PATTERN)),
  txSeq: z.number().check(z.int(), z.minimum(0)),
  publicJwk: z.strictObject({
    kty: z.literal('EC'),
    crv: z.enum(['P-256', 'secp256k1']),
    x: z.string(),
    y: z.string(),
  }),
});

/**
 * Answers that break the contract (bad JSON, wrong shape, a receipt for another op) are reported as
 * LEDGER_UNAVAILABLE, not INVALID_INPUT: the op may or may not have happened, so the caller must
 * settle it by status(opId), exactly as after a lost connection.
 */
export class HttpLedger implements Ledger {
  readonly id: string;
  readonly url: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(options: HttpLedgerOptions) {
    if (!ID_PATTERN.test(options.id)) throw new TypeError(`invalid ledger id ${JSON.stringify(options.id)}`);
    this.id = options.id;
    this.url = options.url.replace(/\/+$/, '');
    // Wrapped, so that a fetch given unbound (`fetch: window.fetch`) is not called with this object as `this`.
    const given = options.fetch;
    this.#fetch = given ? (input, init) => given(input, init) : globalThis.fetch.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  }

  /** A client for the ledger at `url`, named by the id its /health reports. */
  static async connect(url: string, options: Omit<HttpLedgerOptions, 'url' | 'id'> = {}): Promise<HttpLedger> {
    const probe = new HttpLedger({ ...options, url, id: 'unknown' });
    const health = await probe.health();
    return new HttpLedger({ ...options, url, id: health.ledgerId });
  }

  async health(): Promise<LedgerHealth> {
    const { status, body } = await this.#request('GET', '/health');
    if (status !== 200) throw this.#unavailable(`GET /health answered ${status}`);
    return this.#parse(healthSchema, body, 'health') as LedgerHealth;
  }

  async execute(value: LedgerOp): Promise<LedgerReceipt> {
    const op = parseLedgerOp(value);
    const { status, body } = await this.#request('POST', '/ops', JSON.stringify(op));
    if (status === 200) {
      const receipt = this.#parse(ledgerReceiptSchema, body, 'receipt');
      if (!receiptMatchesOp(receipt, op) || receipt.ledgerId !== this.id)
        throw this.#unavailable(`the receipt answers another op or ledger than ${op.opId}`);
      return receipt;
    }
    if (status === 409)
      throw new SatpError('OP_CONFLICT', problemDetail(body, `op ${op.opId} conflicts with a recorded op`));
    if (status === 400 || status === 413)
      throw new SatpError('INVALID_INPUT', problemDetail(body, `the ledger refused op ${op.opId} as malformed`));
    throw this.#unavailable(`POST /ops answered ${status}: ${problemDetail(body, '')}`);
  }

  async status(opId: string): Promise<LedgerReceipt | undefined> {
    if (typeof opId !== 'string' || !LEDGER_REF_PATTERN.test(opId)) return undefined;
    const { status, body } = await this.#request('GET', `/ops/${encodeURIComponent(opId)}`);
    if (status === 404) return undefined;
    if (status !== 200) throw this.#unavailable(`GET /ops/${opId} answered ${status}`);
    const receipt = this.#parse(ledgerReceiptSchema, body, 'receipt');
    if (receipt.opId !== opId || receipt.ledgerId !== this.id)
      throw this.#unavailable(`the receipt answers another op or ledger than ${opId}`);
    return receipt;
  }

  async asset(assetId: string): Promise<AssetRecord | undefined> {
    if (typeof assetId !== 'string' || !LEDGER_REF_PATTERN.test(assetId)) return undefined;
    const { status, body } = await this.#request('GET', `/assets/${encodeURIComponent(assetId)}`);
    if (status === 404) return undefined;
    if (status !== 200) throw this.#unavailable(`GET /assets/${assetId} answered ${status}`);
    const asset = this.#parse(assetRecordSchema, body, 'asset');
    if (asset.assetId !== assetId) throw this.#unavailable(`the record answers another asset than ${assetId}`);
    return asset;
  }

  /** The ledger's signed attestation; its proof is checked by whoever relies on it (kernel/ledger-receipt.ts). */
  async attest(assetId: string, opIds: readonly string[]): Promise<LedgerAttestation> {
    const { status, body } = await this.#request('POST', '/attestations', JSON.stringify({ assetId, opIds }));
    if (status === 400 || status === 413)
      throw new SatpError(
        'INVALID_INPUT',
        problemDetail(body, `the ledger refused the attestation request for ${assetId}`),
      );
    if (status !== 200) throw this.#unavailable(`POST /attestations answered ${status}`);
    const a = this.#parse(ledgerAttestationSchema, body, 'attestation');
    if (a.assetId !== assetId || a.ledgerId !== this.id)
      throw this.#unavailable(`the attestation answers another asset or ledger than ${assetId}`);
    return a;
  }

  async listAssets(): Promise<AssetRecord[]> {
    const { status, body } = await this.#request('GET', '/assets');
    if (status !== 200) throw this.#unavailable(`GET /assets answered ${status}`);
    return this.#parse(z.strictObject({ assets: z.array(assetRecordSchema) }), body, 'asset list').assets;
  }

  async #request(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; body: unknown }> {
    try {
      const res = await this.#fetch(this.url + path, {
        method,
        headers:
          body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body !== undefined && { body }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const text = await readBounded(res, this.#maxBytes);
      const parsed = text === '' ? undefined : parseStrictJson(text);
      return { status: res.status, body: parsed?.ok ? parsed.value : undefined };
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw this.#unavailable(`${method} ${path} failed: ${String(err)}`, err);
    }
  }

  #parse<T>(schema: z.ZodMiniType<T>, body: unknown, what: string): T {
    const r = schema.safeParse(body);
    if (!r.success)
      throw this.#unavailable(`malformed ${what}: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
    return r.data;
  }

  #unavailable(message: string, cause?: unknown): SatpError {
    return new SatpError(
      'LEDGER_UNAVAILABLE',
      `ledger ${this.id} at ${this.url}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

function problemDetail(body: unknown, fallback: string): string {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail.slice(0, 512) : fallback;
}

/** The response text, refusing more than `max` bytes without reading them all. */
async function readBounded(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > max || !res.body) {
    await res.body?.cancel();
    if (declared > max)
      throw new SatpError('LEDGER_UNAVAILABLE', `response of ${declared} bytes is over the ${max}-byte limit`);
    return '';
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Bounded by `max` bytes and by the request's timeout signal, which errors the stream.
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new SatpError('LEDGER_UNAVAILABLE', `response over the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return fromUtf8(bytes);
}
