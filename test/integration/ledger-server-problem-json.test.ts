// The ledger server answers bad input with RFC 9457 problem+json (400, 404, 409, 413, 500) and keeps
// serving; routes are exercised through app.request(), without sockets.
import { describe, expect, it } from 'vitest';
import { SatpError } from '../../kernel/errors.ts';
import { ledgerOp } from '../../kernel/ledger.ts';
import { createLedgerApp } from '../../ledgers/ledger-server.ts';
import type { LedgerHost } from '../../ledgers/ledger-engine.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { LEDGER_KEY } from '../support/ledger-harness.ts';

const BASE = 'http://ledger.test';

function setup() {
  const ledger = new MemoryLedger({
    id: 'ledger-a',
    signer: LEDGER_KEY.signer,
    assets: [{ assetId: 'asset-1', owner: 'alice' }],
  });
  const app = createLedgerApp(ledger);
  const post = (body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    app.request(`${BASE}/ops`, { method: 'POST', body, headers });
  return { ledger, app, post };
}

async function expectProblem(res: Response, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: `urn:satp-recovery:problem:${type}`, status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
  return body;
}

describe('ledger server', () => {
  it('answers every kind of bad request with problem+json, records none of them, and keeps serving', async () => {
    const { app, post } = setup();
    await expectProblem(await post('{"opId":'), 400, 'invalid-json');
    await expectProblem(await post('{"opId":"L1","opId":"L2","kind":"burn","assetId":"asset-1"}'), 400, 'invalid-json');
    await expectProblem(await post('{"opId":"L1","kind":"lock","assetId":"asset-1"}'), 400, 'invalid-input');
    await expectProblem(await post('{"opId":"L1","kind":"burn","assetId":"asset-1","extra":1}'), 400, 'invalid-input');
    await expectProblem(await post('[1,2,3]'), 400, 'invalid-input');
    await expectProblem(
      await post(JSON.stringify({ opId: 'L1', kind: 'burn', assetId: 'a'.repeat(70_000) })),
      413,
      'too-large',
    );
    // Without a content-length the limit is enforced while the body streams in.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 80; i++) c.enqueue(new Uint8Array(1024).fill(0x20));
        c.close();
      },
    });
    await expectProblem(
      await app.request(`${BASE}/ops`, { method: 'POST', body: chunks, duplex: 'half' } as RequestInit),
      413,
      'too-large',
    );
    await expectProblem(await app.request(`${BASE}/ops/never`), 404, 'not-found');
    await expectProblem(await app.request(`${BASE}/ops/bad%20id`), 400, 'invalid-input');
    await expectProblem(await app.request(`${BASE}/assets/ghost`), 404, 'not-found');
    await expectProblem(await app.request(`${BASE}/no-such-route`), 404, 'not-found');
    await expectProblem(await app.request(`${BASE}/ops`, { method: 'DELETE' }), 404, 'not-found');

    const health = await app.request(`${BASE}/health`);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      ledgerId: 'ledger-a',
      txSeq: 0,
      publicJwk: LEDGER_KEY.jwk,
    });
    const res = await post(JSON.stringify(ledgerOp.lock('L1', 'asset-1', 'alice')));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ opId: 'L1', ok: true, txSeq: 1 });
  });

  it('answers a refusal with 200 and ok:false, and an opId reused with other fields with 409', async () => {
    const { app, post } = setup();
    const refusal = await post(JSON.stringify(ledgerOp.unlock('U1', 'asset-1')));
    expect(refusal.status).toBe(200);
    expect(await refusal.json()).toMatchObject({ ok: false, error: { code: 'WRONG_STATE' } });
    const conflict = await expectProblem(
      await post(JSON.stringify(ledgerOp.unlock('U1', 'ghost'))),
      409,
      'op-conflict',
    );
    expect(conflict.detail).toMatch(/U1/);
    expect(await (await app.request(`${BASE}/ops/U1`)).json()).toMatchObject({ opId: 'U1', ok: false });
    expect(await (await app.request(`${BASE}/assets`)).json()).toEqual({
      assets: [{ assetId: 'asset-1', owner: 'alice', state: 'active' }],
    });
    expect(await (await app.request(`${BASE}/assets/asset-1`)).json()).toEqual({
      assetId: 'asset-1',
      owner: 'alice',
      state: 'active',
    });
  });

  it('turns ledger failures into 5xx problems without leaking the text of unexpected errors', async () => {
    let mode: 'storage' | 'bug' = 'storage';
    const failing: LedgerHost = {
      id: 'ledger-a',
      publicJwk: LEDGER_KEY.jwk,
      execute: async () => {
        if (mode === 'storage') throw new SatpError('STORAGE_FAILURE', 'LevelDB failed: disk full');
        throw new Error('secret /etc/path');
      },
      status: async () => undefined,
      asset: async () => undefined,
      attest: async () => {
        throw new SatpError('STORAGE_FAILURE', 'LevelDB failed: disk full');
      },
      txSeq: async () => 0,
      listAssets: async () => [],
    };
    const app = createLedgerApp(failing);
    const post = () =>
      app.request(`${BASE}/ops`, { method: 'POST', body: JSON.stringify(ledgerOp.burn('B1', 'asset-1')) });
    expect((await expectProblem(await post(), 500, 'storage-failure')).detail).toMatch(/disk full/);
    mode = 'bug';
    expect((await expectProblem(await post(), 500, 'internal')).detail).not.toMatch(/secret/);
    expect((await app.request(`${BASE}/health`)).status).toBe(200);
  });
});
