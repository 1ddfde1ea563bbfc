// A SessionLogStore whose logs are notarized on a shared ledger (recovery-04 §3.3, decentralized storage with the
// chain as notary): every append is published (its entry hashes, or the entries themselves) before the append
// returns, and the entries a RECOVER-UPDATE brings are checked against what was notarized before anything is
// stored. The notary is a port (LogNotary); ledgers/evm/notary.ts implements it on an EVM chain. docs/decentralized-
// log.md describes the modes, the crash window and the trust model.
import {
  type ChainHead,
  canonicalBody,
  type EntryBody,
  GENESIS_HASH,
  type LogEntry,
  parseLogId,
} from '../kernel/entry.ts';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../kernel/encoding.ts';
import { isSatpError, SatpError } from '../kernel/errors.ts';
import { sha256Hex } from '../kernel/hash.ts';
import { KeyedLock } from '../kernel/keyed-lock.ts';
import { verifyChain } from '../kernel/chain.ts';
import { checkEntryContent, type VerifyContext } from '../kernel/seal.ts';
import type { SessionLogStore } from '../kernel/ports.ts';
import { chainError, ownCopies } from './log-store.ts';

/** What one write to the notary did: its transaction, its gas, and whether it appended (false: already there). */
export interface NotaryWrite {
  /** Absent when nothing was sent (the batch was there already). */
  txHash?: string;
  gasUsed: bigint;
  appended: boolean;
}

/**
 * An append-only, write-once notary of log entry hashes, keyed by logId, seqNumbers from 1. Hashes are the entries'
 * own entryHash (64 lowercase hex digits). A write that does not start at the next free seq, or rewrites a slot,
 * is refused (rejects); re-sending what is already there is a no-op (appended: false).
 */
export interface LogNotary {
  /** The next free seq of the log: 1 when nothing is notarized. */
  head(logId: string): Promise<number>;
  /** The notarized hashes of seqs from..to (inclusive), cut at the log's end. */
  hashRange(logId: string, from: number, to: number): Promise<string[]>;
  /** Mode "hashes": notarizes the hashes of seqs firstSeq… */
  notarize(logId: string, firstSeq: number, hashes: readonly string[]): Promise<NotaryWrite>;
  /** Mode "entries": publishes the entries themselves (their hashes are notarized from their bytes). */
  publish(logId: string, firstSeq: number, entries: readonly LogEntry[]): Promise<NotaryWrite>;
  /** Mode "entries": every entry published for the log, in seq order (not verified: see logFromChain). */
  entries(logId: string): Promise<LogEntry[]>;
}

export type NotaryMode = 'hashes' | 'entries';

/** How an entry travels in mode "entries": its canonical body (what its hash and signature cover) ‖ signature. */
export function entryBytes(entry: LogEntry): Uint8Array {
  const { entryHash: _h, messageSignature, ...body } = entry;
  const text = utf8(canonicalBody(body as EntryBody));
  const signature = fromBase64Url(messageSignature);
  if (signature.length !== 64) throw new SatpError('INVALID_INPUT', 'an entry signature is 64 bytes');
  const out = new Uint8Array(text.length + 64);
  out.set(text, 0);
  out.set(signature, text.length);
  return out;
}

/**
 * The entry whose bytes (entryBytes) these are: the body parsed, its entryHash the SHA-256 of the body bytes, its
 * messageSignature the last 64 bytes. Nothing is verified here; a chain of them is verified by verifyChain.
 */
export function entryFromBytes(bytes: Uint8Array): LogEntry {
  if (bytes.length <= 64) throw new SatpError('INVALID_INPUT', 'entry bytes shorter than a signature');
  const body = bytes.subarray(0, bytes.length - 64);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(body));
  } catch (err) {
    throw new SatpError('INVALID_INPUT', `entry bytes are not a JSON body: ${String(err)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new SatpError('INVALID_INPUT', 'entry bytes are not a JSON object');
  return {
    ...(parsed as EntryBody),
    entryHash: sha256Hex(body),
    messageSignature: toBase64Url(bytes.subarray(bytes.length - 64)),
  };
}

export interface NotarizedStoreOptions {
  mode: NotaryMode;
  /** Most entries in one notary write (default 16 in mode entries, 256 in mode hashes); longer runs are split. */
  maxBatch?: number;
}

/** A SessionLogStore over another, with its appends notarized. */
export interface NotarizedStore extends SessionLogStore {
  readonly notary: LogNotary;
  readonly mode: NotaryMode;
  /**
   * Publishes what `logId` holds beyond what is notarized (after a crash between an append and its publication),
   * and returns the log's notarized length (its last notarized seq). Rejects LOG_DIVERGED when the notary holds
   * another hash than the store at some seq, or the store's tail does not link to the notarized head;
   * STORAGE_FAILURE when the notary cannot be read or written.
   */
  catchUp(logId: string): Promise<number>;
  /**
   * catchUp for every open log this store holds that the given author writes (its own logs: the peers' copies are
   * theirs to publish). For boot, before the gateway resumes; otherwise each log catches up on its next append.
   */
  catchUpOpenLogs(author: string): Promise<{ logId: string; notarized: number }[]>;
}

const PAGE = 64;

export function notarizedStore(inner: SessionLogStore, notary: LogNotary, o: NotarizedStoreOptions): NotarizedStore {
  const lock = new KeyedLock();
  const maxBatch = o.maxBatch ?? (o.mode === 'entries' ? 16 : 256);
  /** The notarized head (last seq and its hash) of each log, as far as this process knows; absent: read it. */
  const notarized = new Map<string, ChainHead>();

  const notarizedHead = async (logId: string): Promise<ChainHead> => {
    const known = notarized.get(logId);
    if (known !== undefined) return known;
    const seq = (await notaryCall(() => notary.head(logId), 'read the notary')) - 1;
    const hash = seq === 0 ? GENESIS_HASH : (await notaryCall(() => notary.hashRange(logId, seq, seq), 'read')).at(0);
    if (hash === undefined) throw new SatpError('STORAGE_FAILURE', `the notary of ${logId} has no hash at seq ${seq}`);
    const head = { seq, hash };
    notarized.set(logId, head);
    return head;
  };

  /**
   * LOG_DIVERGED unless `entry` links to the notarized head when it is the next entry after it: the notary checks
   * only that seqs are contiguous (in mode hashes it cannot see the links), so the store checks the link, and
   * never publishes a chain that forks from what was notarized (a store rewritten behind this wrapper's back).
   */
  const checkLink = (logId: string, at: ChainHead, entry: { seqNumber?: unknown; lastEntryHash?: unknown }) => {
    if (entry.seqNumber !== at.seq + 1 || entry.lastEntryHash === at.hash) return;
    throw new SatpError(
      'LOG_DIVERGED',
      `log ${logId}: seq ${at.seq + 1} does not link to the notarized seq ${at.seq}`,
      {
        detail: { logId, seq: at.seq, ours: entry.lastEntryHash, theirs: at.hash, against: 'notary' },
      },
    );
  };

  /** Publishes `entries` (consecutive, from the notarized head on) in batches; updates the known head. */
  const publish = async (logId: string, entries: readonly LogEntry[]): Promise<void> => {
    for (let i = 0; i < entries.length; i += maxBatch) {
      const batch = entries.slice(i, i + maxBatch);
      const firstSeq = batch[0]!.seqNumber;
      try {
        if (o.mode === 'entries') await notary.publish(logId, firstSeq, batch);
        else
          await notary.notarize(
            logId,
            firstSeq,
            batch.map((e) => e.entryHash),
          );
      } catch (err) {
        notarized.delete(logId); // unknown now: read it again before the next write
        const held = await divergence(logId, batch).catch(() => undefined);
        if (held) throw held;
        throw new SatpError('STORAGE_FAILURE', `log ${logId}: seq ${firstSeq}… stored but not notarized`, {
          cause: err,
          detail: { logId, firstSeq, count: batch.length },
        });
      }
      const last = batch[batch.length - 1]!;
      notarized.set(logId, { seq: last.seqNumber, hash: last.entryHash });
    }
  };

  /** LOG_DIVERGED if the notary holds another hash than `entries` at one of their seqs. */
  const divergence = async (logId: string, entries: readonly LogEntry[]): Promise<SatpError | undefined> => {
    const first = entries[0]!.seqNumber;
    const held = await notary.hashRange(logId, first, first + entries.length - 1);
    for (let i = 0; i < held.length; i++) {
      if (held[i] !== entries[i]!.entryHash)
        return new SatpError('LOG_DIVERGED', `log ${logId}: the notary holds another entry at seq ${first + i}`, {
          detail: { logId, seq: first + i, ours: entries[i]!.entryHash, theirs: held[i], against: 'notary' },
        });
    }
    return undefined;
  };

  /** Under the log's lock: publishes the stored entries past the notarized head; returns the notarized head. */
  const catchUpLocked = async (logId: string): Promise<ChainHead> => {
    let at = await notarizedHead(logId);
    const stored = (await inner.getHead(logId))?.seq ?? 0;
    // A notary ahead of the store (another writer of the same log, e.g. a backup that took over) is not judged
    // here: the next publication of an entry it holds is a no-op if the entry is the same, LOG_DIVERGED if not.
    for (let from = at.seq + 1; from <= stored; ) {
      const page = await inner.readPage(logId, from, PAGE);
      if (page.entries.length === 0) break;
      checkLink(logId, at, page.entries[0]!);
      await publish(logId, page.entries);
      from += page.entries.length;
      at = await notarizedHead(logId);
    }
    return at;
  };

  const store: NotarizedStore = {
    notary,
    mode: o.mode,
    catchUp: (logId) => lock.run(logId, async () => (await catchUpLocked(logId)).seq),
    async catchUpOpenLogs(author) {
      const out: { logId: string; notarized: number }[] = [];
      for (const log of await inner.listOpenLogs()) {
        if (log.author !== author) continue;
        out.push({ logId: log.logId, notarized: await store.catchUp(log.logId) });
      }
      return out;
    },

    async writeLogEntries(handed) {
      // Copied before anything awaits: what is stored and what the notary gets are what the inner store checked.
      const entries = Array.isArray(handed) ? ownCopies(handed) : handed;
      const first = entries[0] as { sessionId?: unknown; author?: unknown } | undefined;
      if (typeof first?.sessionId !== 'string' || typeof first.author !== 'string')
        return inner.writeLogEntries(entries); // bad input: the inner store says why
      const logId = `${first.sessionId}/${first.author}`;
      return lock.run(logId, async () => {
        // The tail a crash left unpublished goes first, so the notary never has a gap.
        const at = await catchUpLocked(logId);
        checkLink(logId, at, first as { seqNumber?: unknown; lastEntryHash?: unknown });
        const head: ChainHead = await inner.writeLogEntries(entries);
        // The inner store accepted them: they are entries of this log, from seq head.seq - n + 1 to head.seq.
        await publish(logId, entries as readonly LogEntry[]);
        return head;
      });
    },

    async updateLog(logId, handed) {
      const source = Array.isArray(handed) ? ownCopies(handed) : handed;
      // Before anything is stored: every source entry at a seq the notary holds, and the entry the source links
      // to, must be the notarized one. Malformed sources are left to the inner store, which refuses them.
      if (Array.isArray(source) && source.length > 0) await checkAgainstNotary(logId, source);
      return inner.updateLog(logId, source);
    },

    getHead: (logId) => inner.getHead(logId),
    listOpenLogs: () => inner.listOpenLogs(),
    verifyLog: (logId) => inner.verifyLog(logId),
    readPage: (logId, from, limit, maxChars) => inner.readPage(logId, from, limit, maxChars),
  };

  const checkAgainstNotary = async (logId: string, source: readonly unknown[]): Promise<void> => {
    const hashes: { seq: number; hash: string }[] = [];
    for (const value of source) {
      const c = checkEntryContent(value);
      if (!c.ok) {
        throw new SatpError(c.reason === 'malformed' ? 'INVALID_INPUT' : 'BAD_HASH', `invalid entry: ${c.detail}`);
      }
      hashes.push({ seq: c.entry.seqNumber, hash: c.entry.entryHash });
    }
    const first = (source[0] as LogEntry).seqNumber;
    if (first > 1) hashes.unshift({ seq: first - 1, hash: (source[0] as LogEntry).lastEntryHash });
    const from = hashes[0]!.seq;
    const to = hashes[hashes.length - 1]!.seq;
    const held = await notaryCall(() => notary.hashRange(logId, from, to), 'read the notary');
    for (const { seq, hash } of hashes) {
      const notarizedHash = held[seq - from];
      if (notarizedHash !== undefined && notarizedHash !== hash)
        throw new SatpError('LOG_DIVERGED', `log ${logId}: the source differs from the notarized log at seq ${seq}`, {
          // ours/theirs as the store's own LOG_DIVERGED: the gateway's driver reads them for RECOVER-DISPUTE.
          detail: { logId, seq, ours: notarizedHash, theirs: hash, against: 'notary' },
        });
    }
  };

  return store;
}

/**
 * Recovery-04 §5.1 step 2 with the peer down: the peer's log `logId` rebuilt from the chain alone (mode entries),
 * verified as one chain (content, hashes, links, signatures with `ctx`'s keys). Rejects as the store would
 * (BAD_SIGNATURE, CHAIN_CONFLICT, …) when what was published does not verify.
 */
export async function logFromChain(notary: LogNotary, logId: string, ctx: VerifyContext): Promise<LogEntry[]> {
  const entries = await notaryCall(() => notary.entries(logId), 'read the notary');
  const verified = await verifyChain(entries, ctx, parseLogId(logId) ?? {});
  if (!verified.ok) throw chainError(verified);
  return verified.entries;
}

async function notaryCall<T>(call: () => Promise<T>, what: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isSatpError(err)) throw err;
    throw new SatpError('STORAGE_FAILURE', `could not ${what}: ${String(err)}`, { cause: err });
  }
}
