// recovery-04 §3.4's own routes of the Log Storage API (Figure 3), in process: the log named by one value
// (`/writeLogEntry/:logId`, `/getLogDiff/:log`, `/getLogEntry/:id`, `?log=` where §3.4 names none), answering in the
// draft's envelope what the two-segment routes answer, behind the same authentication, access control, Content-Type
// rule and input checks (docs/log-storage-api.md, "Log ids in paths").
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, type LogEntry } from '../../kernel/entry.ts';
import { signRequest } from '../../http/signed-request.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { chain, G1, G2, GATEWAYS, headOf, OBSERVER, serverStore, TOKENS } from '../support/log-storage-fixtures.ts';

const NOW = 1_800_000_000_000;
const bearer = (id: string = G1.id) => ({ authorization: `Bearer ${TOKENS[id] ?? id}` });
const LOG = `s-1%2F${G1.id}`;
const LOG_QUERY = `log=s-1/${G1.id}`;

function setUp() {
  return createLogStorageApp({ store: serverStore(new MemoryDriver()), gateways: GATEWAYS, now: () => NOW });
}
type App = ReturnType<typeof setUp>;

const get = async (app: App, path: string, headers: Record<string, string> = bearer()) =>
  app.request(path, { headers });
const post = async (app: App, path: string, body: unknown, headers: Record<string, string> = bearer()) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** An app holding a 3-entry author-only chain of s-1 by G1, written through §3.4's writeLogEntry route. */
async function withChain(): Promise<{ app: App; entries: LogEntry[] }> {
  const app = setUp();
  const entries = await chain('s-1', 3);
  const res = await post(app, `/writeLogEntry/${LOG}`, { entries });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ success: true, response_data: '3' });
  return { app, entries };
}

async function expectProblem(res: Response, status: number, code: string): Promise<void> {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ success: false, status, code });
}

describe("recovery-04 §3.4's single-segment routes", () => {
  it('answer in the envelope {success, response_data}, the same data as the two-segment routes', async () => {
    const { app, entries } = await withChain();
    const pairs: [string, string, unknown][] = [
      [`/getLogLength?${LOG_QUERY}`, `/getLogLength/s-1/${G1.id}`, '3'],
      [`/getLogEntry/${LOG}%2F2`, `/getLogEntry/s-1/${G1.id}/2`, entries[1]],
      [`/getLastEntry?${LOG_QUERY}`, `/getLastEntry/s-1/${G1.id}`, entries[2]],
      [
        `/getLog?${LOG_QUERY}&limit=2`,
        `/getLog/s-1/${G1.id}?limit=2`,
        { entries: entries.slice(0, 2), more: true, next: 3 },
      ],
    ];
    for (const [draft, ours, data] of pairs) {
      const res = await get(app, draft);
      expect(res.status, draft).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      const body = await res.json();
      expect(body, draft).toEqual({ success: true, response_data: data });
      expect(await (await get(app, ours)).json(), ours).toEqual(body);
    }
    const view = { seq: 1, hash: entries[0]!.entryHash };
    const diff = await post(app, `/getLogDiff/${LOG}`, view);
    expect(await diff.json()).toEqual({
      success: true,
      response_data: { kind: 'extends', entries: entries.slice(1), more: false },
    });
    // The query's log id may be percent-encoded too; lowercase %2f is the same octet.
    expect(await (await get(app, `/getLogLength?log=s-1%2F${G1.id}`)).json()).toEqual({
      success: true,
      response_data: '3',
    });
    expect((await get(app, `/getLogEntry/s-1%2f${G1.id}%2f3`)).status).toBe(200);
  });

  it('writeLogEntry/:logId keeps the conditional append, and a signed request covers the encoded path', async () => {
    const { app, entries } = await withChain();
    const [next] = await chain('s-1', 1, { from: headOf(entries), offset: 3 });
    const stale = await post(app, `/writeLogEntry/${LOG}`, next, {
      ...bearer(),
      'X-Expected-Last-Hash': GENESIS_HASH,
    });
    await expectProblem(stale, 409, 'CHAIN_CONFLICT');
    const url = `http://localhost/writeLogEntry/${LOG}`;
    const body = new TextEncoder().encode(JSON.stringify(next));
    const authorization = await signRequest(G1.signer, G1.id, { method: 'POST', url, body }, NOW);
    const signed = await app.request(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body,
    });
    expect(await signed.json()).toEqual({ success: true, response_data: '4' });
    // The same signature does not cover the two-segment spelling of the path.
    const other = await app.request(`http://localhost/writeLogEntry/s-1/${G1.id}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body,
    });
    await expectProblem(other, 401, 'UNAUTHENTICATED');
  });

  describe('refuse an unauthenticated or unauthorized caller, as the two-segment routes do', () => {
    const routes: [string, (app: App, headers: Record<string, string>, e: LogEntry[]) => Promise<Response>][] = [
      ['POST /writeLogEntry/:logId', (app, h, e) => post(app, `/writeLogEntry/${LOG}`, e[0], h)],
      ['GET /getLogEntry/:id', (app, h) => get(app, `/getLogEntry/${LOG}%2F1`, h)],
      ['GET /getLogLength', (app, h) => get(app, `/getLogLength?${LOG_QUERY}`, h)],
      ['POST /getLogDiff/:log', (app, h) => post(app, `/getLogDiff/${LOG}`, { seq: 0, hash: GENESIS_HASH }, h)],
      ['GET /getLastEntry', (app, h) => get(app, `/getLastEntry?${LOG_QUERY}`, h)],
      ['GET /getLog', (app, h) => get(app, `/getLog?${LOG_QUERY}`, h)],
    ];
    for (const [name, send] of routes) {
      it(name, async () => {
        const { app, entries } = await withChain();
        const none = await send(app, {}, entries);
        await expectProblem(none, 401, 'UNAUTHENTICATED');
        expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
        await expectProblem(
          await send(app, { authorization: 'Bearer not-a-known-token-0123' }, entries),
          401,
          'UNAUTHENTICATED',
        );
        // G2 and an observer may neither read nor append to G1's author-only chain.
        for (const who of [G2.id, OBSERVER.id])
          await expectProblem(await send(app, bearer(who), entries), 403, 'FORBIDDEN');
        expect(await (await get(app, `/getLogLength?${LOG_QUERY}`)).json()).toEqual({
          success: true,
          response_data: '3',
        });
      });
    }
  });

  it('refuse bad input: 400 for a bad log or entry id, 404 for no such entry, 415 for a non-JSON body', async () => {
    const { app, entries } = await withChain();
    const bad: [string, () => Promise<Response>, number, string][] = [
      ['a log id without its slash', () => post(app, '/writeLogEntry/s-1', entries[0]), 400, 'INVALID_INPUT'],
      ['a log id with two slashes', () => post(app, `/writeLogEntry/${LOG}%2Fx`, entries[0]), 400, 'INVALID_INPUT'],
      ['a log id outside the alphabet', () => get(app, '/getLogLength?log=s-1/gw!a'), 400, 'INVALID_INPUT'],
      ['no log query parameter', () => get(app, '/getLogLength'), 400, 'INVALID_INPUT'],
      ['an empty log query parameter', () => get(app, '/getLastEntry?log='), 400, 'INVALID_INPUT'],
      ['getLog without a log', () => get(app, '/getLog?limit=2'), 400, 'INVALID_INPUT'],
      ['an entry id without a seqNumber', () => get(app, `/getLogEntry/${LOG}`), 400, 'INVALID_INPUT'],
      ['an entry id with seqNumber 0', () => get(app, `/getLogEntry/${LOG}%2F0`), 400, 'INVALID_INPUT'],
      ['an entry the log does not have', () => get(app, `/getLogEntry/${LOG}%2F9`), 404, 'NOT_FOUND'],
      ['the last entry of an empty log', () => get(app, `/getLastEntry?log=s-2/${G1.id}`), 404, 'NOT_FOUND'],
      [
        'an entry of another log than the path names',
        () => post(app, `/writeLogEntry/s-2%2F${G1.id}`, entries[0]),
        400,
        'INVALID_INPUT',
      ],
      ['a body that is not JSON', () => post(app, `/writeLogEntry/${LOG}`, '{"entries": ['), 400, 'INVALID_INPUT'],
      [
        'a getLogDiff view of the wrong shape',
        () => post(app, `/getLogDiff/${LOG}`, { seq: -1 }),
        400,
        'INVALID_INPUT',
      ],
      ['getLogDiff by GET', () => get(app, `/getLogDiff/${LOG}`), 404, 'NOT_FOUND'],
    ];
    for (const [what, send, status, code] of bad) {
      const res = await send();
      expect(res.status, what).toBe(status);
      await expectProblem(res, status, code);
    }
    for (const path of [`/writeLogEntry/${LOG}`, `/getLogDiff/${LOG}`]) {
      const res = await app.request(path, {
        method: 'POST',
        headers: { ...bearer(), 'content-type': 'text/plain' },
        body: JSON.stringify({ seq: 0, hash: GENESIS_HASH }),
      });
      await expectProblem(res, 415, 'INVALID_INPUT');
    }
    expect(await (await get(app, `/getLogLength?${LOG_QUERY}`)).json()).toEqual({ success: true, response_data: '3' });
  });
});
