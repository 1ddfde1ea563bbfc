// Verification of a whole chain: the first bad entry and why, never a throw on hostile input.
import { type ChainHead, EMPTY_HEAD, type LogEntry } from './entry.ts';
import { checkEntryContent, checkEntrySignature, type EntryFailure, type VerifyContext } from './seal.ts';

export type ChainFailure = EntryFailure | 'not-an-array' | 'gap' | 'broken-link' | 'foreign-entry';

export type ChainResult =
  | { ok: true; entries: LogEntry[]; head: ChainHead }
  | {
      ok: false;
      /** Index in the input of the first bad entry. */
      index: number;
      /** Its seqNumber, when it has a readable one. */
      seqNumber?: number;
      reason: ChainFailure;
      detail: string;
    };

export interface ChainExpectations {
  /** The chain continues this head (default: the chain starts at seq 1 from GENESIS_HASH). */
  from?: ChainHead;
  /** Every entry must belong to this session and be written by this author (one writer per chain). */
  sessionId?: string;
  author?: string;
}

/**
 * Verifies entries as one chain: each is well-formed, has the next seqNumber, links to the previous
 * entry's hash, has matching payload and entry hashes, a known author and a valid signature, and
 * shares the session and author of the first. Signatures are checked concurrently; the failure
 * reported is always the one with the lowest index.
 */
export async function verifyChain(
  values: unknown,
  ctx: VerifyContext,
  expect: ChainExpectations = {},
): Promise<ChainResult> {
  if (!Array.isArray(values))
    return { ok: false, index: 0, reason: 'not-an-array', detail: 'a chain is an array of entries' };
  let head = expect.from ?? EMPTY_HEAD;
  let sessionId = expect.sessionId;
  let author = expect.author;
  const checked: { entry: LogEntry; canonical?: string }[] = [];
  let failure: Extract<ChainResult, { ok: false }> | undefined;

  // Hostile input (an array or entry whose getters or proxy traps throw) is reported at the index
  // being read, as malformed, instead of escaping as an exception (never throws).
  try {
    for (let i = 0; i < values.length; i++) {
      const content = checkEntryContent(values[i]);
      if (!content.ok) {
        const seq = (values[i] as { seqNumber?: unknown } | null)?.seqNumber;
        failure = {
          ok: false,
          index: i,
          reason: content.reason,
          detail: content.detail,
          ...(typeof seq === 'number' ? { seqNumber: seq } : {}),
        };
        break;
      }
      const e = content.entry;
      sessionId ??= e.sessionId;
      author ??= e.author;
      if (e.sessionId !== sessionId || e.author !== author) {
        failure = {
          ok: false,
          index: i,
          seqNumber: e.seqNumber,
          reason: 'foreign-entry',
          detail: `seq ${e.seqNumber}: written by ${e.author} for ${e.sessionId}, not by ${author} for ${sessionId}`,
        };
        break;
      }
      if (e.seqNumber !== head.seq + 1) {
        failure = {
          ok: false,
          index: i,
          seqNumber: e.seqNumber,
          reason: 'gap',
          detail: `expected seq ${head.seq + 1}, found ${e.seqNumber}`,
        };
        break;
      }
      if (e.lastEntryHash !== head.hash) {
        failure = {
          ok: false,
          index: i,
          seqNumber: e.seqNumber,
          reason: 'broken-link',
          detail: `seq ${e.seqNumber}: lastEntryHash is not the hash of seq ${head.seq}`,
        };
        break;
      }
      checked.push({ entry: e, canonical: content.canonical });
      head = { seq: e.seqNumber, hash: e.entryHash };
    }
  } catch (err) {
    // Every completed iteration pushed one entry, so the entry being read is at checked.length.
    failure = { ok: false, index: checked.length, reason: 'malformed', detail: `unreadable entry (${String(err)})` };
  }

  const signatures = await Promise.all(checked.map((c) => checkEntrySignature(c.entry, c.canonical, ctx)));
  const bad = signatures.findIndex((s) => !s.ok);
  if (bad >= 0) {
    const s = signatures[bad] as Extract<(typeof signatures)[number], { ok: false }>;
    return { ok: false, index: bad, seqNumber: checked[bad]!.entry.seqNumber, reason: s.reason, detail: s.detail };
  }
  if (failure) return failure;
  return { ok: true, entries: checked.map((c) => c.entry), head };
}
