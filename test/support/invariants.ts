// What must hold once transfers have run, however they were run: the one invariants module. Each harness (the
// simulator's World, the in-process pair, the real gateway processes) gathers what its disks and ledgers hold
// into the plain views below and asks checkRun(); none of them checks an invariant of its own beyond what only
// it can see (the simulator's forgeries and live state, for instance).
import { type LogEntry, logIdOf } from '../../kernel/entry.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import type { AssetRecord, LedgerReceipt } from '../../kernel/ledger.ts';

export interface Violation {
  invariant: string;
  detail: string;
}

export type Ending = { outcome: string; reason: string };

/** One chain as a store holds it: its author's own, or a copy of a peer's that recovery brought. */
export interface ChainView {
  /** The gateway whose store holds the chain. */
  holder: string;
  author: string;
  sessionId: string;
  logId: string;
  entries: readonly LogEntry[];
  /** Why the chain does not verify; absent when it does. */
  fault?: string;
}

export interface LedgerView {
  id: string;
  /** Every op the ledger recorded (refusals too), with how often it changed an asset. */
  records: readonly { receipt: LedgerReceipt; applied: number }[];
  assets: ReadonlyMap<string, AssetRecord>;
  /** How many ops the ledger says it recorded in all, when it says (txSeq): every one must be in `records`. */
  recorded?: number;
}

export interface TransferView {
  sessionId: string;
  assetId: string;
  /** Who owns the asset on the origin ledger before, and again after a rollback. */
  owner: string;
  beneficiary: string;
  origin: { gateway: string; ledger: string };
  destination: { gateway: string; ledger: string };
}

export interface Rules {
  /**
   * 'exact': both gateways end with the same outcome. 'moved': they agree on whether the asset moved (a
   * destination that rejected the proposal and an origin that rolled back before hearing of it both say no).
   */
  agreement: 'exact' | 'moved';
  /**
   * The transfers are everything that ran: a chain or a ledger op of any other session is a violation. Off for
   * a harness whose ledgers hold more than its transfers (other sessions of the same test).
   */
  closedWorld: boolean;
}

export interface Verdict {
  violations: Violation[];
  /** Each transfer's outcome as its origin's chain ends ('not-started' with no chain, undefined if open). */
  outcomes: Map<string, string | undefined>;
  /** Dispute entries found in the chains (each one is also a violation). */
  disputes: number;
  /** Transfers rolled back because the deadline passed. */
  deadlineRollbacks: number;
}

/** The store calls a chain view needs (storage/log-store.ts has them). */
interface ChainSource {
  getLogLength(logId: string): Promise<number>;
  verifyLog(
    logId: string,
  ): Promise<{ ok: true; entries: LogEntry[] } | { ok: false; reason: string; index: number; detail: string }>;
  getLog(logId: string): Promise<LogEntry[]>;
}

/** One chain as `holder`'s store holds it, verified; undefined when the store holds none of it. */
export async function readChain(
  store: ChainSource,
  holder: string,
  sessionId: string,
  author: string,
): Promise<ChainView | undefined> {
  const logId = logIdOf(sessionId, author);
  if ((await store.getLogLength(logId)) === 0) return undefined;
  const v = await store.verifyLog(logId);
  const view = { holder, author, sessionId, logId };
  return v.ok
    ? { ...view, entries: v.entries }
    : { ...view, entries: await store.getLog(logId).catch(() => []), fault: `${v.reason} at ${v.index}: ${v.detail}` };
}

/** A ledger's view from the in-memory ledger's journal. */
export async function memoryLedgerView(l: {
  id: string;
  ops(): LedgerView['records'];
  listAssets(): Promise<AssetRecord[]>;
}): Promise<LedgerView> {
  return { id: l.id, records: l.ops(), assets: new Map((await l.listAssets()).map((a) => [a.assetId, a])) };
}

export const endingOf = (chain: readonly LogEntry[]): Ending | undefined => {
  const p = chain.at(-1)?.payload as { kind?: string; outcome?: string; reason?: string } | undefined;
  return p?.kind === 'end' ? { outcome: p.outcome ?? '', reason: p.reason ?? '' } : undefined;
};

const same = (a: unknown, b: unknown) => canonicalJson(a as Json) === canonicalJson(b as Json);

/** The op of a session, by what it is for: the part of its opId after the session id (`2.1:lock`, ...). */
const purposeOf = (opId: string, sessionId: string) =>
  opId.startsWith(`${sessionId}:`) ? opId.slice(sessionId.length + 1) : undefined;

export function checkRun(
  chains: readonly ChainView[],
  ledgers: readonly LedgerView[],
  transfers: readonly TransferView[],
  rules: Rules,
): Verdict {
  const v: Violation[] = [];
  const verdict: Verdict = { violations: v, outcomes: new Map(), disputes: 0, deadlineRollbacks: 0 };
  const own = new Map<string, ChainView>();
  for (const c of chains) if (c.holder === c.author) own.set(c.logId, c);
  const sessions = new Set(transfers.map((t) => t.sessionId));

  // Every chain verifies; no dispute (only tampering makes one); no message acted on twice.
  for (const c of chains) {
    if (c.fault) v.push({ invariant: 'chains verify', detail: `${c.holder}'s ${c.logId}: ${c.fault}` });
    if (c.holder !== c.author) continue;
    const acked = new Set<string>();
    for (const e of c.entries) {
      const p = e.payload as { kind?: string; hash?: string; detail?: string };
      if (p.kind === 'dispute') {
        verdict.disputes++;
        v.push({ invariant: 'no dispute without tampering', detail: `${c.logId} seq ${e.seqNumber}: ${p.detail}` });
      }
      if (e.operation !== 'ack' || typeof p.hash !== 'string') continue;
      if (acked.has(p.hash))
        v.push({
          invariant: 'no message acted on twice',
          detail: `${c.logId} acks ${p.hash.slice(0, 12)}… twice (seq ${e.seqNumber})`,
        });
      acked.add(p.hash);
    }
    if (!sessions.has(c.sessionId)) {
      if (rules.closedWorld)
        v.push({ invariant: 'every chain belongs to a transfer', detail: `${c.holder} holds ${c.logId}` });
    } else if (c.entries.length && !endingOf(c.entries)) {
      const last = c.entries.at(-1)!;
      v.push({
        invariant: 'every session ends',
        detail:
          `${c.sessionId}: ${c.author}'s chain is open at seq ${c.entries.length} ` +
          `(${last.step}:${last.operation})`,
      });
    }
  }

  // A copy of a peer's chain is a prefix of that chain, entry for entry (single writer: chains never fork).
  for (const c of chains) {
    if (c.holder === c.author) continue;
    const theirs = own.get(c.logId)?.entries ?? [];
    const at = c.entries.findIndex((e, i) => !same(e, theirs[i]));
    if (at >= 0)
      v.push({
        invariant: "a copy of the peer's chain is a prefix of it",
        detail: `${c.holder}'s copy of ${c.logId} differs at seq ${at + 1} (the author holds ${theirs.length} entries)`,
      });
  }

  const ledger = new Map(ledgers.map((l) => [l.id, l] as const));
  for (const t of transfers) checkTransfer(t, own, ledger, rules, verdict);

  for (const l of ledgers) checkLedger(l, transfers, own, rules, v);
  return verdict;
}

function checkTransfer(
  t: TransferView,
  own: ReadonlyMap<string, ChainView>,
  ledgers: ReadonlyMap<string, LedgerView>,
  rules: Rules,
  verdict: Verdict,
): void {
  const v = verdict.violations;
  const sid = t.sessionId;
  const chainOf = (gateway: string) => own.get(logIdOf(sid, gateway))?.entries ?? [];
  const oChain = chainOf(t.origin.gateway);
  const dChain = chainOf(t.destination.gateway);
  const oEnd = endingOf(oChain);
  const dEnd = endingOf(dChain);
  const agree =
    rules.agreement === 'exact'
      ? (a: string, b: string) => a === b
      : (a: string, b: string) => (a === 'committed') === (b === 'committed');
  if (oEnd && dEnd && !agree(oEnd.outcome, dEnd.outcome))
    v.push({
      invariant: 'outcomes agree',
      detail:
        `${sid}: ${t.origin.gateway} ${oEnd.outcome} (${oEnd.reason}), ` +
        `${t.destination.gateway} ${dEnd.outcome} (${dEnd.reason})`,
    });
  const outcome = oChain.length ? oEnd?.outcome : 'not-started';
  verdict.outcomes.set(sid, outcome);
  if (!oChain.length && dChain.length)
    v.push({ invariant: 'a destination acts only on a proposal', detail: `${sid}: the origin has no chain` });
  if ([oEnd, dEnd].some((e) => e?.outcome === 'rolled-back' && /expir|deadline/i.test(e.reason)))
    verdict.deadlineRollbacks++;

  // The asset lives on exactly one ledger, with the right owner.
  const a = ledgers.get(t.origin.ledger)?.assets.get(t.assetId);
  const b = ledgers.get(t.destination.ledger)?.assets.get(t.assetId);
  const live = [a, b].filter((x) => x !== undefined && x.state !== 'burned').length;
  const where = `${t.assetId}: ${t.origin.ledger} ${JSON.stringify(a)}, ${t.destination.ledger} ${JSON.stringify(b)}`;
  if (live !== 1)
    v.push({ invariant: 'the asset exists on exactly one ledger', detail: `${sid}: ${live} live copies; ${where}` });
  if (outcome === 'committed') {
    if (a?.state !== 'burned' || b?.state !== 'active' || b.owner !== t.beneficiary)
      v.push({
        invariant: 'committed: burned on origin, owned by the beneficiary on destination',
        detail: `${sid}: ${where}`,
      });
  } else if (outcome) {
    if (a?.state !== 'active' || a.owner !== t.owner || (b && b.state !== 'burned'))
      v.push({
        invariant: `${outcome}: back with its owner on origin, nothing live on destination`,
        detail: `${sid}: ${where}`,
      });
  }

  // The session's ledger ops that took effect are the ones its outcome needs, compensations included.
  const applied = new Set<string>();
  for (const id of [t.origin.ledger, t.destination.ledger])
    for (const r of ledgers.get(id)?.records ?? []) {
      const purpose = purposeOf(r.receipt.opId, sid);
      if (purpose && r.applied > 0) applied.add(purpose);
    }
  const has = (p: string) => applied.has(p);
  const ops = JSON.stringify([...applied].sort());
  if (outcome === 'committed' && !(has('2.1:lock') && has('3.4:burn') && has('3.2:mint') && has('3.6:assign')))
    v.push({ invariant: 'committed: lock, burn, mint and assign all applied', detail: `${sid}: ${ops}` });
  if (outcome === 'committed' && (has('rollback:unlock') || has('rollback:burn')))
    v.push({ invariant: 'committed: no compensation applied', detail: `${sid}: ${ops}` });
  if (
    outcome !== 'committed' &&
    oEnd &&
    (has('3.4:burn') ||
      has('3.6:assign') ||
      (has('2.1:lock') && !has('rollback:unlock')) ||
      (has('3.2:mint') && !has('rollback:burn')))
  )
    v.push({
      invariant: `${outcome}: every applied op compensated, none past the point of no return`,
      detail: `${sid}: ${ops}`,
    });
}

function checkLedger(
  l: LedgerView,
  transfers: readonly TransferView[],
  own: ReadonlyMap<string, ChainView>,
  rules: Rules,
  v: Violation[],
): void {
  const mints = new Map<string, number>();
  const burns = new Map<string, number>();
  for (const { receipt: r, applied } of l.records) {
    if (applied > 1)
      v.push({ invariant: 'no ledger operation applied twice', detail: `${l.id} ${r.opId} applied ${applied}×` });
    if (applied && r.kind === 'mint') mints.set(r.assetId, (mints.get(r.assetId) ?? 0) + 1);
    if (applied && r.kind === 'burn' && r.opId.includes(':3.4:')) burns.set(r.assetId, (burns.get(r.assetId) ?? 0) + 1);

    // Write-ahead: the ledger saw only ops whose exec the gateway in front of it had made durable, and the
    // receipt that gateway logged for an op is the one the ledger recorded.
    const t = transfers.find((x) => purposeOf(r.opId, x.sessionId) !== undefined);
    if (!t) {
      if (rules.closedWorld)
        v.push({ invariant: 'every ledger operation belongs to a transfer', detail: `${l.id} ${r.opId}` });
      continue;
    }
    const gateway = l.id === t.origin.ledger ? t.origin.gateway : t.destination.gateway;
    const chain = own.get(logIdOf(t.sessionId, gateway))?.entries ?? [];
    const execs = chain.filter(
      (e) => e.operation === 'exec' && (e.payload as { op?: { opId?: string } }).op?.opId === r.opId,
    );
    if (!execs.length)
      v.push({
        invariant: 'every ledger operation was logged (exec) before it was called',
        detail: `${l.id} ${r.opId} has no exec in ${gateway}'s chain`,
      });
    for (const e of chain) {
      const logged = (e.payload as { receipt?: LedgerReceipt }).receipt;
      if (logged?.opId === r.opId && logged.ledgerId === l.id && !same(logged, r))
        v.push({
          invariant: 'a gateway logs the receipt its ledger recorded',
          detail: `${r.opId}: ${gateway} seq ${e.seqNumber} logged another receipt than ${l.id} holds`,
        });
    }
  }
  for (const [asset, k] of [...mints, ...burns])
    if (k > 1)
      v.push({ invariant: 'at most one mint and one forward burn per asset', detail: `${l.id} ${asset}: ${k}` });
  if (l.recorded !== undefined && l.recorded !== l.records.length)
    v.push({
      invariant: 'every ledger operation belongs to a transfer',
      detail: `${l.id} recorded ${l.recorded} ops, the sessions account for ${l.records.length}`,
    });
}
