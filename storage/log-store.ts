// The LogStore: recovery-04 §3 log primitives over a driver, validating everything before it is stored.
import {
  type ChainHead,
  EMPTY_HEAD,
  GENESIS_HASH,
  isEndEntry,
  type LogEntry,
  logIdOf,
  parseLogId,
} from '../kernel/entry.ts';
import { SatpError } from '../kernel/errors.ts';
import {
  checkEntryContent,
  checkEntrySignature,
  entryFromSealedText,
  deepFreeze,
  isDeepFrozen,
  sealedForm,
  sealedText,
  type VerifyContext,
} from '../kernel/seal.ts';
import { type ChainResult, keysInForce, verifyChain } from '../kernel/chain.ts';
import { keyAt, type Succession, takeoverOf } from '../kernel/takeover.ts';
import { getLogDiff, type LogDiff } from '../kernel/log-diff.ts';
import type { LogStoreDriver, StoredHead } from './driver.ts';
import { KeyedLock } from '../kernel/keyed-lock.ts';

export interface LogStoreOptions extends VerifyContext {
  /** Most entries in one atomic append. */
  maxBatch?: number;
}

export interface OpenLog {
  logId: string;
  sessionId: string;
  author: string;
  head: ChainHead;
}

/**
 * What updateLog did: the entries it appended, the log's head after, and the seqNumber of the source's last entry
 * (0 if empty).
 */
export type UpdateResult = { appended: LogEntry[]; head: ChainHead; pageEnd: number };

/** A page of one log: its entries from a seqNumber on, and whether the log holds more after them. */
export type Page = { entries: LogEntry[]; more: boolean };

const NO_SUCCESSIONS: readonly Succession[] = Object.freeze([]);

const SIGNATURE_FAILURES = { 'unknown-author': 'UNKNOWN_AUTHOR', 'bad-signature': 'BAD_SIGNATURE' } as const;

export class LogStore {
  readonly driver: LogStoreDriver;
  readonly #ctx: VerifyContext;
  readonly #maxBatch: number;
  readonly #lock = new KeyedLock();
  /**
   * Entries updateLog has just verified in full (content, links, signatures with this store's keys) and
   * frozen, on their way through writeLogEntries: checking them a second time would double the cost of
   * recovery (verifying a signature is the costly part). Frozen, so they are still what was verified. Each with
   * the text to store: the canonical text it was verified over, in the form its author's store keeps
   * (sealedForm), so the copy holds the author's bytes and no second serialization is made.
   */
  readonly #verified = new WeakMap<object, string>();
  /**
   * The takeovers of each open log this store has seen (kernel/takeover.ts), kept only when a successor authority
   * is configured: which key signs from which seq. Filled when a log is first appended to or verified (a log that
   * already holds entries is read once), updated by the takeovers appended here, dropped when the log ends.
   */
  readonly #successions = new Map<string, readonly Succession[]>();

  constructor(driver: LogStoreDriver, options: LogStoreOptions) {
    this.driver = driver;
    this.#ctx = {
      keys: options.keys,
      verifier: options.verifier,
      ...(options.successor ? { successor: options.successor } : {}),
    };
    this.#maxBatch = options.maxBatch ?? 1024;
  }

  get capabilities(): LogStoreDriver['capabilities'] {
    return this.driver.capabilities;
  }

  /** writeLogEntry(e, L): appends one entry to the chain it names (sessionId/author). */
  writeLogEntry(entry: unknown): Promise<ChainHead> {
    return this.writeLogEntries([entry]);
  }

  /**
   * Appends entries of one chain atomically: all are stored, durably where the driver is durable,
   * or none is. Refused with a SatpError and nothing stored: INVALID_INPUT (shape, size, mixed
   * chains), BAD_HASH, UNKNOWN_AUTHOR, BAD_SIGNATURE, CHAIN_CONFLICT (does not extend the chain,
   * or the chain has ended).
   */
  async writeLogEntries(entries: unknown): Promise<ChainHead> {
    if (!Array.isArray(entries) || entries.length === 0)
      throw new SatpError('INVALID_INPUT', 'expected a non-empty array of entries');
    if (entries.length > this.#maxBatch)
      throw new SatpError('INVALID_INPUT', `more than ${this.#maxBatch} entries in one append`);
    const checked: LogEntry[] = [];
    const canonicals: (string | undefined)[] = [];
    const verified: boolean[] = [];
    for (const value of ownCopies(entries)) {
      if (value !== null && typeof value === 'object' && this.#verified.has(value)) {
        checked.push(value as LogEntry);
        canonicals.push(undefined);
        verified.push(true);
        continue;
      }
      verified.push(false);
      const c = checkEntryContent(value);
      if (!c.ok)
        throw new SatpError(c.reason === 'malformed' ? 'INVALID_INPUT' : 'BAD_HASH', `invalid entry: ${c.detail}`);
      checked.push(c.entry);
      canonicals.push(c.canonical);
    }
    const first = checked[0]!;
    const logId = logIdOf(first.sessionId, first.author);
    if (checked.some((e) => e.sessionId !== first.sessionId || e.author !== first.author)) {
      throw new SatpError('INVALID_INPUT', 'one append takes entries of one chain (one session, one author)');
    }
    // The key in force for each entry: the author's, or a successor's after a takeover (kernel/takeover.ts).
    // Entries updateLog verified come with their takeovers judged already.
    const before = await this.#successionsOf(logId);
    const start = keyAt(before, first.seqNumber - 1, this.#ctx.keys(first.author));
    const forced = await keysInForce(checked, start, this.#ctx, (i) => verified[i]!);
    if (forced.refused) throw new SatpError('UNKNOWN_AUTHOR', forced.refused.detail);
    const { signers, successions: added } = forced;
    const sigs = await Promise.all(
      checked.map((e, i) =>
        verified[i] ? ({ ok: true } as const) : checkEntrySignature(e, canonicals[i], this.#ctx, signers[i]),
      ),
    );
    for (const s of sigs) {
      if (!s.ok)
        throw new SatpError(
          SIGNATURE_FAILURES[s.reason as keyof typeof SIGNATURE_FAILURES] ?? 'INVALID_INPUT',
          s.detail,
        );
    }
    return this.#lock.run(logId, async () => {
      // A takeover appended here while these entries were checked: they were checked against the keys before it.
      if (this.#successions.has(logId) && this.#successions.get(logId) !== before)
        throw new SatpError('CHAIN_CONFLICT', `log ${logId} was taken over while the append was checked`);
      const head = (await this.driver.head(logId)) ?? { ...EMPTY_HEAD, open: true };
      if (!head.open)
        throw new SatpError('CHAIN_CONFLICT', `log ${logId} has ended at seq ${head.seq}`, { detail: { head } });
      let at: ChainHead = head;
      for (let i = 0; i < checked.length; i++) {
        const e = checked[i]!;
        if (e.seqNumber !== at.seq + 1 || e.lastEntryHash !== at.hash) {
          throw new SatpError(
            'CHAIN_CONFLICT',
            `seq ${e.seqNumber} does not extend log ${logId}: ` +
              `expected seq ${at.seq + 1} after hash ${at.hash.slice(0, 12)}…`,
            { detail: { expected: { seq: at.seq + 1, lastEntryHash: at.hash } } },
          );
        }
        if (isEndEntry(e) && i !== checked.length - 1) {
          throw new SatpError('CHAIN_CONFLICT', `seq ${e.seqNumber} ends log ${logId}; nothing may follow it`);
        }
        at = { seq: e.seqNumber, hash: e.entryHash };
      }
      const last = checked[checked.length - 1]!;
      const next: StoredHead = { seq: last.seqNumber, hash: last.entryHash, open: !isEndEntry(last) };
      const texts = checked.map((e, i) => sealedText(e) ?? this.#verified.get(e) ?? storedText(e, canonicals[i]));
      await this.driver.append(logId, { seq: head.seq, hash: head.hash }, texts, next);
      if (this.#ctx.successor) {
        if (!next.open) this.#successions.delete(logId);
        else if (added.length > 0) this.#successions.set(logId, [...before, ...added]);
      }
      return { seq: next.seq, hash: next.hash };
    });
  }

  /** getLogEntry(i, L): entry seqNumber `seq` of log `logId`, or undefined. */
  async getLogEntry(logId: string, seq: number): Promise<LogEntry | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) throw new SatpError('INVALID_INPUT', 'seq must be a positive integer');
    const [text] = await this.driver.read(logId, seq, seq);
    return text === undefined ? undefined : parseStored(text, logId);
  }

  /** getLogLength(L): how many entries the log holds (its last seqNumber). */
  async getLogLength(logId: string): Promise<number> {
    return (await this.driver.head(logId))?.seq ?? 0;
  }

  async getHead(logId: string): Promise<StoredHead | undefined> {
    return this.driver.head(logId);
  }

  /** getLastEntry(L): the log's last entry, or undefined if empty. */
  async getLastEntry(logId: string): Promise<LogEntry | undefined> {
    const head = await this.driver.head(logId);
    return head ? this.getLogEntry(logId, head.seq) : undefined;
  }

  /** getLog(L): the whole log, or the range from..to. */
  async getLog(logId: string, from = 1, to = Number.MAX_SAFE_INTEGER): Promise<LogEntry[]> {
    const texts = await this.driver.read(logId, from, to);
    return texts.map((t) => parseStored(t, logId));
  }

  /**
   * Entries `from`…, at most `limit` of them and, past the first, at most `maxChars` characters of stored
   * text (one entry alone always fits, so a page always moves on); `more` says the log holds more after them.
   */
  async readPage(logId: string, from: number, limit: number, maxChars = Infinity): Promise<Page> {
    if (!Number.isSafeInteger(from) || from < 1)
      throw new SatpError('INVALID_INPUT', 'from must be a positive integer');
    const length = (await this.driver.head(logId))?.seq ?? 0;
    if (from > length || limit < 1) return { entries: [], more: from <= length };
    const to = Math.min(length, from + limit - 1);
    const texts = await this.driver.read(logId, from, to);
    let chars = 0;
    let end = 0;
    while (end < texts.length && (end === 0 || chars + texts[end]!.length <= maxChars)) chars += texts[end++]!.length;
    // The page goes to a peer, who checks every entry in full: here its texts need only be as they were written.
    const entries = texts.slice(0, end).map((t) => entryFromSealedText(t) ?? parseStored(t, logId));
    return { entries, more: from + end - 1 < length };
  }

  /**
   * getLogDiff: what log `logId` holds beyond another party's view of it (docs/log-diff.md).
   * Reads only the entry at view.seq and those after it, so the cost is linear in the difference.
   */
  async getLogDiff(logId: string, view: ChainHead, limit = Infinity, maxChars = Infinity): Promise<LogDiff> {
    if (!Number.isSafeInteger(view.seq) || view.seq < 0)
      throw new SatpError('INVALID_INPUT', 'view.seq must be a non-negative integer');
    const head = await this.driver.head(logId);
    const length = head?.seq ?? 0;
    if (view.seq > length) return { kind: 'view-longer', length };
    let to = Number.isFinite(limit) ? Math.min(length, view.seq + limit) : length;
    const from = Math.max(1, view.seq);
    let texts = await this.driver.read(logId, from, to);
    // maxChars bounds the size of the entries returned (a page must fit one message): entries are taken in
    // order while their stored texts fit, and always at least one, since one entry alone always fits.
    if (Number.isFinite(maxChars)) {
      const first = view.seq === 0 ? 0 : 1; // texts[0] is the view's own entry when view.seq > 0
      let chars = 0;
      let end = first;
      while (end < texts.length && (end === first || chars + texts[end]!.length <= maxChars))
        chars += texts[end++]!.length;
      if (end < texts.length) {
        texts = texts.slice(0, end);
        to = from + end - 1;
      }
    }
    const window = texts.map((t) => parseStored(t, logId));
    // getLogDiff works on a chain indexed from 1; pad the part we did not read.
    const sparse = new Array<LogEntry>(from - 1).concat(window);
    const diff = getLogDiff(sparse, view, to - view.seq);
    return diff.kind === 'extends' ? { ...diff, more: to < length } : diff;
  }

  /**
   * updateLog(l1, l2): brings log `logId` up to date from `source`, a contiguous run of entries of the same
   * chain as held elsewhere (the whole chain, or any part that reaches this log's head). The source is first
   * verified on its own (content, hashes, links, signatures, one author and session): if it fails, nothing is
   * stored and the error says why (INVALID_INPUT, BAD_HASH, BAD_SIGNATURE, UNKNOWN_AUTHOR, CHAIN_CONFLICT).
   * Only then is it compared with what this log already holds where they overlap, including the entry the
   * source's first entry links to: a difference between the two verified copies is LOG_DIVERGED. The rest is
   * appended. A source that ends before this log's head is not an error here; `pageEnd` lets the caller judge.
   */
  async updateLog(logId: string, input: unknown): Promise<UpdateResult> {
    if (!Array.isArray(input)) throw new SatpError('INVALID_INPUT', 'source must be an array of entries');
    const source = ownCopies(input);
    const head = (await this.driver.head(logId)) ?? EMPTY_HEAD;
    if (source.length === 0) return { appended: [], head: { seq: head.seq, hash: head.hash }, pageEnd: 0 };
    const first = source[0] as { seqNumber?: unknown; lastEntryHash?: unknown } | undefined;
    // A source that does not say where it starts is bad input, not an empty update.
    if (typeof first?.seqNumber !== 'number' || !Number.isSafeInteger(first.seqNumber) || first.seqNumber < 1) {
      throw new SatpError('INVALID_INPUT', 'source[0] has no valid seqNumber');
    }
    const firstSeq = first.seqNumber;
    if (firstSeq > head.seq + 1)
      throw new SatpError('CHAIN_CONFLICT', `source starts at seq ${firstSeq}, after a gap from seq ${head.seq}`);
    const linkedTo = typeof first.lastEntryHash === 'string' ? first.lastEntryHash : '';
    if (firstSeq === 1 && linkedTo !== GENESIS_HASH)
      throw new SatpError('CHAIN_CONFLICT', 'source seq 1 does not start a chain');
    const parsed = parseLogId(logId);
    const successions = await this.#successionsOf(logId);
    const signer =
      successions.length > 0 && parsed ? keyAt(successions, firstSeq - 1, this.#ctx.keys(parsed.author)) : undefined;
    const verified = await verifyChain(source, this.#ctx, {
      from: { seq: firstSeq - 1, hash: linkedTo },
      ...parsed,
      ...(signer ? { signer } : {}),
    });
    if (!verified.ok) throw chainError(verified);
    const entries = verified.entries;
    // Compare the overlap, from the entry the source links to up to this log's head.
    const overlapFrom = Math.max(1, firstSeq - 1);
    const overlapTo = Math.min(head.seq, firstSeq + entries.length - 1);
    if (overlapTo >= overlapFrom) {
      const ours =
        overlapTo === head.seq && overlapFrom === overlapTo
          ? [head.hash]
          : (await this.driver.read(logId, overlapFrom, overlapTo)).map(hashOfStored);
      if (overlapTo === head.seq) ours[ours.length - 1] = head.hash;
      for (let seq = overlapFrom; seq <= overlapTo; seq++) {
        const theirs = seq === firstSeq - 1 ? linkedTo : entries[seq - firstSeq]!.entryHash;
        const mine = ours[seq - overlapFrom];
        if (mine !== theirs)
          throw new SatpError('LOG_DIVERGED', `log ${logId} and the source differ at seq ${seq}`, {
            detail: { seq, ours: mine, theirs },
          });
      }
    }
    const fresh = entries.filter((e) => e.seqNumber > head.seq);
    const pageEnd = firstSeq + entries.length - 1;
    if (fresh.length === 0) return { appended: [], head: { seq: head.seq, hash: head.hash }, pageEnd };
    for (const e of fresh) {
      this.#verified.set(deepFreeze(e), storedText(e, verified.canonicals[e.seqNumber - firstSeq]));
    }
    let at: ChainHead = head;
    for (let i = 0; i < fresh.length; i += this.#maxBatch) {
      at = await this.writeLogEntries(fresh.slice(i, i + this.#maxBatch));
    }
    return { appended: fresh, head: { seq: at.seq, hash: at.hash }, pageEnd };
  }

  /** Logs whose session has not ended, for recovery at boot; does not scan closed history. */
  async listOpenLogs(): Promise<OpenLog[]> {
    const ids = await this.driver.openLogs();
    const out: OpenLog[] = [];
    for (const logId of ids) {
      const parsed = parseLogId(logId);
      const head = await this.driver.head(logId);
      if (parsed && head) out.push({ logId, ...parsed, head: { seq: head.seq, hash: head.hash } });
    }
    return out;
  }

  /** Verifies a stored log end to end. Never throws on corrupt data: the result names the first bad entry. */
  async verifyLog(logId: string): Promise<ChainResult> {
    const texts = await this.driver.read(logId, 1, Number.MAX_SAFE_INTEGER);
    const values = texts.map((t) => {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return { unparseable: t.slice(0, 64) };
      }
    });
    const parsed = parseLogId(logId);
    const result = await verifyChain(values, this.#ctx, parsed ?? {});
    if (!result.ok) return result;
    const head = await this.driver.head(logId);
    if ((head?.seq ?? 0) !== result.head.seq || (head && head.hash !== result.head.hash)) {
      return {
        ok: false,
        index: values.length,
        reason: 'gap',
        detail: `the head says seq ${head?.seq ?? 0}, the log holds ${result.head.seq}`,
      };
    }
    if (this.#ctx.successor && head?.open) this.#successions.set(logId, result.successions);
    return result;
  }

  /**
   * The takeovers log `logId` holds, in order. Without a successor authority there can be none. Otherwise from
   * memory, or read from the stored log once: its takeover entries were verified when they were appended.
   */
  async #successionsOf(logId: string): Promise<readonly Succession[]> {
    if (!this.#ctx.successor) return NO_SUCCESSIONS;
    const known = this.#successions.get(logId);
    if (known) return known;
    const head = await this.driver.head(logId);
    const found: Succession[] = [];
    if (head && head.seq > 0) {
      for (const text of await this.driver.read(logId, 1, head.seq)) {
        if (!text.includes('"takeover"')) continue;
        const e = parseStored(text, logId);
        const t = takeoverOf(e);
        if (t) found.push({ seq: e.seqNumber, key: t.publicKey });
      }
    }
    // Someone else may have filled it meanwhile (they read the same log); the first one stays, so the identity
    // check in writeLogEntries holds.
    const again = this.#successions.get(logId);
    if (again) return again;
    if (!head || head.open) this.#successions.set(logId, found);
    return found;
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  // The -01 (ODAP-2PC) names, kept as aliases.
  saveLogEntry(entry: unknown): Promise<ChainHead> {
    return this.writeLogEntry(entry);
  }
  lastEntry(logId: string): Promise<LogEntry | undefined> {
    return this.getLastEntry(logId);
  }
}

/** The entryHash of a stored entry's text ('' when unreadable: it then differs from any real hash). */
function hashOfStored(text: string): string {
  try {
    const h = (JSON.parse(text) as { entryHash?: unknown }).entryHash;
    return typeof h === 'string' ? h : '';
  } catch {
    return '';
  }
}

/**
 * A store's own copies of the entries it was handed, taken in the call before anything awaits: every later read
 * (the checks, the link to the head, the head, the text stored, what a notary is sent) sees the values checked,
 * whatever the caller does meanwhile with its objects (test/unit/log-store-caller-changes.test.ts). The copies are
 * deeply frozen. Values the kernel's deepFreeze froze cannot change and are kept as they are: entries sealed in this
 * process, entries a store verified, and each entry of a recovery page, which the gateway driver freezes while the
 * page is still only its own; so neither its appends nor its recovery copy anything. A value that cannot be copied
 * (a getter that throws, a proxy, a function) is INVALID_INPUT.
 */
export const ownCopies = (values: readonly unknown[]): unknown[] =>
  values.map((value, i) => {
    if (value === null || typeof value !== 'object' || isDeepFrozen(value)) return value;
    try {
      return deepFreeze(structuredClone(value));
    } catch (err) {
      throw new SatpError('INVALID_INPUT', `entry ${i} cannot be read: ${String(err)}`);
    }
  });

/**
 * The text a store keeps of an entry it checked: the form its author's store keeps (sealedForm), from the canonical
 * text its hash and signature were checked over, so a copy holds its author's bytes; serialized without that text.
 */
const storedText = (e: LogEntry, canonical: string | undefined): string =>
  canonical === undefined ? JSON.stringify(e) : sealedForm(canonical, e.entryHash, e.messageSignature);

function parseStored(text: string, logId: string): LogEntry {
  const c = (() => {
    try {
      return checkEntryContent(JSON.parse(text));
    } catch (err) {
      return { ok: false as const, reason: 'malformed' as const, detail: String(err) };
    }
  })();
  if (!c.ok) throw new SatpError('STORAGE_FAILURE', `log ${logId} holds a corrupt entry: ${c.detail}`);
  return c.entry;
}

export function chainError(result: Extract<ChainResult, { ok: false }>): SatpError {
  const code =
    result.reason === 'bad-signature'
      ? 'BAD_SIGNATURE'
      : result.reason === 'unknown-author'
        ? 'UNKNOWN_AUTHOR'
        : result.reason === 'bad-payload-hash' || result.reason === 'bad-entry-hash'
          ? 'BAD_HASH'
          : result.reason === 'gap' || result.reason === 'broken-link'
            ? 'CHAIN_CONFLICT'
            : 'INVALID_INPUT';
  return new SatpError(
    code,
    `entry ${result.index} (seq ${result.seqNumber ?? '?'}): ${result.reason}: ${result.detail}`,
    { detail: { ...result } },
  );
}
