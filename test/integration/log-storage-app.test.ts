// The Log Storage API app in process (app.request, no sockets): mounting under a prefix, failures of the
// storage behind it (recovery-04 §3.4.1: 5xx), the request time bound (§9), operators, and bounded pages.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { SatpError } from '../../kernel/errors.ts';
import { GENESIS_HASH, logIdOf } from '../../kernel/entry.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { signRequest } from '../../http/signed-request.ts';
import { createLogStorageApp, type LogStorageAppOptions } from '../../log-api/app.ts';
import { chain, G1, G2, GATEWAYS, headOf, serverStore, TOKENS } from '../support/log-storage-fixtures.ts';

const bearer = (id: string = G1.id) => ({ authorization: `Bearer ${TOKENS[id] ?? id}` });

function appWith(driver: MemoryDriver, options: Partial<LogStorageAppOptions> = {}) {
  return createLogStorageApp({ store: serverStore(driver), gateways: GATEWAYS, ...options });
}

const post = (
  // biome-ignore lint/suspicious/noExplicitAny: any app the fixtures build, whatever its env type
  app: Hono<any>,
  path: string,
  body: unknown,
  headers: Record<string, string> = bearer(),
) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('Log Storage API app', () => {
  it(
    'mounted under /log by a parent app, ' + 'its routes answer there and signed requests cover the full path',
    async () => {
      const parent = new Hono();
      parent.route('/log', appWith(new MemoryDriver()));
      const entries = await chain('mount', 2);
      expect((await post(parent, `/log/writeLogEntry/mount/${G1.id}`, { entries })).status).toBe(200);
      const url = `http://localhost/log/getLogLength/mount/${G1.id}`;
      const authorization = await signRequest(G1.signer, G1.id, { method: 'GET', url }, Date.now());
      const res = await parent.request(url, { headers: { authorization } });
      expect(await res.json()).toEqual({ success: true, response_data: '2' });
      const unknown = await parent.request('/log/nothing-here', { headers: bearer() });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
    },
  );

  it(
    'a write whose Content-Type was text/plain, form-urlencoded or absent was stored like JSON: ' +
      'now 415 and nothing stored',
    async () => {
      const driver = new MemoryDriver();
      const app = appWith(driver);
      const entries = await chain('media', 1);
      const body = JSON.stringify({ entries });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined, 'application/jsonx']) {
        const res = await app.request(`/writeLogEntry/media/${G1.id}`, {
          method: 'POST',
          headers: { ...bearer(), ...(type ? { 'content-type': type } : {}) },
          body,
        });
        expect(res.status, String(type)).toBe(415);
        expect(res.headers.get('content-type')).toMatch(/problem\+json/);
        expect(await res.json()).toMatchObject({ success: false, code: 'INVALID_INPUT', status: 415 });
      }
      expect(await driver.head(logIdOf('media', G1.id))).toBeUndefined();
      const ok = await post(
        app,
        `/writeLogEntry/media/${G1.id}`,
        { entries },
        {
          ...bearer(),
          'content-type': 'application/json; charset=utf-8',
        },
      );
      expect(ok.status).toBe(200);
    },
  );

  it('a request the store does not answer within requestTimeoutMs gets 503 STORAGE_FAILURE', async () => {
    const driver = new MemoryDriver();
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const stalled = Object.assign(driver, {
      head: async () => {
        await gate;
        return undefined;
      },
    });
    const app = appWith(stalled, { requestTimeoutMs: 50 });
    try {
      const res = await app.request(`/getLogLength/slow/${G1.id}`, { headers: bearer() });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        success: false,
        code: 'STORAGE_FAILURE',
        detail: expect.stringMatching(/timed out/),
      });
    } finally {
      release();
    }
  });

  it(
    'a storage failure is 503 STORAGE_FAILURE, ' +
      'a closed store 503 STORE_CLOSED, a bug 500 (reported), and it keeps serving',
    async () => {
      const driver = new MemoryDriver();
      const reported: unknown[] = [];
      const app = appWith(driver, { onError: (e) => reported.push(e) });
      const realHead = driver.head.bind(driver);
      driver.head = async () => {
        throw new SatpError('STORAGE_FAILURE', 'disk on fire');
      };
      expect((await app.request(`/getLogLength/f/${G1.id}`, { headers: bearer() })).status).toBe(503);
      driver.head = async () => {
        throw new TypeError('a bug');
      };
      const bug = await app.request(`/getLogLength/f/${G1.id}`, { headers: bearer() });
      expect(bug.status).toBe(500);
      expect(await bug.json()).toMatchObject({ success: false, code: 'STORAGE_FAILURE', status: 500 });
      expect(reported).toHaveLength(1);
      driver.head = realHead;
      expect((await app.request(`/getLogLength/f/${G1.id}`, { headers: bearer() })).status).toBe(200);
      await driver.close();
      const closed = await app.request(`/getLogLength/f/${G1.id}`, { headers: bearer() });
      expect(closed.status).toBe(503);
      expect(await closed.json()).toMatchObject({ code: 'STORE_CLOSED' });
    },
  );

  it('an operator reads and writes every log, yet cannot store an entry its author did not sign', async () => {
    const gateways = { ...GATEWAYS, 'gw-operator': { token: 'operator-token-0123456789', role: 'operator' as const } };
    const app = createLogStorageApp({ store: serverStore(new MemoryDriver()), gateways });
    const op = { authorization: 'Bearer operator-token-0123456789' };
    const entries = await chain('op', 3, { author: G2 });
    expect((await post(app, `/updateLog/op/${G2.id}`, { entries: entries.slice(0, 2) }, op)).status).toBe(200);
    expect((await app.request(`/getLog/op/${G2.id}`, { headers: op })).status).toBe(200);
    const forged = { ...entries[2]!, messageSignature: entries[1]!.messageSignature };
    expect((await post(app, `/writeLogEntry/op/${G2.id}`, forged, op)).status).toBe(422);
    expect((await app.request(`/getLog/op/${G2.id}`, { headers: bearer(G1.id) })).status).toBe(403);
  });

  it(
    'getLog and getLogDiff pages stay under maxReplyChars yet always carry one entry, ' + 'and paging reaches the end',
    async () => {
      const app = appWith(new MemoryDriver(), { maxReplyChars: 2_500 });
      const entries = await chain('pages', 7);
      await post(app, `/writeLogEntry/pages/${G1.id}`, { entries });
      const seen = [];
      let from = 1;
      for (let page = 0; page < 10; page++) {
        const body = (await (await app.request(`/getLog/pages/${G1.id}?from=${from}`, { headers: bearer() })).json())
          .response_data;
        expect(body.entries.length).toBeGreaterThanOrEqual(1);
        expect(body.entries.length).toBeLessThan(7);
        seen.push(...body.entries);
        if (!body.more) break;
        from = body.next;
      }
      expect(seen).toEqual(entries);
      const diff = (await (await post(app, `/getLogDiff/pages/${G1.id}`, { seq: 0, hash: GENESIS_HASH })).json())
        .response_data;
      expect(diff.kind).toBe('extends');
      expect(diff.more).toBe(true);
      expect(diff.entries).toEqual(entries.slice(0, diff.entries.length));
    },
  );

  it('getLogTexts pages concatenate to exactly what the driver holds, holes included', async () => {
    const driver = new MemoryDriver();
    const app = appWith(driver, { pageSize: 2 });
    const entries = await chain('texts', 5);
    await post(app, `/writeLogEntry/texts/${G1.id}`, { entries });
    driver.logs.get(`texts/${G1.id}`)!.splice(1, 1); // seq 2 lost behind the store's back
    const texts: string[] = [];
    let from = 1;
    for (let page = 0; page < 10; page++) {
      const body = (await (await app.request(`/getLogTexts/texts/${G1.id}?from=${from}`, { headers: bearer() })).json())
        .response_data;
      texts.push(...body.texts);
      if (!body.more) break;
      from = body.next;
    }
    expect(texts).toEqual(await driver.read(`texts/${G1.id}`, 1, Number.MAX_SAFE_INTEGER));
    expect(texts.map((t) => JSON.parse(t).seqNumber)).toEqual([1, 3, 4, 5]);
    expect((await (await app.request(`/getHead/texts/${G1.id}`, { headers: bearer() })).json()).response_data).toEqual({
      ...headOf(entries),
      open: true,
    });
  });

  it("capabilities reports the store's promises and the server's limits", async () => {
    const res = await appWith(new MemoryDriver(), { maxBodyBytes: 1234 }).request('/capabilities', {
      headers: bearer(),
    });
    expect((await res.json()).response_data).toEqual({
      persistent: false,
      durable: false,
      maxBodyBytes: 1234,
      pageSize: 256,
      maxReplyChars: 4 * 1024 * 1024,
    });
  });
});
