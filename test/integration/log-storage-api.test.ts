// recovery-04 §3.4 Log Storage API, black box over HTTP: the same cases against the one Hono app served by
// Node (the CLI), Deno (Deno.serve) and workerd (miniflare), each started at run time on 127.0.0.1.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, type LogEntry } from '../../kernel/entry.ts';
import {
  BACKUP,
  call,
  chain,
  G1,
  G2,
  headOf,
  lengthOf,
  OBSERVER,
  STRANGER,
  type Reply,
  TOKENS,
} from '../support/log-storage-fixtures.ts';
import { type RuntimeName, START, type Target } from '../support/log-storage-targets.ts';

const RUNTIMES: RuntimeName[] = ['node', 'deno', 'workerd'];
const MAX_BODY = 2 * 1024 * 1024; // LOG_STORAGE_DEFAULTS.maxBodyBytes, which every target uses

const write = (
  base: string,
  sessionId: string,
  body: unknown,
  opts: { as?: string; expected?: string; author?: string } = {},
) =>
  call(base, 'POST', `/writeLogEntry/${sessionId}/${opts.author ?? G1.id}`, {
    as: opts.as ?? opts.author ?? G1.id,
    body: body as object,
    ...(opts.expected ? { headers: { 'X-Expected-Last-Hash': opts.expected } } : {}),
  });

/**
 * A write whose headers announce a body over the limit, and which sends no body: the server must refuse it from
 * its Content-Length alone, before reading anything (log-api/app.ts). Sending the body too would race the server,
 * which answers 413 and closes without reading it: a client still writing then sees the connection reset, before
 * or after the answer, depending on the machine. Waiting for the answer instead asserts what matters, and a server
 * that waited for the body would never answer (the test's timeout).
 */
function announceOversizeWrite(base: string, sessionId: string, bytes: number): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(`${base}/writeLogEntry/${sessionId}/${G1.id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(bytes),
        authorization: `Bearer ${TOKENS[G1.id]}`,
      },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(res.headers['content-type'] ?? '');
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, contentType, body: JSON.parse(text), headers });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.flushHeaders();
  });
}

function expectProblem(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.contentType).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({
    success: false,
    status,
    code,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
}

describe.each(RUNTIMES)('recovery-04 §3.4 Log Storage API served by %s', (runtime) => {
  let target: Target;
  let base = '';
  beforeAll(async () => {
    target = await START[runtime]();
    base = target.url;
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('serves its OpenAPI 3.1 document without credentials', async () => {
    const r = await call(base, 'GET', '/openapi.json', { as: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
  });

  it(
    'writeLogEntry appends entry by entry under X-Expected-Last-Hash, ' + 'answering the length as a string (Figure 4)',
    async () => {
      const entries = await chain('w-one', 3);
      let expected = GENESIS_HASH;
      for (const [i, e] of entries.entries()) {
        const r = await write(base, 'w-one', e, { expected });
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ success: true, response_data: String(i + 1) });
        expected = e.entryHash;
      }
      expect(await lengthOf(base, `w-one/${G1.id}`)).toBe('3');
    },
  );

  it(
    'every read route returns what was written: getLogEntry, ' +
      'getLastEntry, lastEntry, getLog pages, getHead, getLogTexts',
    async () => {
      const entries = await chain('r-all', 5);
      expect((await write(base, 'r-all', { entries })).body.response_data).toBe('5');
      const get = (path: string) =>
        call(base, 'GET', path).then((r) => {
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          return r.body.response_data;
        });
      expect(await get(`/getLogEntry/r-all/${G1.id}/3`)).toEqual(entries[2]);
      expect(await get(`/getLastEntry/r-all/${G1.id}`)).toEqual(entries[4]);
      expect(await get(`/lastEntry/r-all/${G1.id}`)).toEqual(entries[4]);
      expect(await get(`/getLog/r-all/${G1.id}`)).toEqual({ entries, more: false });
      expect(await get(`/getLog/r-all/${G1.id}?from=2&limit=2`)).toEqual({
        entries: entries.slice(1, 3),
        more: true,
        next: 4,
      });
      expect(await get(`/getLog/r-all/${G1.id}?from=4&to=4`)).toEqual({ entries: [entries[3]], more: false });
      expect(await get(`/getHead/r-all/${G1.id}`)).toEqual({ ...headOf(entries), open: true });
      expect(await get(`/getHead/r-none/${G1.id}`)).toBeNull();
      const texts = await get(`/getLogTexts/r-all/${G1.id}?from=2&to=3`);
      expect(texts.texts.map((t: string) => JSON.parse(t))).toEqual(entries.slice(1, 3));
      expectProblem(await call(base, 'GET', `/getLogEntry/r-all/${G1.id}/6`), 404, 'NOT_FOUND');
      expectProblem(await call(base, 'GET', `/getLastEntry/r-none/${G1.id}`), 404, 'NOT_FOUND');
      expect(await get(`/getLogLength/r-none/${G1.id}`)).toBe('0');
    },
  );

  it("§3.4's single-segment routes: the log id's %2F survives each server's HTTP stack", async () => {
    const entries = await chain('one-seg', 2);
    const log = `one-seg%2F${G1.id}`;
    const w = await call(base, 'POST', `/writeLogEntry/${log}`, { signAs: G1, body: entries[0]! });
    expect(w.body).toEqual({ success: true, response_data: '1' });
    const w2 = await call(base, 'POST', `/writeLogEntry/${log}`, { body: { entries: [entries[1]] } });
    expect(w2.body).toEqual({ success: true, response_data: '2' });
    const e = await call(base, 'GET', `/getLogEntry/${log}%2F2`, { signAs: G1 });
    expect(e.body).toEqual({ success: true, response_data: entries[1] });
    const length = await call(base, 'GET', `/getLogLength?log=one-seg%2F${G1.id}`);
    expect(length.body).toEqual({ success: true, response_data: '2' });
    expectProblem(await call(base, 'GET', `/getLogEntry/${log}%2F2`, { as: G2.id }), 403, 'FORBIDDEN');
  });

  it("getLogDiff answers extends, view-longer and diverged for the caller's view (kernel/log-diff.ts)", async () => {
    const entries = await chain('d-diff', 4);
    await write(base, 'd-diff', { entries });
    const diff = (view: object) =>
      call(base, 'POST', `/getLogDiff/d-diff/${G1.id}`, { body: view }).then((r) => r.body.response_data);
    expect(await diff({ seq: 2, hash: entries[1]!.entryHash })).toEqual({
      kind: 'extends',
      entries: entries.slice(2),
      more: false,
    });
    expect(await diff({ seq: 0, hash: GENESIS_HASH, limit: 1 })).toEqual({
      kind: 'extends',
      entries: entries.slice(0, 1),
      more: true,
    });
    expect(await diff({ seq: 9, hash: GENESIS_HASH })).toEqual({ kind: 'view-longer', length: 4 });
    expect(await diff({ seq: 2, hash: entries[0]!.entryHash })).toEqual({
      kind: 'diverged',
      seq: 2,
      ours: entries[1]!.entryHash,
      theirs: entries[0]!.entryHash,
    });
    expectProblem(await call(base, 'POST', `/getLogDiff/d-diff/${G1.id}`, { body: { seq: 2 } }), 400, 'INVALID_INPUT');
  });

  it(
    'saveLogEntry and updateLog (-01 names): ' +
      'updateLog answers the last common index and refuses a diverged source',
    async () => {
      const entries = await chain('u-upd', 4);
      const save = await call(base, 'POST', `/saveLogEntry/u-upd/${G1.id}`, { body: entries[0]! });
      expect(save.body).toEqual({ success: true, response_data: '1' });
      const up = await call(base, 'POST', `/updateLog/u-upd/${G1.id}`, { body: { entries } });
      expect(up.body).toEqual({ success: true, response_data: '1' });
      expect(await lengthOf(base, `u-upd/${G1.id}`)).toBe('4');
      const other = await chain('u-upd', 5, { offset: 50 });
      expectProblem(
        await call(base, 'POST', `/updateLog/u-upd/${G1.id}`, { body: { entries: other } }),
        409,
        'LOG_DIVERGED',
      );
      expect(await lengthOf(base, `u-upd/${G1.id}`)).toBe('4');
    },
  );

  it(
    "a request signed with the gateway's identity key is accepted; " +
      'a forged, stale or re-targeted signature is 401',
    async () => {
      const entries = await chain('s-sig', 2);
      const signed = await call(base, 'POST', `/writeLogEntry/s-sig/${G1.id}`, { signAs: G1, body: entries[0]! });
      expect(signed.status).toBe(200);
      // Signed by G2's key in G1's name: the signature does not verify.
      const forged = await call(base, 'POST', `/writeLogEntry/s-sig/${G1.id}`, {
        signAs: { ...G1, signer: G2.signer },
        body: entries[1]!,
      });
      expectProblem(forged, 401, 'UNAUTHENTICATED');
      const stale = await call(base, 'POST', `/writeLogEntry/s-sig/${G1.id}`, {
        signAs: G1,
        body: entries[1]!,
        now: Date.now() - 10 * 60_000,
      });
      expectProblem(stale, 401, 'UNAUTHENTICATED');
      expectProblem(
        await call(base, 'GET', `/getLogLength/s-sig/${G1.id}`, { signAs: STRANGER }),
        401,
        'UNAUTHENTICATED',
      );
      expect(await lengthOf(base, `s-sig/${G1.id}`)).toBe('1');
      expect((await call(base, 'GET', `/getLogLength/s-sig/${G1.id}`, { signAs: G1 })).body.response_data).toBe('1');
    },
  );

  describe('bad input: each answered with its status and a problem, nothing stored, the server keeps serving', () => {
    let base2: LogEntry[] = [];
    let next: LogEntry;
    let after: LogEntry;
    const LOG = `bad/${G1.id}`;
    beforeAll(async () => {
      const all = await chain('bad', 4);
      base2 = all.slice(0, 2);
      next = all[2]!;
      after = all[3]!;
      expect((await write(base, 'bad', { entries: base2 })).status).toBe(200);
    });
    const text = () => JSON.stringify(next);
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ['a body that is not JSON', () => write(base, 'bad', 'hello'), 400, 'INVALID_INPUT'],
      [
        'a body that is not UTF-8',
        () => write(base, 'bad', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])),
        400,
        'INVALID_INPUT',
      ],
      ['JSON of the wrong shape: an array of entries', () => write(base, 'bad', `[${text()}]`), 400, 'INVALID_INPUT'],
      ['JSON of the wrong shape: an empty batch', () => write(base, 'bad', { entries: [] }), 400, 'INVALID_INPUT'],
      [
        'JSON of the wrong shape: a batch with another member',
        () => write(base, 'bad', { entries: [next], expected: 'x' }),
        400,
        'INVALID_INPUT',
      ],
      ['a body over the limit', () => announceOversizeWrite(base, 'bad', MAX_BODY + 1), 413, 'INVALID_INPUT'],
      [
        'nesting deeper than the limit',
        () => write(base, 'bad', `{"entries":${'['.repeat(40)}${']'.repeat(40)}}`),
        400,
        'INVALID_INPUT',
      ],
      [
        'a __proto__ key',
        () => write(base, 'bad', text().replace('"payload":{', '"payload":{"__proto__":{"admin":true},')),
        400,
        'INVALID_INPUT',
      ],
      [
        'a duplicate key',
        () => write(base, 'bad', text().replace('"seqNumber":3', '"seqNumber":3,"seqNumber":3')),
        400,
        'INVALID_INPUT',
      ],
      [
        'a number beyond 2^53',
        () => write(base, 'bad', text().replace(/"timestamp":\d+/, '"timestamp":9007199254740993')),
        400,
        'INVALID_INPUT',
      ],
      ['an entry missing a field', () => write(base, 'bad', { ...next, payloadHash: undefined }), 400, 'INVALID_INPUT'],
      ['an entry of another log than the route names', () => write(base, 'other', next), 400, 'INVALID_INPUT'],
      [
        'a forged signature',
        () =>
          write(base, 'bad', {
            ...next,
            messageSignature: (next.messageSignature[0] === 'A' ? 'B' : 'A') + next.messageSignature.slice(1),
          }),
        422,
        'BAD_SIGNATURE',
      ],
      [
        'a payload its payloadHash does not match',
        () => write(base, 'bad', { ...next, payload: { i: 999 } }),
        422,
        'BAD_HASH',
      ],
      ['an append not extending the chain', () => write(base, 'bad', after), 409, 'CHAIN_CONFLICT'],
      [
        'a stale expected hash',
        () => write(base, 'bad', next, { expected: base2[0]!.entryHash }),
        409,
        'CHAIN_CONFLICT',
      ],
      [
        'an expected hash that is not a hash',
        () => write(base, 'bad', next, { expected: 'not-a-hash' }),
        400,
        'INVALID_INPUT',
      ],
      [
        'missing credentials',
        () => call(base, 'POST', `/writeLogEntry/${LOG}`, { as: null, body: next }),
        401,
        'UNAUTHENTICATED',
      ],
      [
        'a wrong token',
        () => call(base, 'POST', `/writeLogEntry/${LOG}`, { as: 'not-a-configured-token', body: next }),
        401,
        'UNAUTHENTICATED',
      ],
      ['another gateway appending to the chain', () => write(base, 'bad', next, { as: G2.id }), 403, 'FORBIDDEN'],
      [
        'another gateway reading an author-only log',
        () => call(base, 'GET', `/getLog/${LOG}`, { as: G2.id }),
        403,
        'FORBIDDEN',
      ],
      ['a seq that is not a positive integer', () => call(base, 'GET', `/getLogEntry/${LOG}/0`), 400, 'INVALID_INPUT'],
      [
        'a log id outside the id alphabet',
        () => call(base, 'GET', `/getLogLength/bad/gw!origin`),
        400,
        'INVALID_INPUT',
      ],
      [
        'a log id percent-encoded into one segment (routes take it as two)',
        () => call(base, 'GET', `/getLogLength/bad%2F${G1.id}`),
        404,
        'NOT_FOUND',
      ],
      ['an unknown route', () => call(base, 'GET', '/deleteLog/bad'), 404, 'NOT_FOUND'],
    ];
    for (const [what, send, status, code] of cases) {
      it(`${what}: ${status} ${code}`, async () => {
        const r = await send();
        expectProblem(r, status, code);
        if (status === 401) expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
        if (code === 'CHAIN_CONFLICT') expect(r.body.head).toEqual(headOf(base2));
        expect(await lengthOf(base, LOG)).toBe('2');
        expect(await lengthOf(base, `bad/${G2.id}`)).toBe('0'); // another client is served
      });
    }
    it('after every refusal the valid entry still lands', async () => {
      expect((await write(base, 'bad', next, { expected: base2[1]!.entryHash })).body.response_data).toBe('3');
    });
  });

  it('two appends racing on one head: exactly one lands, the other gets 409 and the new head', async () => {
    const entries = await chain('race', 2);
    await write(base, 'race', entries[0]);
    const [rival] = await chain('race', 1, { from: headOf(entries.slice(0, 1)), offset: 70 });
    const expected = entries[0]!.entryHash;
    const [a, b] = await Promise.all([
      write(base, 'race', entries[1], { expected }),
      write(base, 'race', rival, { expected }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    const winner = a.status === 200 ? entries[1]! : rival!;
    expect(loser.body.head).toEqual({ seq: 2, hash: winner.entryHash });
    expect(await lengthOf(base, `race/${G1.id}`)).toBe('2');
  });

  it(
    'a backup named in the profile takes over the chain, ' + "and the stale primary's append is fenced out with 409",
    async () => {
      const entries = await chain('fence', 3, { profile: 'backups:gw-backup' });
      await write(base, 'fence', { entries: entries.slice(0, 2) });
      // The backup holds the primary's identity (recovery-04 §6: bootstrapped with its state) and writes seq 3.
      expect((await write(base, 'fence', entries[2], { as: BACKUP.id, expected: entries[1]!.entryHash })).status).toBe(
        200,
      );
      const [stale] = await chain('fence', 1, {
        profile: 'backups:gw-backup',
        from: headOf(entries.slice(0, 2)),
        offset: 90,
      });
      const fenced = await write(base, 'fence', stale, { expected: entries[1]!.entryHash });
      expectProblem(fenced, 409, 'CHAIN_CONFLICT');
      expect(fenced.body.head).toEqual(headOf(entries));
      expectProblem(await write(base, 'fence', stale, { as: G2.id }), 403, 'FORBIDDEN');
    },
  );

  it(
    'access profiles decide who reads, on every read route; ' + 'openLogs lists only what the caller may read',
    async () => {
      for (const [s, profile] of [
        ['acl-private', 'author-only'],
        ['acl-shared', 'gateways:gw-destination'],
        ['acl-public', 'public-read'],
      ] as const) {
        expect((await write(base, s, { entries: await chain(s, 2, { profile }) })).status).toBe(200);
      }
      const reads = (s: string) =>
        [
          ['GET', `/getLogEntry/${s}/${G1.id}/1`],
          ['GET', `/getLogLength/${s}/${G1.id}`],
          ['GET', `/getLastEntry/${s}/${G1.id}`],
          ['GET', `/lastEntry/${s}/${G1.id}`],
          ['GET', `/getLog/${s}/${G1.id}`],
          ['GET', `/getHead/${s}/${G1.id}`],
          ['GET', `/getLogTexts/${s}/${G1.id}`],
          ['POST', `/getLogDiff/${s}/${G1.id}`],
        ] as const;
      const statuses = async (s: string, as: string) =>
        Promise.all(
          reads(s).map(([m, p]) =>
            call(base, m, p, { as, ...(m === 'POST' ? { body: { seq: 0, hash: GENESIS_HASH } } : {}) }).then(
              (r) => r.status,
            ),
          ),
        );
      const all = (n: number) => reads('x').map(() => n);
      expect(await statuses('acl-private', G2.id)).toEqual(all(403));
      expect(await statuses('acl-shared', G2.id)).toEqual(all(200));
      expect(await statuses('acl-shared', OBSERVER.id)).toEqual(all(403));
      expect(await statuses('acl-public', OBSERVER.id)).toEqual(all(200));
      const open = async (as: string) =>
        ((await call(base, 'GET', '/openLogs', { as })).body.response_data as { logId: string }[])
          .map((o) => o.logId)
          .filter((id) => id.startsWith('acl-'))
          .sort();
      expect(await open(OBSERVER.id)).toEqual([`acl-public/${G1.id}`]);
      expect(await open(G2.id)).toEqual([`acl-public/${G1.id}`, `acl-shared/${G1.id}`]);
      expect(await open(G1.id)).toEqual([`acl-private/${G1.id}`, `acl-public/${G1.id}`, `acl-shared/${G1.id}`]);
    },
  );

  it(
    'an access profile outside the grammar, ' + "or differing from the log's, is refused 400 and nothing is stored",
    async () => {
      expectProblem(
        await write(base, 'acl-bad', (await chain('acl-bad', 1, { profile: 'everyone' }))[0]),
        400,
        'INVALID_INPUT',
      );
      await write(base, 'acl-mix', (await chain('acl-mix', 1))[0]);
      const loosened = (await chain('acl-mix', 2, { profile: 'public-read' }))[1]!;
      expectProblem(await write(base, 'acl-mix', loosened), 400, 'INVALID_INPUT');
      expect(await lengthOf(base, `acl-bad/${G1.id}`)).toBe('0');
      expect(await lengthOf(base, `acl-mix/${G1.id}`)).toBe('1');
    },
  );
});
