// The simulated ledger's HTTP surface: one Hono app (served by Node, Deno or workerd unchanged) over a LedgerHost.
//
// POST /ops (a LedgerOp) → 200 receipt, ok true or false; GET /ops/:opId → receipt or 404;
// GET /assets, GET /assets/:assetId, POST /attestations ({assetId, opIds}) → a signed attestation of the
// asset and of which ops were recorded, by the ledger's clock; GET /health. Errors are RFC 9457 problem+json:
// 400 bad JSON or shape, 409 OP_CONFLICT, 413 body too large, 404 unknown, 5xx the ledger's own failures.
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { LedgerOp } from '../kernel/ledger.ts';
import { LEDGER_REF_PATTERN } from '../kernel/ledger-schema.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import type { LedgerHost } from './ledger-engine.ts';
import { problemFor, problemResponse } from './problem.ts';

export interface LedgerAppOptions {
  /** Largest accepted request body (default 64 KiB; an op is well under 1 KiB). */
  maxBodyBytes?: number;
}

/** GET /health: the ledger's id, how many ops it has recorded, and the key its receipts verify under. */
export interface LedgerHealth {
  status: 'ok';
  ledgerId: string;
  txSeq: number;
  publicJwk: PublicJwk;
}

// An op is a flat object of a few short strings; anything deeper or bigger is refused while parsing.
const OP_JSON_LIMITS = { maxDepth: 4, maxString: 1024, maxItems: 32, maxNodes: 64 };

export function createLedgerApp(ledger: LedgerHost, options: LedgerAppOptions = {}): Hono {
  const maxBytes = options.maxBodyBytes ?? 64 * 1024;
  const app = new Hono();

  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => problemResponse(413, 'too-large', 'Request body too large', `the limit is ${maxBytes} bytes`),
  });
  /** A POST whose small JSON body goes through the strict parser (duplicate keys, unsafe numbers refused) first. */
  const postJson = (path: string, handle: (body: unknown, c: Context) => Promise<Response> | Response) =>
    app.post(path, limit, async (c) => {
      const parsed = parseStrictJson(await c.req.text(), OP_JSON_LIMITS);
      if (!parsed.ok)
        return problemResponse(400, 'invalid-json', 'Invalid JSON', `${parsed.problem} at offset ${parsed.at}`);
      return handle(parsed.value, c);
    });

  // The engine checks the op's shape.
  postJson('/ops', async (body, c) => c.json(await ledger.execute(body as LedgerOp)));

  app.get('/ops/:opId', async (c) => {
    const opId = c.req.param('opId');
    if (!LEDGER_REF_PATTERN.test(opId))
      return problemResponse(400, 'invalid-input', 'Invalid input', 'not an operation id');
    const receipt = await ledger.status(opId);
    return receipt
      ? c.json(receipt)
      : problemResponse(404, 'not-found', 'Not found', `no operation ${opId} was recorded`);
  });

  app.get('/assets', async (c) => c.json({ assets: await ledger.listAssets() }));

  app.get('/assets/:assetId', async (c) => {
    const assetId = c.req.param('assetId');
    if (!LEDGER_REF_PATTERN.test(assetId))
      return problemResponse(400, 'invalid-input', 'Invalid input', 'not an asset id');
    const asset = await ledger.asset(assetId);
    return asset ? c.json(asset) : problemResponse(404, 'not-found', 'Not found', `no asset ${assetId}`);
  });

  postJson('/attestations', async (body, c) => {
    const q = body as { assetId?: unknown; opIds?: unknown };
    const keys = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
    if (
      typeof q?.assetId !== 'string' ||
      !Array.isArray(q.opIds) ||
      keys.some((k) => k !== 'assetId' && k !== 'opIds')
    ) {
      return problemResponse(400, 'invalid-input', 'Invalid input', 'expected {"assetId": string, "opIds": string[]}');
    }
    return c.json(await ledger.attest(q.assetId, q.opIds as string[]));
  });

  app.get('/health', async (c) => {
    const health: LedgerHealth = {
      status: 'ok',
      ledgerId: ledger.id,
      txSeq: await ledger.txSeq(),
      publicJwk: ledger.publicJwk,
    };
    return c.json(health);
  });

  app.notFound((c) =>
    problemResponse(404, 'not-found', 'Not found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
  // The one choke point: whatever a request throws becomes a problem, and the server keeps serving.
  app.onError((err) => problemFor(err));
  return app;
}
