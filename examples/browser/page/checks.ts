// What the page can prove about a run, for a person at the console and for test/process/browser-demo.test.ts:
// window.satpDemo.verify() verifies every chain of every session end to end (hash links and ES256 signatures, with
// the keys the page holds), reading each page gateway's database on a connection of its own, so it answers
// whether the gateway is up, booting or crashed; the Node gateway's chains are fetched raw and verified here.
// window.satpDemo.ledgers() reads every ledger's assets and journal.
import { defaultVerifier } from '../../../kernel/crypto/verifier.ts';
import { keyTable } from '../../../kernel/crypto/types.ts';
import { type ChainResult, verifyChain } from '../../../kernel/chain.ts';
import { logIdOf } from '../../../kernel/entry.ts';
import type { AssetRecord } from '../../../kernel/ledger.ts';
import { IndexedDbDriver } from '../../../storage/indexeddb.ts';
import { LogStore } from '../../../storage/log-store.ts';
import type { JournalLine, World } from './world.ts';

export interface ChainReport {
  /** Whose store holds the chain. */
  holder: string;
  author: string;
  session: string;
  ok: boolean;
  /** Entry hashes in order: a copy of a peer's chain must be a prefix of the peer's own. */
  hashes: string[];
  /** The outcome of the chain's end entry, if it has one. */
  outcome?: string;
  detail?: string;
}

export interface LedgerReport {
  id: string;
  assets: AssetRecord[];
  journal: JournalLine[];
}

function report(holder: string, author: string, session: string, r: ChainResult): ChainReport {
  if (!r.ok)
    return { holder, author, session, ok: false, hashes: [], detail: `${r.reason} at ${r.index}: ${r.detail}` };
  const last = r.entries.at(-1)?.payload as { kind?: unknown; outcome?: unknown } | undefined;
  return {
    holder,
    author,
    session,
    ok: true,
    hashes: r.entries.map((e) => e.entryHash),
    ...(last?.kind === 'end' && { outcome: String(last.outcome) }),
  };
}

export async function verifyChains(world: World, sessions: readonly string[]): Promise<ChainReport[]> {
  const ctx = { keys: keyTable(world.keys), verifier: defaultVerifier() };
  const out: ChainReport[] = [];
  for (const g of world.page) {
    const store = new LogStore(await IndexedDbDriver.open(g.database), ctx);
    try {
      for (const s of sessions)
        for (const author of [g.id, g.peer])
          out.push(report(g.id, author, s, await store.verifyLog(logIdOf(s, author))));
    } finally {
      await store.close();
    }
  }
  if (world.nodeChains) {
    const node = world.destination;
    for (const s of sessions) {
      const { own, copy } = await world.nodeChains(s);
      out.push(report(node, node, s, await verifyChain(own, ctx, { sessionId: s, author: node })));
      out.push(
        report(node, world.origin.id, s, await verifyChain(copy, ctx, { sessionId: s, author: world.origin.id })),
      );
    }
  }
  return out;
}

export function readLedgers(world: World): Promise<LedgerReport[]> {
  return Promise.all(
    world.ledgers.map(async (l) => ({ id: l.id, assets: await l.assets(), journal: await l.journal() })),
  );
}
