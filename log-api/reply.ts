// What the Log Storage API's route modules share: the Hono env, their dependencies, and the success
// reply of recovery-04 §3.4.1 (`{"success": true, "response_data": …}` with 200).
import type { Context, Hono } from 'hono';
import type { LogStore } from '../storage/log-store.ts';
import type { Caller, LogAccessGuard } from './guard.ts';

export interface LogApiEnv {
  Variables: {
    /** The authenticated caller. */
    caller: Caller;
    /** The raw request body (empty for GET), read once, bounded by the body limit. */
    rawBody: Uint8Array;
  };
}

export type LogApiApp = Hono<LogApiEnv>;

export interface RouteDeps {
  store: LogStore;
  guard: LogAccessGuard;
  /** Most entries in one getLog or getLogDiff reply. */
  pageSize: number;
  /** Most characters of entry JSON in one reply; at least one entry is always sent. */
  maxReplyChars: number;
}

/** The 200 reply; recovery-04 Figure 4 shows `Cache-Control: private`, and a log changes, so no-store too. */
export function ok(c: Context<LogApiEnv>, data: unknown): Response {
  c.header('cache-control', 'private, no-store');
  return c.json({ success: true, response_data: data }, 200);
}

/**
 * The longest prefix of `items` whose JSON fits in `maxChars` characters, but at least one item:
 * a reply is bounded, and a client paging through a log always advances.
 */
export function fitReply<T>(items: readonly T[], maxChars: number): { items: T[]; cut: boolean } {
  let size = 0;
  for (let i = 0; i < items.length; i++) {
    size += JSON.stringify(items[i]).length + 1;
    if (size > maxChars && i > 0) return { items: items.slice(0, i), cut: true };
  }
  return { items: [...items], cut: false };
}
