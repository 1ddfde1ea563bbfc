// The Log Storage API's read routes (recovery-04 §3.4 Figure 3): getLogEntry, getLogLength, getLogDiff,
// getLastEntry, getLog, the -01 alias lastEntry, and openLogs for recovery at boot. Each §3.4 function answers both
// at our two-segment path (`/getLog/:sessionId/:author`) and at the draft's own (`/getLog?log=…`, `/getLogDiff/:log`,
// `/getLogEntry/:id`): docs/log-storage-api.md, "Log ids in paths".
import type { Context } from 'hono';
import { SatpError } from '../kernel/errors.ts';
import { HASH_PATTERN } from '../kernel/hash.ts';
import type { LogDiff } from '../kernel/log-diff.ts';
import { entryIdParam, intParam, isObject, logIdParam, type NamedLog, parseBody, singleLogIdParam } from './input.ts';
import { fitReply, type LogApiApp, type LogApiEnv, ok, type RouteDeps } from './reply.ts';

const LOG = '/:sessionId/:author';

type Ctx = Context<LogApiEnv>;
/** The log a route names: from two path segments, or in the draft's forms from one value. */
const inPath = (c: Ctx): NamedLog => logIdParam(c.req.param('sessionId'), c.req.param('author'));
/** §3.4's getLogLength, getLastEntry and getLog take no log id; the `log` query parameter names it. */
const inQuery = (c: Ctx): NamedLog => singleLogIdParam(c.req.query('log'), 'the query parameter "log"');

export function registerReadRoutes(app: LogApiApp, deps: RouteDeps): void {
  const { store, guard } = deps;

  /** The named log, after checking the caller may read it. */
  const readable = async (c: Ctx, name: (c: Ctx) => NamedLog) => {
    const log = name(c);
    await guard.assertRead(log.logId, log.author, c.get('caller'));
    return log;
  };

  // getLogEntry(i, L): the entry with seqNumber i.
  const getLogEntry = async (c: Ctx, log: NamedLog, seqOf: () => number) => {
    await guard.assertRead(log.logId, log.author, c.get('caller'));
    const { logId } = log;
    const seq = seqOf();
    const entry = await store.getLogEntry(logId, seq);
    if (!entry) throw new SatpError('NOT_FOUND', `log ${logId} has no entry ${seq}`);
    return ok(c, entry);
  };
  app.get(`/getLogEntry${LOG}/:seq`, (c) => getLogEntry(c, inPath(c), () => intParam(c.req.param('seq'), 'seq', 1, 1)));
  app.get('/getLogEntry/:id', (c) => {
    const { log, seq } = entryIdParam(c.req.param('id'));
    return getLogEntry(c, log, () => seq);
  });

  // getLogLength(L): a string, as recovery-04 Figure 4 shows ("response_data": "2").
  for (const [path, name] of [
    [`/getLogLength${LOG}`, inPath],
    ['/getLogLength', inQuery],
  ] as const) {
    app.get(path, async (c) => {
      const { logId } = await readable(c, name);
      return ok(c, String(await store.getLogLength(logId)));
    });
  }

  // getLastEntry(L), and its -01 name lastEntry.
  for (const [path, name] of [
    [`/getLastEntry${LOG}`, inPath],
    [`/lastEntry${LOG}`, inPath],
    ['/getLastEntry', inQuery],
  ] as const) {
    app.get(path, async (c) => {
      const { logId } = await readable(c, name);
      const entry = await store.getLastEntry(logId);
      if (!entry) throw new SatpError('NOT_FOUND', `log ${logId} is empty`);
      return ok(c, entry);
    });
  }

  // getLog(L), paged: ?from=&to=&limit= (limit at most pageSize; the reply also bounded in size).
  const getLog = async (c: Ctx, name: (c: Ctx) => NamedLog) => {
    const { logId } = await readable(c, name);
    const from = intParam(c.req.query('from'), 'from', 1, 1);
    const to = intParam(c.req.query('to'), 'to', 1, Number.MAX_SAFE_INTEGER);
    const limit = Math.min(intParam(c.req.query('limit'), 'limit', 1, deps.pageSize), deps.pageSize);
    const length = await store.getLogLength(logId);
    const last = Math.min(to, length);
    const window = from > last ? [] : await store.getLog(logId, from, Math.min(last, from + limit - 1));
    const { items } = fitReply(window, deps.maxReplyChars);
    const reached = items.length === 0 ? from - 1 : items[items.length - 1]!.seqNumber;
    const more = reached < last;
    return ok(c, { entries: items, more, ...(more ? { next: reached + 1 } : {}) });
  };
  app.get(`/getLog${LOG}`, (c) => getLog(c, inPath));
  app.get('/getLog', (c) => getLog(c, inQuery));

  // getLogDiff(l1, l2): body {seq, hash[, limit]} is the caller's view of this log; kernel/log-diff.ts.
  const getLogDiff = async (c: Ctx, name: (c: Ctx) => NamedLog) => {
    const { logId } = await readable(c, name);
    const body = parseBody(c.get('rawBody'));
    if (!isObject(body) || Object.keys(body).some((k) => k !== 'seq' && k !== 'hash' && k !== 'limit')) {
      throw new SatpError('INVALID_INPUT', 'the body is {"seq": n, "hash": "<64 hex>", "limit"?: n}');
    }
    const { seq, hash, limit } = body;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
      throw new SatpError('INVALID_INPUT', 'seq must be an integer ≥ 0');
    if (typeof hash !== 'string' || !HASH_PATTERN.test(hash))
      throw new SatpError('INVALID_INPUT', 'hash must be 64 lowercase hex digits');
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1)) {
      throw new SatpError('INVALID_INPUT', 'limit must be an integer ≥ 1');
    }
    const diff: LogDiff = await store.getLogDiff(logId, { seq, hash }, Math.min(limit ?? deps.pageSize, deps.pageSize));
    if (diff.kind !== 'extends') return ok(c, diff);
    const { items, cut } = fitReply(diff.entries, deps.maxReplyChars);
    return ok(c, { kind: 'extends', entries: items, more: diff.more || cut });
  };
  app.post(`/getLogDiff${LOG}`, (c) => getLogDiff(c, inPath));
  app.post('/getLogDiff/:log', (c) => getLogDiff(c, (c) => singleLogIdParam(c.req.param('log'), 'the path')));

  // Logs whose session has not ended and that the caller may read: where recovery starts (recovery-04 §5).
  app.get('/openLogs', async (c) => {
    const caller = c.get('caller');
    const open = await store.listOpenLogs();
    const visible = [];
    for (const log of open) if (await guard.canRead(log.logId, log.author, caller)) visible.push(log);
    return ok(c, visible);
  });
}
