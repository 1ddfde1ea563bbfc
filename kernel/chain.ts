// Verification of a whole chain: the first bad entry and why, never a throw on hostile input.
import { type ChainHead, EMPTY_HEAD, type LogEntry } from './entry.ts';
import {
  checkEntryContent,
  checkEntrySignature,
  type EntryCheck,
  type EntryFailure,
  type VerifyContext,
} from './seal.ts';
import { type PublicJwk, sameKey } from './crypto/types.ts';
import { claimsTakeover, type Succession, takeoverOf } from './takeover.ts';

export type ChainFailure = EntryFailure | 'not-an-array' | 'gap' | 'broken-link' | 'foreign-entry';

export type ChainResult =
  | {
      ok: true;
      entries: LogEntry[];
      head: ChainHead;
      /** The takeovers among the entries (kernel/takeover.ts): from each on, the backup's key signs. */
      successions: Succession[];
      /** The canonical text of each entry's body, over which its hash and signature were checked. */
      canonicals: (string | undefined)[];
    }
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
  /**
   * The key in force at `from` when a takeover before it changed the author's (kernel/takeover.ts); default: the
   * author's key from the context's resolver.
   */
  signer?: PublicJwk;
}

/**
 * Verifies entries as one chain: each is well-formed, has the next seqNumber, links to the previous
 * entry's hash, has matching payload and entry hashes, a known author and a valid signature, and
 * shares the session and author of the first. A takeover entry hands the chain to a successor's key, if the
 * context's successor authority accepts its certificate at the entry's time and the key it names is the one the
 * certificate certifies; the entry itself and those after it must then be signed with that key. Signatures are
 * checked concurrently; the failure reported is always the one with the lowest index.
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
  // Signatures are verified off this thread where the verifier can (node:crypto's pool, WebCrypto): each is started
  // as soon as its entry passes the checks here, with the key in force at the start, so the verifications overlap the
  // checks of the entries after it. From the first entry that claims a takeover on, the key is known only once the
  // takeover is judged, after the loop.
  const early: Promise<EntryCheck>[] = [];
  const keyAtStart = (): PublicJwk | undefined =>
    expect.signer ?? (author === undefined ? undefined : ctx.keys(author));
  let startKey: PublicJwk | undefined;
  let speculate = true;

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
      if (speculate && claimsTakeover(e)) speculate = false;
      if (speculate) {
        startKey ??= keyAtStart();
        if (startKey) early.push(checkEntrySignature(e, content.canonical, ctx, startKey));
        else speculate = false;
      }
      checked.push({ entry: e, canonical: content.canonical });
      head = { seq: e.seqNumber, hash: e.entryHash };
    }
  } catch (err) {
    // Every completed iteration pushed one entry, so the entry being read is at checked.length.
    failure = { ok: false, index: checked.length, reason: 'malformed', detail: `unreadable entry (${String(err)})` };
  }

  const forced = await keysInForce(
    checked.map((c) => c.entry),
    startKey ?? keyAtStart(),
    ctx,
  );
  const { signers, successions } = forced;
  if (forced.refused) {
    const { index, detail } = forced.refused;
    const seqNumber = checked[index]!.entry.seqNumber;
    checked.length = index; // the entries before it are still checked, so a lower failure wins
    failure = { ok: false, index, seqNumber, reason: 'unknown-author', detail };
  }
  const signatures = await Promise.all(
    checked.map((c, i) =>
      i < early.length && signers[i] === startKey
        ? early[i]!
        : checkEntrySignature(c.entry, c.canonical, ctx, signers[i]),
    ),
  );
  const bad = signatures.findIndex((s) => !s.ok);
  if (bad >= 0) {
    const s = signatures[bad] as Extract<(typeof signatures)[number], { ok: false }>;
    return { ok: false, index: bad, seqNumber: checked[bad]!.entry.seqNumber, reason: s.reason, detail: s.detail };
  }
  if (failure) return failure;
  return {
    ok: true,
    entries: checked.map((c) => c.entry),
    head,
    successions,
    canonicals: checked.map((c) => c.canonical),
  };
}

/**
 * The key in force for each of `entries` (consecutive, of one chain), starting from `start`: the same until a
 * takeover entry the context's authority accepts, that one's key from it on (kernel/takeover.ts). Takeovers are
 * rare, and each is judged in order. `refused`: the first takeover not accepted, and why; the entries from it on
 * get no key. `trusted(i)`: entry i was verified already (its takeover, too), so its named key is taken as it is.
 */
export async function keysInForce(
  entries: readonly LogEntry[],
  start: PublicJwk | undefined,
  ctx: VerifyContext,
  trusted: (i: number) => boolean = () => false,
): Promise<{
  signers: (PublicJwk | undefined)[];
  successions: Succession[];
  refused?: { index: number; detail: string };
}> {
  const signers: (PublicJwk | undefined)[] = [];
  const successions: Succession[] = [];
  let signer = start;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (claimsTakeover(e)) {
      const handed = trusted(i)
        ? (takeoverOf(e)?.publicKey ?? `seq ${e.seqNumber}: not a takeover`)
        : await takeoverRefusal(e, ctx);
      if (typeof handed === 'string') return { signers, successions, refused: { index: i, detail: handed } };
      signer = handed;
      successions.push({ seq: e.seqNumber, key: handed });
    }
    signers.push(signer);
  }
  return { signers, successions };
}

/**
 * Why a takeover entry does not hand its chain over (a sentence), or the key it hands it to. Never throws: an
 * authority that does is a refusal.
 */
export async function takeoverRefusal(entry: LogEntry, ctx: VerifyContext): Promise<string | PublicJwk> {
  const t = takeoverOf(entry);
  const at = `seq ${entry.seqNumber}`;
  if (!t) return `${at}: a takeover entry whose payload is not a takeover`;
  if (!ctx.successor) return `${at}: a takeover by ${t.backup}, and no successor of ${entry.author} is trusted here`;
  try {
    const verdict = await ctx.successor(entry.author, t.certificate, entry.timestamp);
    if (!verdict.ok) return `${at}: ${t.backup} may not take ${entry.author}'s place: ${verdict.detail}`;
    if (!sameKey(verdict.key, t.publicKey)) return `${at}: the takeover names a key its certificate does not certify`;
    return verdict.key;
  } catch (err) {
    return `${at}: the successor authority failed: ${String(err)}`;
  }
}
