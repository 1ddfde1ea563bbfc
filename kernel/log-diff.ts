// getLogDiff (recovery-04 §3), defined precisely; docs/log-diff.md explains it. Pure.
import { type ChainHead, GENESIS_HASH, type LogEntry } from './entry.ts';

/**
 * What one chain holds beyond another party's view of it.
 *
 * - `extends`: the view is a prefix of the chain; `entries` are the chain's entries after it, in
 *   order (empty when both are equal). `more` is true when a limit cut the list short.
 * - `view-longer`: the view claims entries the chain does not have: the other party knows more.
 * - `diverged`: the chain's entry at the view's seqNumber has another hash: the two copies of one
 *   single-writer chain disagree, which only tampering or a bug can cause (RECOVER-DISPUTE).
 */
export type LogDiff =
  | { kind: 'extends'; entries: LogEntry[]; more: boolean }
  | { kind: 'view-longer'; length: number }
  | { kind: 'diverged'; seq: number; ours: string; theirs: string };

/**
 * The difference between `chain` (entries 1..n of one chain, in order) and `view` (another party's
 * head of the same chain: "I hold entries 1..view.seq, the last has hash view.hash").
 */
export function getLogDiff(chain: readonly LogEntry[], view: ChainHead, limit = Infinity): LogDiff {
  if (view.seq > chain.length) return { kind: 'view-longer', length: chain.length };
  const ours = view.seq === 0 ? GENESIS_HASH : chain[view.seq - 1]!.entryHash;
  if (ours !== view.hash) return { kind: 'diverged', seq: view.seq, ours, theirs: view.hash };
  const end = Math.min(chain.length, view.seq + limit);
  return { kind: 'extends', entries: chain.slice(view.seq, end), more: end < chain.length };
}
