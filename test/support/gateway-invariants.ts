// What must hold after every session, checked from outside once the gateway processes have
// exited: both LevelDBs reopened and every chain verified; the two ledger servers queried over HTTP.
// Returns the list of violations (empty when all hold) and the outcome counts.
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { keyTable, type PublicJwk } from '../../kernel/crypto/types.ts';
import { type LogEntry, logIdOf } from '../../kernel/entry.ts';
import type { AssetRecord, LedgerReceipt } from '../../kernel/ledger.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';
import { type ChainView, checkRun, type LedgerView, readChain } from './invariants.ts';

export interface TransferSpec {
  sessionId: string;
  assetId: string;
  originator: string;
  beneficiary: string;
  /** The origin and the destination gateway, when a side has several (default: the side's id). */
  origin?: string;
  destination?: string;
}

export interface GatewaySide {
  id: string;
  /** Its LevelDB directory; or `driver` opens its store (a shared PostgreSQL, say). */
  db: string;
  driver?: () => Promise<LogStoreDriver>;
  publicJwk: PublicJwk;
  /** The side's other gateways, whose chains the same store holds (several active gateways sharing a log). */
  also?: Record<string, PublicJwk>;
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

async function openStore(
  side: GatewaySide,
  keys: ReturnType<typeof keyTable>,
  successor?: SuccessorAuthority,
): Promise<LogStore> {
  const driver = side.driver ? await side.driver() : await LevelDriver.open(side.db);
  return new LogStore(driver, { keys, verifier: defaultVerifier(), ...(successor ? { successor } : {}) });
}

/** The op ids a session's gateways can ask of their ledgers (kernel/satp/ops.ts), by ledger. */
const OPS = {
  origin: ['2.1:lock', '3.4:burn', 'rollback:unlock'],
  destination: ['3.2:mint', '3.6:assign', 'rollback:burn'],
};

/**
 * The invariants of test/support/invariants.ts over what the exited processes left: both LevelDBs and the two
 * ledger servers, whose txSeq proves they recorded no op beyond the ones found by opId.
 */
export async function checkInvariants(o: {
  origin: GatewaySide;
  destination: GatewaySide;
  /** A ledger server's URL, or a reader of a ledger that is not one (an EVM chain: test/support/gateway-cluster.ts). */
  ledgerA: string | LedgerReader;
  ledgerB: string | LedgerReader;
  transfers: TransferSpec[];
  /** Who may take a gateway's place: needed to verify chains a backup took over. */
  successor?: SuccessorAuthority;
}): Promise<InvariantReport> {
  const report: InvariantReport = { problems: [], committed: 0, rolledBack: 0, destinationUnaware: 0, outcomes: {} };
  const keys = keyTable({
    [o.origin.id]: o.origin.publicJwk,
    [o.destination.id]: o.destination.publicJwk,
    ...o.origin.also,
    ...o.destination.also,
  });
  const ends = (t: TransferSpec) => ({
    origin: t.origin ?? o.origin.id,
    destination: t.destination ?? o.destination.id,
  });
  const idsOf = (side: GatewaySide) => new Set([side.id, ...Object.keys(side.also ?? {})]);
  const [os, ds] = [await openStore(o.origin, keys, o.successor), await openStore(o.destination, keys, o.successor)];
  const [la, lb] = [await readerOf(o.ledgerA), await readerOf(o.ledgerB)];
  try {
    const sides = [
      [o.origin, os],
      [o.destination, ds],
    ] as const;
    const chains: ChainView[] = [];
    const read = async (holder: string, store: LogStore, sessionId: string, author: string) => {
      const c = await readChain(store, holder, sessionId, author);
      if (c) chains.push(c);
    };
    const known = new Set(o.transfers.map((t) => t.sessionId));
    for (const [side, store] of sides) {
      for (const t of o.transfers) {
        const e = ends(t);
        const holder = side === o.origin ? e.origin : e.destination;
        for (const author of [e.origin, e.destination]) await read(holder, store, t.sessionId, author);
      }
      // Open chains of sessions no transfer accounts for are read too: the check counts them as violations.
      const ids = idsOf(side);
      for (const l of await store.listOpenLogs())
        if (!known.has(l.sessionId)) await read(ids.has(l.author) ? l.author : side.id, store, l.sessionId, l.author);
    }
    const ledgers: LedgerView[] = [];
    for (const [ledger, ids] of [
      [la, OPS.origin],
      [lb, OPS.destination],
    ] as const) {
      const records: LedgerView['records'][number][] = [];
      for (const t of o.transfers)
        for (const id of ids) {
          const receipt = await ledger.status(`${t.sessionId}:${id}`);
          if (receipt) records.push({ receipt, applied: receipt.ok ? 1 : 0 });
        }
      const assets = new Map((await ledger.listAssets()).map((a) => [a.assetId, a] as const));
      ledgers.push({ id: ledger.id, records, assets, recorded: await ledger.recorded() });
    }
    const transfers = o.transfers.map((t) => ({
      sessionId: t.sessionId,
      assetId: t.assetId,
      owner: t.originator,
      beneficiary: t.beneficiary,
      origin: { gateway: ends(t).origin, ledger: la.id },
      destination: { gateway: ends(t).destination, ledger: lb.id },
    }));
    const verdict = checkRun(chains, ledgers, transfers, { agreement: 'exact', closedWorld: true });
    report.problems.push(...verdict.violations.map((x) => `${x.invariant}: ${x.detail}`));
    for (const t of o.transfers) {
      const outcome = verdict.outcomes.get(t.sessionId);
      report.outcomes[t.sessionId] = outcome;
      // These runs start every transfer and never refuse a proposal: each ends committed or rolled back.
      if (outcome !== 'committed' && outcome !== 'rolled-back')
        report.problems.push(`${t.sessionId}: the origin ended ${outcome ?? 'never'}`);
      if (outcome === 'committed') report.committed++;
      if (outcome === 'rolled-back') report.rolledBack++;
      const d = ends(t).destination;
      if (!chains.some((c) => c.holder === d && c.logId === logIdOf(t.sessionId, d))) report.destinationUnaware++;
    }
  } finally {
    await Promise.allSettled([os.close(), ds.close()]);
  }
  return report;
}

/** What the invariants read of a ledger: receipts by op id, every asset, and how many ops it recorded (txSeq). */
export interface LedgerReader {
  id: string;
  status(opId: string): Promise<LedgerReceipt | undefined>;
  listAssets(): Promise<AssetRecord[]>;
  recorded(): Promise<number>;
}

async function readerOf(l: string | LedgerReader): Promise<LedgerReader> {
  if (typeof l !== 'string') return l;
  const h = await HttpLedger.connect(l);
  return {
    id: h.id,
    status: (opId) => h.status(opId),
    listAssets: () => h.listAssets(),
    recorded: async () => (await h.health()).txSeq,
  };
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
