// What must hold after every session, checked from outside once the gateway processes have
// exited: both LevelDBs reopened and every chain verified; the two ledger servers queried over HTTP.
// Returns the list of violations (empty when all hold) and the outcome counts.
import { isDeepStrictEqual } from 'node:util';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { keyTable, type PublicJwk } from '../../kernel/crypto/types.ts';
import { type LogEntry, logIdOf } from '../../kernel/entry.ts';
import type { AssetRecord, LedgerReceipt } from '../../kernel/ledger.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';

export interface TransferSpec {
  sessionId: string;
  assetId: string;
  originator: string;
  beneficiary: string;
}

export interface GatewaySide {
  id: string;
  db: string;
  publicJwk: PublicJwk;
}

export interface InvariantReport {
  problems: string[];
  committed: number;
  rolledBack: number;
  /** Sessions the destination never heard of (the origin rolled back alone). */
  destinationUnaware: number;
  /** Each session's outcome, as the origin's chain ends. */
  outcomes: Record<string, string | undefined>;
}

const outcomeOf = (chain: LogEntry[]): string | undefined => {
  const last = chain.at(-1);
  return last?.step === 'end' ? (last.payload as { outcome?: string }).outcome : undefined;
};

/** The receipts a chain logged for its ledger calls (done and fail entries), by opId. */
function loggedReceipts(chain: LogEntry[]): Map<string, LedgerReceipt> {
  const out = new Map<string, LedgerReceipt>();
  for (const e of chain) {
    const p = e.payload as { kind?: string; receipt?: LedgerReceipt };
    if ((p.kind === 'ledger-done' || p.kind === 'ledger-failed') && p.receipt) out.set(p.receipt.opId, p.receipt);
  }
  return out;
}

async function openStore(side: GatewaySide, keys: ReturnType<typeof keyTable>): Promise<LogStore> {
  return new LogStore(await LevelDriver.open(side.db), { keys, verifier: defaultVerifier() });
}

export async function checkInvariants(o: {
  origin: GatewaySide;
  destination: GatewaySide;
  ledgerA: string;
  ledgerB: string;
  transfers: TransferSpec[];
}): Promise<InvariantReport> {
  const problems: string[] = [];
  const report: InvariantReport = { problems, committed: 0, rolledBack: 0, destinationUnaware: 0, outcomes: {} };
  const keys = keyTable({ [o.origin.id]: o.origin.publicJwk, [o.destination.id]: o.destination.publicJwk });
  const [os, ds] = [await openStore(o.origin, keys), await openStore(o.destination, keys)];
  const [la, lb] = [await HttpLedger.connect(o.ledgerA), await HttpLedger.connect(o.ledgerB)];
  try {
    for (const [side, store] of [
      [o.origin, os],
      [o.destination, ds],
    ] as const) {
      const open = (await store.listOpenLogs()).filter((l) => l.author === side.id);
      if (open.length)
        problems.push(
          `${side.id}: ${open.length} sessions never ended: ${open
            .slice(0, 5)
            .map((l) => l.sessionId)
            .join(', ')}`,
        );
    }
    const assetsA = new Map((await la.listAssets()).map((a) => [a.assetId, a] as const));
    const assetsB = new Map((await lb.listAssets()).map((a) => [a.assetId, a] as const));
    let recordedA = 0;
    let recordedB = 0;
    for (const t of o.transfers) {
      const s = t.sessionId;
      const chains: Record<string, LogEntry[]> = {};
      for (const [side, store] of [
        [o.origin, os],
        [o.destination, ds],
      ] as const) {
        const logId = logIdOf(s, side.id);
        if ((await store.getLogLength(logId)) === 0) continue;
        const v = await store.verifyLog(logId);
        if (!v.ok) problems.push(`${logId}: chain does not verify at entry ${v.index}: ${v.reason}: ${v.detail}`);
        else chains[side.id] = v.entries;
      }
      const oc = chains[o.origin.id];
      const dc = chains[o.destination.id];
      if (!oc) {
        problems.push(`${s}: the origin has no chain`);
        continue;
      }
      const outcome = outcomeOf(oc);
      report.outcomes[s] = outcome;
      if (outcome !== 'committed' && outcome !== 'rolled-back')
        problems.push(`${s}: the origin ended ${outcome ?? 'never'}`);
      if (dc && outcomeOf(dc) !== outcome)
        problems.push(`${s}: outcomes differ: origin ${outcome}, destination ${outcomeOf(dc) ?? 'never ended'}`);
      if (!dc) {
        report.destinationUnaware++;
        if (outcome !== 'rolled-back') problems.push(`${s}: the destination has no chain but the origin ${outcome}`);
      }
      if (outcome === 'committed') report.committed++;
      if (outcome === 'rolled-back') report.rolledBack++;

      // Each gateway's copy of its peer's chain (from RECOVER-UPDATE) is a verified prefix of that chain.
      for (const [holder, store, author, chain] of [
        [o.origin, os, o.destination, dc],
        [o.destination, ds, o.origin, oc],
      ] as const) {
        const logId = logIdOf(s, author.id);
        if ((await store.getLogLength(logId)) === 0) continue;
        const v = await store.verifyLog(logId);
        if (!v.ok) problems.push(`${holder.id}'s copy of ${logId} does not verify: ${v.reason}`);
        else if (!chain || v.entries.some((e, i) => chain[i]?.entryHash !== e.entryHash))
          problems.push(`${holder.id}'s copy of ${logId} is not a prefix of the chain itself`);
      }

      // The asset lives on exactly one ledger, owned by the right party.
      const a = assetsA.get(t.assetId);
      const b = assetsB.get(t.assetId);
      const live = (x: AssetRecord | undefined) => x !== undefined && x.state !== 'burned';
      if (Number(live(a)) + Number(live(b)) !== 1)
        problems.push(
          `${s}: ${t.assetId} is live on ${Number(live(a)) + Number(live(b))} ledgers (A ${a?.state}, B ${b?.state})`,
        );
      if (outcome === 'committed' && !(a?.state === 'burned' && b?.state === 'active' && b.owner === t.beneficiary)) {
        problems.push(`${s}: committed, but A has ${a?.state}/${a?.owner} and B has ${b?.state}/${b?.owner}`);
      }
      if (
        outcome === 'rolled-back' &&
        !(a?.state === 'active' && a.owner === t.originator && (b === undefined || b.state === 'burned'))
      ) {
        problems.push(`${s}: rolled back, but A has ${a?.state}/${a?.owner} and B has ${b?.state}/${b?.owner}`);
      }

      // Every op the gateways could have issued for this session: recorded at most once (records are keyed
      // by opId), with exactly the receipt the gateway logged. txSeq below proves there are no others.
      const ops: [HttpLedger, string, LogEntry[] | undefined][] = [
        [la, `${s}:2.1:lock`, oc],
        [la, `${s}:3.4:burn`, oc],
        [la, `${s}:rollback:unlock`, oc],
        [lb, `${s}:3.2:mint`, dc],
        [lb, `${s}:3.6:assign`, dc],
        [lb, `${s}:rollback:burn`, dc],
      ];
      const ok: Record<string, boolean> = {};
      for (const [ledger, opId, chain] of ops) {
        const r = await ledger.status(opId);
        if (!r) continue;
        if (ledger === la) recordedA++;
        else recordedB++;
        ok[opId.slice(s.length + 1)] = r.ok;
        const logged = chain && loggedReceipts(chain).get(opId);
        if (logged && !isDeepStrictEqual(logged, r))
          problems.push(`${opId}: the gateway logged another receipt than the ledger recorded`);
      }
      if (
        outcome === 'committed' &&
        !(
          ok['2.1:lock'] &&
          ok['3.4:burn'] &&
          ok['3.2:mint'] &&
          ok['3.6:assign'] &&
          !ok['rollback:unlock'] &&
          !ok['rollback:burn']
        )
      ) {
        problems.push(`${s}: committed with ops ${JSON.stringify(ok)}`);
      }
      if (
        outcome === 'rolled-back' &&
        (ok['3.4:burn'] ||
          ok['3.6:assign'] ||
          (ok['2.1:lock'] && !ok['rollback:unlock']) ||
          (ok['3.2:mint'] && !ok['rollback:burn']))
      ) {
        problems.push(`${s}: rolled back with ops ${JSON.stringify(ok)}`);
      }
    }
    // txSeq counts every op a ledger recorded: equal to the ops found above, so none applied outside them.
    const [ha, hb] = [await la.health(), await lb.health()];
    if (ha.txSeq !== recordedA)
      problems.push(`ledger A recorded ${ha.txSeq} ops, the sessions account for ${recordedA}`);
    if (hb.txSeq !== recordedB)
      problems.push(`ledger B recorded ${hb.txSeq} ops, the sessions account for ${recordedB}`);
  } finally {
    await Promise.allSettled([os.close(), ds.close()]);
  }
  return report;
}

/** One gateway's own chain of a session, read from its LevelDB (once its process has exited) and verified. */
export async function readOwnChain(side: GatewaySide, peer: GatewaySide, sessionId: string): Promise<LogEntry[]> {
  const store = await openStore(side, keyTable({ [side.id]: side.publicJwk, [peer.id]: peer.publicJwk }));
  try {
    const logId = logIdOf(sessionId, side.id);
    const v = await store.verifyLog(logId);
    if (!v.ok) throw new Error(`${logId}: chain does not verify at entry ${v.index}: ${v.reason}: ${v.detail}`);
    return v.entries;
  } finally {
    await store.close().catch(() => undefined);
  }
}
