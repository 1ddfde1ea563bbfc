// What must hold at the end of every schedule (recovery-04 §5): checked on the disks and ledgers.
import { logIdOf, type LogEntry, parseLogId } from '../../kernel/entry.ts';
import { replay } from '../../kernel/satp/index.ts';
import { LogStore } from '../../storage/log-store.ts';
import { deepEqualState } from './state-equal.ts';
import { GW, NODES, other } from './names.ts';
import type { World } from './world.ts';

export interface Violation {
  invariant: string;
  detail: string;
}

type Outcome = 'committed' | 'rolled-back' | 'rejected';
interface Ending {
  outcome: Outcome;
  reason: string;
}

const endingOf = (chain: LogEntry[]): Ending | undefined => {
  const p = chain.at(-1)?.payload as { kind?: string; outcome?: Outcome; reason?: string } | undefined;
  return p?.kind === 'end' ? { outcome: p.outcome!, reason: p.reason ?? '' } : undefined;
};

/** Checks every invariant; also tallies outcomes and deadline rollbacks into world.counts. */
export async function checkInvariants(world: World): Promise<Violation[]> {
  const v: Violation[] = [];
  // Each gateway's own chains, and the copies of its peer's chains that RECOVER-UPDATE brought it.
  const chains = new Map<string, LogEntry[]>();
  const copies: { holder: string; logId: string; entries: LogEntry[] }[] = [];
  for (const n of NODES) {
    const store = new LogStore(world.nodes[n].disk, { keys: world.keys, verifier: world.verifier });
    for (const [logId, texts] of world.nodes[n].disk.logs) {
      if (parseLogId(logId)?.author !== GW[n]) {
        // A copy is checked entry for entry against its author's verified chain (below): equal entries
        // verify alike, and that is stricter and cheaper than verifying the copy on its own.
        copies.push({ holder: GW[n], logId, entries: texts.map((t) => JSON.parse(t) as LogEntry) });
        continue;
      }
      const r = await store.verifyLog(logId);
      if (!r.ok)
        v.push({
          invariant: 'chains verify',
          detail: `${GW[n]}'s ${logId}: ${r.reason} at index ${r.index}: ${r.detail}`,
        });
      const entries = r.ok ? r.entries : await store.getLog(logId).catch(() => []);
      chains.set(logId, entries);
      const acked = new Set<string>();
      for (const e of entries) {
        const p = e.payload as { kind?: string; hash?: string; detail?: string };
        if (p.kind === 'dispute') {
          world.counts.disputes++;
          v.push({ invariant: 'no dispute without tampering', detail: `${logId} seq ${e.seqNumber}: ${p.detail}` });
        }
        if (e.operation !== 'ack' || typeof p.hash !== 'string') continue;
        const forged = world.liar?.forged.get(`${p.hash}|${(p as { from?: string }).from}`);
        if (forged)
          v.push({
            invariant: 'no forged message is acted on',
            detail: `${logId} seq ${e.seqNumber} accepted a ${forged} forgery (${e.step}: ${e.actionResponse})`,
          });
        if (acked.has(p.hash))
          v.push({
            invariant: 'no message acted on twice',
            detail: `${logId} acks ${p.hash.slice(0, 12)}… twice (seq ${e.seqNumber})`,
          });
        acked.add(p.hash);
      }
    }
  }

  // A copy of a peer's chain is a prefix of that chain, entry for entry (single writer: chains never fork).
  for (const c of copies) {
    const own = chains.get(c.logId) ?? [];
    const at = c.entries.findIndex((e, i) => deepEqualState(e, own[i]) !== undefined);
    if (at >= 0)
      v.push({
        invariant: "a copy of the peer's chain is a prefix of it",
        detail: `${c.holder}'s copy of ${c.logId} differs at seq ${at + 1} (the author holds ${own.length} entries)`,
      });
  }

  for (const t of world.transfers) {
    const sid = t.request.sessionId;
    const o = world.nodes[t.origin];
    const d = world.nodes[other(t.origin)];
    const oChain = chains.get(logIdOf(sid, o.id)) ?? [];
    const dChain = chains.get(logIdOf(sid, d.id)) ?? [];
    const oEnd = endingOf(oChain);
    const dEnd = endingOf(dChain);
    if (oChain.length && !oEnd)
      v.push({
        invariant: 'every session ends',
        detail:
          `${sid}: ${o.id}'s chain is open at seq ${oChain.length} ` +
          `(${oChain.at(-1)!.step}:${oChain.at(-1)!.operation})`,
      });
    if (dChain.length && !dEnd)
      v.push({
        invariant: 'every session ends',
        detail:
          `${sid}: ${d.id}'s chain is open at seq ${dChain.length} ` +
          `(${dChain.at(-1)!.step}:${dChain.at(-1)!.operation})`,
      });
    // Agreement is on whether the asset moved: a destination that rejected the proposal and an origin that
    // aborted before the rejection reached it both mean "not transferred", and each names its own reason.
    const moved = (outcome: string) => outcome === 'committed';
    if (oEnd && dEnd && moved(oEnd.outcome) !== moved(dEnd.outcome))
      v.push({
        invariant: 'outcomes agree',
        detail: `${sid}: ${o.id} ${oEnd.outcome} (${oEnd.reason}), ${d.id} ${dEnd.outcome} (${dEnd.reason})`,
      });
    const outcome = oChain.length ? oEnd?.outcome : 'not-started';
    if (outcome) world.counts.outcomes[outcome]++;
    if ([oEnd, dEnd].some((e) => e?.outcome === 'rolled-back' && /expir|deadline/i.test(e.reason)))
      world.counts.deadlineRollbacks++;

    const a = await o.ledger.asset(t.request.assetId);
    const b = await d.ledger.asset(t.request.assetId);
    const live = [a, b].filter((x) => x !== undefined && x.state !== 'burned').length;
    const where = `${t.request.assetId}: ${o.ledger.id} ${JSON.stringify(a)}, ${d.ledger.id} ${JSON.stringify(b)}`;
    if (live !== 1)
      v.push({ invariant: 'the asset exists on exactly one ledger', detail: `${sid}: ${live} live copies; ${where}` });
    if (outcome === 'committed') {
      if (a?.state !== 'burned' || b?.state !== 'active' || b.owner !== t.request.beneficiary)
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
  }

  for (const n of NODES) {
    const ledger = world.nodes[n].ledger;
    const mints = new Map<string, number>();
    const burns = new Map<string, number>();
    for (const op of ledger.ops()) {
      if (op.applied > 1)
        v.push({
          invariant: 'no ledger operation applied twice',
          detail: `${ledger.id} ${op.op.opId} applied ${op.applied}×`,
        });
      if (op.applied && op.op.kind === 'mint') mints.set(op.op.assetId, (mints.get(op.op.assetId) ?? 0) + 1);
      if (op.applied && op.op.kind === 'burn' && op.op.opId.includes(':3.4:'))
        burns.set(op.op.assetId, (burns.get(op.op.assetId) ?? 0) + 1);
    }
    for (const [asset, k] of [...mints, ...burns])
      if (k > 1)
        v.push({ invariant: 'at most one mint and one forward burn per asset', detail: `${ledger.id} ${asset}: ${k}` });
    // Write-ahead: the ledger saw only operations whose exec its gateway had made durable.
    for (const op of ledger.ops()) {
      const t = world.transfers.find((x) => op.op.opId.startsWith(`${x.request.sessionId}:`));
      const chain = t ? (chains.get(logIdOf(t.request.sessionId, GW[n])) ?? []) : [];
      const logged = chain.some(
        (e) => e.operation === 'exec' && (e.payload as { op?: { opId?: string } }).op?.opId === op.op.opId,
      );
      if (!logged)
        v.push({
          invariant: 'every ledger operation was logged (exec) before it was called',
          detail: `${ledger.id} ${op.op.opId} has no exec in ${GW[n]}'s chain`,
        });
    }
  }

  // State is a fold over the chain: what a running gateway holds equals replay(its chain).
  for (const n of NODES) {
    const gw = world.nodes[n].inc?.gw;
    for (const s of gw?.sessions() ?? []) {
      const chain = chains.get(logIdOf(s.sessionId, GW[n])) ?? [];
      const diff = deepEqualState(s, replay(chain));
      if (diff) v.push({ invariant: 'live state equals replay(chain)', detail: `${GW[n]} ${s.sessionId}: ${diff}` });
    }
  }
  v.push(...world.traceViolations);
  return v;
}
