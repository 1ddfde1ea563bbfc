// The Log Storage API's write routes: writeLogEntry (recovery-04 §3.4), its -01 name saveLogEntry, and
// the -01 updateLog. Appends are conditional on the log's head, which fences a stale primary
// (docs/log-storage-api.md, writeLogEntry). writeLogEntry also answers at §3.4's `/writeLogEntry/:logId`.
import type { Context } from 'hono';
import { GENESIS_HASH, type ChainHead } from '../kernel/entry.ts';
import { isSatpError, SatpError } from '../kernel/errors.ts';
import { HASH_PATTERN } from '../kernel/hash.ts';
import type { Json } from '../kernel/json.ts';
import { checkEntriesFor } from './guard.ts';
import { isObject, logIdParam, type NamedLog, parseBody, singleLogIdParam } from './input.ts';
import { type LogApiApp, type LogApiEnv, ok, type RouteDeps } from './reply.ts';

const LOG = '/:sessionId/:author';

/** The request header naming the head an append expects: the lastEntryHash the log must still end with. */
export const EXPECTED_HEAD_HEADER = 'X-Expected-Last-Hash';

/** A write body: one entry object, or `{"entries": [entry, …]}` appended atomically. */
function entriesOf(body: Json): Json[] {
  if (isObject(body) && 'entries' in body) {
    const { entries } = body;
    if (Object.keys(body).length !== 1 || !Array.isArray(entries) || entries.length === 0) {
      throw new SatpError(
        'INVALID_INPUT',
        'a batch is {"entries": [entry, …]} with at least one entry and no other member',
      );
    }
    return entries;
  }
  if (isObject(body)) return [body];
  throw new SatpError('INVALID_INPUT', 'the body is one entry object or {"entries": [entry, …]}');
}

/** A CHAIN_CONFLICT that tells the writer where the log stands, so it can stop (fenced) or catch up. */
export class HeadConflict extends SatpError {
  readonly head: ChainHead;
  constructor(message: string, head: ChainHead) {
    super('CHAIN_CONFLICT', message);
    this.head = head;
  }
}

export function registerWriteRoutes(app: LogApiApp, deps: RouteDeps): void {
  const { store, guard } = deps;

  const headOf = async (logId: string): Promise<ChainHead> => {
    const h = await store.getHead(logId);
    return h ? { seq: h.seq, hash: h.hash } : { seq: 0, hash: GENESIS_HASH };
  };

  /** The named log, after checking the caller may write it; with the log's established profile. */
  const writable = async (c: Context<LogApiEnv>, named?: NamedLog) => {
    const log = named ?? logIdParam(c.req.param('sessionId'), c.req.param('author'));
    return { ...log, established: await guard.assertWrite(log.logId, log.author, c.get('caller')) };
  };

  /** The body's entries, each checked to belong to the log (and its profile) before the store sees them. */
  const entriesFor = (c: Context<LogApiEnv>, log: Awaited<ReturnType<typeof writable>>) => {
    const entries = entriesOf(parseBody(c.get('rawBody')));
    checkEntriesFor(entries, log.sessionId, log.author, log.established);
    return entries;
  };

  // writeLogEntry(e, L) and its -01 name saveLogEntry, and §3.4's `/writeLogEntry/:logId` (the log id in one
  // segment, its "/" as %2F). Replies the new log length, a string as in recovery-04 Figure 4 ("the entry index of
  // the last log").
  for (const [path, named] of [
    ...['writeLogEntry', 'saveLogEntry'].map((name) => [`/${name}${LOG}`, undefined] as const),
    ['/writeLogEntry/:logId', (c: Context<LogApiEnv>) => singleLogIdParam(c.req.param('logId'), 'the path')] as const,
  ]) {
    app.post(path, async (c) => {
      const log = await writable(c, named?.(c));
      const { logId } = log;
      const expected = c.req.header(EXPECTED_HEAD_HEADER);
      if (expected !== undefined) {
        // A precondition, evaluated before the body is looked at (as RFC 9110 §13.2.2 orders them):
        // the log must still end at the expected head. The store checks again atomically (the first
        // entry's lastEntryHash against the head, under the log's lock); this refuses early.
        if (!HASH_PATTERN.test(expected))
          throw new SatpError('INVALID_INPUT', `${EXPECTED_HEAD_HEADER} must be 64 lowercase hex digits`);
        const head = await headOf(logId);
        if (head.hash !== expected)
          throw new HeadConflict(`log ${logId} moved: its head is seq ${head.seq}, not the expected one`, head);
      }
      const entries = entriesFor(c, log);
      // The expectation must be what the entries link to, so the store's atomic check covers it.
      if (expected !== undefined && (entries[0] as { lastEntryHash?: unknown }).lastEntryHash !== expected) {
        throw new HeadConflict(
          `the first entry does not link to the expected head ${expected.slice(0, 12)}…`,
          await headOf(logId),
        );
      }
      try {
        const head = await store.writeLogEntries(entries);
        return ok(c, String(head.seq));
      } catch (err) {
        if (isSatpError(err, 'CHAIN_CONFLICT')) throw new HeadConflict(err.message, await headOf(logId));
        throw err;
      }
    });
  }

  // updateLog(l1, l2) (-01): brings this log up to date from entries of the same chain held elsewhere.
  // Replies, as -01 says, the index of the last common entry: the log's length before the update.
  app.post(`/updateLog${LOG}`, async (c) => {
    const log = await writable(c);
    const { logId } = log;
    const entries = entriesFor(c, log);
    try {
      const result = await store.updateLog(logId, entries);
      return ok(c, String(result.head.seq - result.appended.length));
    } catch (err) {
      if (isSatpError(err, 'CHAIN_CONFLICT')) throw new HeadConflict(err.message, await headOf(logId));
      throw err;
    }
  });
}
