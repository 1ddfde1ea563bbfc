// What must hold at the end of every schedule (recovery-04 §5), checked on the disks and ledgers: the common
// invariants of test/support/invariants.ts, and what only the simulator can see (its forgeries, live state).
import { type LogEntry, logIdOf, parseLogId } from '../../kernel/entry.ts';
import { replay } from '../../kernel/satp/index.ts';
import { LogStore } from '../../storage/log-store.ts';
import {
  type ChainView,
  checkRun,
  type LedgerView,
  memoryLedgerView,
  readChain,
  type Violation,
} from '../support/invariants.ts';
import { deepEqualState } from './state-equal.ts';
import { GW, NODES, other } from './names.ts';
import type { World } from './world.ts';

export type { Violation } from '../support/invariants.ts';

/** Checks every invariant; also tallies outcomes, disputes and deadline rollbacks into world.counts. */
export async function checkInvariants(world: World): Promise<Violation[]> {
  // Each gateway's own chains, and the copies of its peer's chains that RECOVER-UPDATE brought it. A copy is
  // checked entry for entry against its author's verified chain: equal entries verify alike, and that is
  // stricter and cheaper than verifying the copy on its own.
  const chains: ChainView[] = [];
  for (const n of NODES) {
    const store = new LogStore(world.nodes[n].disk, { keys: world.keys, verifier: world.verifier });
    for (const [logId, texts] of world.nodes[n].disk.logs) {
      const { sessionId, author } = parseLogId(logId)!;
      const view = { holder: GW[n], author, sessionId, logId };
      if (author !== GW[n]) {
        chains.push({ ...view, entries: texts.map((t) => JSON.parse(t) as LogEntry) });
        continue;
      }
      const own = await readChain(store, GW[n], sessionId, author);
      if (own) chains.push(own);
    }
  }
  const ledgers: LedgerView[] = [];
  for (const n of NODES) ledgers.push(await memoryLedgerView(world.nodes[n].ledger));
  const transfers = world.transfers.map((t) => ({
    sessionId: t.request.sessionId,
    assetId: t.request.assetId,
    owner: t.owner,
    beneficiary: t.request.beneficiary,
    origin: { gateway: GW[t.origin], ledger: world.nodes[t.origin].ledger.id },
    destination: { gateway: GW[other(t.origin)], ledger: world.nodes[other(t.origin)].ledger.id },
  }));
  const verdict = checkRun(chains, ledgers, transfers, { agreement: 'moved', closedWorld: true });
  const v = verdict.violations;
  world.counts.disputes += verdict.disputes;
  world.counts.deadlineRollbacks += verdict.deadlineRollbacks;
  for (const outcome of verdict.outcomes.values()) if (outcome) world.counts.outcomes[outcome as Outcome]++;

  // No forged message was ever accepted into a chain.
  for (const c of chains) {
    if (c.holder !== c.author) continue;
    for (const e of c.entries) {
      const p = e.payload as { hash?: string; from?: string };
      const forged = e.operation === 'ack' && world.liar?.forged.get(`${p.hash}|${p.from}`);
      if (forged)
        v.push({
          invariant: 'no forged message is acted on',
          detail: `${c.logId} seq ${e.seqNumber} accepted a ${forged} forgery (${e.step}: ${e.actionResponse})`,
        });
    }
  }

  // State is a fold over the chain: what a running gateway holds equals replay(its chain).
  const own = new Map(chains.filter((c) => c.holder === c.author).map((c) => [c.logId, c.entries] as const));
  for (const n of NODES) {
    const gw = world.nodes[n].inc?.gw;
    for (const s of gw?.sessions() ?? []) {
      const diff = deepEqualState(s, replay([...(own.get(logIdOf(s.sessionId, GW[n])) ?? [])]));
      if (diff) v.push({ invariant: 'live state equals replay(chain)', detail: `${GW[n]} ${s.sessionId}: ${diff}` });
    }
  }
  v.push(...world.traceViolations);
  return v;
}

type Outcome = keyof World['counts']['outcomes'];
