// The offline audit of one session: from the chains two gateways' stores hold (their own, and the copies of the
// peer's that recovery brought) and the public keys of the gateways and ledgers, whether the record is whole and
// tells one story. Nothing here talks to a gateway or a network, except to the node of a ledger that is a chain (its
// receipts are checked on it: AuditKeys.chains); nothing throws on hostile input.
import { verifyChain } from '../kernel/chain.ts';
import type { LogEntry } from '../kernel/entry.ts';
import { keyTable, type PublicJwk, type Verifier } from '../kernel/crypto/types.ts';
import type { SuccessorAuthority } from '../kernel/takeover.ts';
import { canonicalJson, type Json } from '../kernel/json.ts';
import { type LedgerProofChecker, receiptMatchesOp, verifyLedgerReceipt } from '../kernel/ledger-receipt.ts';
import type { LedgerOp } from '../kernel/ledger.ts';
import { MSG } from '../kernel/satp/messages.ts';

/** The public keys an auditor trusts: each gateway's entry key, each ledger's receipt key. */
export interface AuditKeys {
  gateways: Record<string, PublicJwk>;
  ledgers: Record<string, PublicJwk>;
  /**
   * The ledgers that are chains, by ledger id (ledgers/evm/check.ts): their receipts are checked by reading the
   * chain, so an audit of them does talk to that chain's node.
   */
  chains?: Record<string, LedgerProofChecker>;
  /** Who may take a gateway's place (kernel/takeover.ts): without it a chain with a takeover entry is a finding. */
  successor?: SuccessorAuthority;
}

/** One chain as a gateway's store holds it: its author's own when holder = author, else a copy. */
export interface HeldChain {
  holder: string;
  author: string;
  entries: readonly unknown[];
}

export interface Finding {
  /** What was checked, always the same words for the same check. */
  check: string;
  ok: boolean;
  detail: string;
}

export interface SessionAudit {
  sessionId: string;
  /** Authors of the session's chains, origin first when the chains say which is which. */
  gateways: string[];
  /** How each gateway's own chain ends (`open` while it has no end entry). */
  outcomes: Record<string, string>;
  findings: Finding[];
  /** No finding failed. */
  ok: boolean;
}

type Payload = { kind?: string; hash?: string; from?: string; to?: string; message?: { messageType?: string } };
type LoggedOp = { op?: LedgerOp; receipt?: unknown };

const payloadOf = (e: LogEntry) => (e.payload ?? {}) as Payload & LoggedOp & { outcome?: string; reason?: string };
const same = (a: unknown, b: unknown) => canonicalJson(a as Json) === canonicalJson(b as Json);
/** Message types whose sender may answer unlogged (a refusal of a session it no longer holds, say). */
const MAY_BE_UNLOGGED: ReadonlySet<string> = new Set([MSG.error]);

/** Audits one session's chains; `verifier` checks the ECDSA signatures (kernel/crypto). */
export async function auditSession(
  sessionId: string,
  chains: readonly HeldChain[],
  keys: AuditKeys,
  verifier: Verifier,
): Promise<SessionAudit> {
  const findings: Finding[] = [];
  const note = (check: string, ok: boolean, detail: string) => findings.push({ check, ok, detail });
  const resolver = keyTable(keys.gateways);

  // Every chain verifies: shape, seqNumbers, links, hashes, a known author and its signature, one session.
  const own = new Map<string, LogEntry[]>();
  const verified = new Map<HeldChain, LogEntry[]>();
  for (const c of chains) {
    const what = c.holder === c.author ? `${c.author}'s chain` : `${c.holder}'s copy of ${c.author}'s chain`;
    const ctx = { keys: resolver, verifier, ...(keys.successor ? { successor: keys.successor } : {}) };
    const r = await verifyChain(c.entries, ctx, { sessionId, author: c.author });
    if (!r.ok) {
      note('chains verify', false, `${what}: ${r.reason} at entry ${r.index}: ${r.detail}`);
      continue;
    }
    note('chains verify', true, `${what}: ${r.entries.length} entries`);
    verified.set(c, r.entries);
    if (c.holder === c.author) own.set(c.author, r.entries);
  }
  const gateways = orderGateways([...own.keys()], own);
  if (gateways.length !== 2)
    note('two gateways', false, `the session has ${gateways.length} verified chain(s) of their own: ${gateways}`);

  // A copy of a peer's chain is a prefix of that chain, entry for entry: chains have one writer and never fork.
  for (const [c, entries] of verified) {
    if (c.holder === c.author) continue;
    const theirs = own.get(c.author);
    if (!theirs) {
      note('copies are prefixes', false, `${c.holder} holds a copy of ${c.author}'s chain, which is not given`);
      continue;
    }
    const at = entries.findIndex((e, i) => !same(e, theirs[i]));
    note(
      'copies are prefixes',
      at < 0,
      at < 0
        ? `${c.holder}'s copy of ${c.author}'s chain: ${entries.length} of its ${theirs.length} entries`
        : `${c.holder}'s copy of ${c.author}'s chain differs at seq ${at + 1}`,
    );
  }

  for (const [author, entries] of own) {
    const peer = gateways.find((g) => g !== author);
    const theirs = peer ? own.get(peer) : undefined;
    crossLinks(author, entries, peer, theirs, note);
    actedOnce(author, entries, note);
    await receipts(author, entries, keys, verifier, note);
  }

  // Both chains end, and on the same side of whether the asset moved.
  const outcomes: Record<string, string> = {};
  for (const [author, entries] of own) {
    const p = entries.length ? payloadOf(entries.at(-1)!) : {};
    outcomes[author] = p.kind === 'end' ? String(p.outcome) : 'open';
    note('chains end', p.kind === 'end', `${author}: ${p.kind === 'end' ? `${p.outcome} (${p.reason})` : 'open'}`);
  }
  const ends = Object.values(outcomes).filter((o) => o !== 'open');
  if (ends.length === 2) {
    const agree = (ends[0] === 'committed') === (ends[1] === 'committed');
    note('outcomes agree', agree, gateways.map((g) => `${g} ${outcomes[g]}`).join(', '));
  }
  return { sessionId, gateways, outcomes, findings, ok: findings.every((f) => f.ok) };
}

/** The origin first: its chain starts with the transfer request. */
function orderGateways(ids: string[], own: ReadonlyMap<string, LogEntry[]>): string[] {
  const isOrigin = (id: string) => own.get(id)?.some((e) => payloadOf(e).kind === 'request') ?? false;
  return [...ids].sort((a, b) => Number(isOrigin(b)) - Number(isOrigin(a)) || a.localeCompare(b));
}

/** Every message a gateway logged as received from its peer is one the peer logged as sent, by its hash. */
function crossLinks(
  author: string,
  entries: readonly LogEntry[],
  peer: string | undefined,
  theirs: readonly LogEntry[] | undefined,
  note: (check: string, ok: boolean, detail: string) => void,
): void {
  if (!peer || !theirs) return;
  const sent = new Set<string>();
  for (const e of theirs) {
    const p = payloadOf(e);
    if ((p.kind === 'send' || p.kind === 'recovery-send') && typeof p.hash === 'string') sent.add(p.hash);
  }
  const peerEnded = theirs.length > 0 && payloadOf(theirs.at(-1)!).kind === 'end';
  let linked = 0;
  let unlinked = 0;
  for (const e of entries) {
    const p = payloadOf(e);
    if ((p.kind !== 'receive' && p.kind !== 'recovery-receive') || p.from !== peer || typeof p.hash !== 'string')
      continue;
    if (sent.has(p.hash)) {
      linked++;
      continue;
    }
    // Answers a gateway does not log: a refusal, and every recovery answer once its session has ended.
    if (MAY_BE_UNLOGGED.has(String(p.message?.messageType)) || (p.kind === 'recovery-receive' && peerEnded)) continue;
    unlinked++;
    note(
      'messages cross-linked',
      false,
      `${author} seq ${e.seqNumber} received ${p.hash.slice(0, 12)}… from ${peer}, which never logged sending it`,
    );
  }
  if (!unlinked)
    note('messages cross-linked', true, `${author}: ${linked} received messages found sent in ${peer}'s chain`);
}

/** No message is acknowledged (acted on) twice. */
function actedOnce(
  author: string,
  entries: readonly LogEntry[],
  note: (check: string, ok: boolean, detail: string) => void,
): void {
  const acked = new Map<string, number>();
  for (const e of entries) {
    const p = payloadOf(e);
    if (e.operation !== 'ack' || typeof p.hash !== 'string') continue;
    const first = acked.get(p.hash);
    if (first !== undefined)
      note(
        'no message acted on twice',
        false,
        `${author} acks ${p.hash.slice(0, 12)}… at seq ${first} and ${e.seqNumber}`,
      );
    else acked.set(p.hash, e.seqNumber);
  }
}

/**
 * Every ledger receipt logged is signed by its ledger's key, answers the op logged with it, and follows an exec of
 * that op (write-ahead: the call was logged before it was made).
 */
async function receipts(
  author: string,
  entries: readonly LogEntry[],
  keys: AuditKeys,
  verifier: Verifier,
  note: (check: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const execs = new Set<string>();
  let good = 0;
  let bad = 0;
  const fail = (detail: string) => {
    bad++;
    note('receipts verify', false, detail);
  };
  for (const e of entries) {
    const p = payloadOf(e);
    if (p.kind === 'ledger-op' && e.operation === 'exec' && p.op?.opId) execs.add(p.op.opId);
    if ((p.kind !== 'ledger-done' && p.kind !== 'ledger-failed') || p.receipt === undefined) continue;
    const where = `${author} seq ${e.seqNumber}`;
    const ledgerId = (p.receipt as { ledgerId?: unknown })?.ledgerId;
    const known = typeof ledgerId === 'string' && Object.hasOwn(keys.ledgers, ledgerId);
    const key = known ? keys.ledgers[ledgerId] : undefined;
    const chain = typeof ledgerId === 'string' && keys.chains && Object.hasOwn(keys.chains, ledgerId);
    const checker = chain ? keys.chains![ledgerId] : undefined;
    if (!key && !checker) {
      fail(`${where}: a receipt of ledger ${String(ledgerId)}, whose key is not given`);
      continue;
    }
    const r = await verifyLedgerReceipt(p.receipt, { key, checker }, verifier);
    if (!r.ok) fail(`${where}: ${r.detail}`);
    else if (p.op && !receiptMatchesOp(r.receipt, p.op))
      fail(`${where}: the receipt of ${r.receipt.opId} does not answer ${p.op.opId}`);
    else if (!execs.has(r.receipt.opId)) fail(`${where}: ${r.receipt.opId} has a receipt but no exec before it`);
    else good++;
  }
  if (!bad) note('receipts verify', true, `${author}: ${good} ledger receipts proven by their ledgers`);
}
