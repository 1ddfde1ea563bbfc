// The two driver-level reads a remote LogStore driver needs (client.ts): a log's stored head and
// its stored texts, verbatim. The reader's own LogStore verifies them, so a client can name the first bad
// entry of a corrupted server copy (docs/log-storage-api.md, getHead) instead of getting only a 503 from getLog.
import type { Context } from 'hono';
import { intParam, logIdParam } from './input.ts';
import { fitReply, type LogApiApp, type LogApiEnv, ok, type RouteDeps } from './reply.ts';

const LOG = '/:sessionId/:author';

export function registerDriverRoutes(app: LogApiApp, deps: RouteDeps): void {
  const { store, guard } = deps;

  const readable = async (c: Context<LogApiEnv>) => {
    const log = logIdParam(c.req.param('sessionId'), c.req.param('author'));
    await guard.assertRead(log.logId, log.author, c.get('caller'));
    return log;
  };

  // The head as stored: {seq, hash, open} (open: no `end` entry yet), or null for an empty log.
  app.get(`/getHead${LOG}`, async (c) => {
    const { logId } = await readable(c);
    const head = await store.driver.head(logId);
    return ok(c, head ? { seq: head.seq, hash: head.hash, open: head.open } : null);
  });

  // The stored texts of seqNumbers from..to, unverified, paged like getLog. Pages are windows of seq
  // numbers, so consecutive pages concatenate to exactly what one driver read of from..to returns.
  app.get(`/getLogTexts${LOG}`, async (c) => {
    const { logId } = await readable(c);
    const from = intParam(c.req.query('from'), 'from', 1, 1);
    const to = intParam(c.req.query('to'), 'to', 1, Number.MAX_SAFE_INTEGER);
    const limit = Math.min(intParam(c.req.query('limit'), 'limit', 1, deps.pageSize), deps.pageSize);
    const last = Math.min(to, (await store.driver.head(logId))?.seq ?? 0);
    if (from > last) return ok(c, { texts: [], more: false });
    const end = Math.min(last, from + limit - 1);
    const texts = await store.driver.read(logId, from, end);
    // A page cut for size ends at a known seq only if the window had no holes; otherwise send the
    // window whole (pageSize bounds it) rather than guess where the next page starts.
    const fitted = fitReply(texts, deps.maxReplyChars);
    const cut = fitted.cut && texts.length === end - from + 1;
    const sent = cut ? fitted.items : texts;
    const reached = cut ? from + sent.length - 1 : end;
    const more = reached < last;
    return ok(c, { texts: sent, more, ...(more ? { next: reached + 1 } : {}) });
  });
}
