// What a gateway process prints for its store (docs/demo.md, the event table): one `append` line per entry of its
// own chain made durable, and one `copy` line per durable append to its copy of a peer's chain, however many
// entries that append holds (a recovered gateway copies thousands; a line each cost a tenth of its CPU time).
import { describe, expect, it } from 'vitest';
import { ObservedLogStore } from '../../cli/gateway-observe.ts';
import { emitter } from '../../cli/gateway-events.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { G1, G2, makeChain, verifyCtx } from '../support/fixtures.ts';

const SID = 's-observe';

function observed() {
  const lines: Record<string, unknown>[] = [];
  const store = new ObservedLogStore(new MemoryDriver(), {
    ...verifyCtx,
    maxBatch: 5,
    self: G1.id,
    emit: emitter(G1.id, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
    crash: (where) => {
      throw new Error(`crash ${where}`);
    },
  });
  return { store, lines };
}

describe('the store events of a gateway process', () => {
  it('prints each entry of its own chain', async () => {
    const { store, lines } = observed();
    const own = await makeChain(SID, 3, G1);
    await store.writeLogEntries(own);
    expect(lines.map((l) => [l.event, l.seq, l.author, l.hash])).toEqual(
      own.map((e) => ['append', e.seqNumber, G1.id, e.entryHash.slice(0, 12)]),
    );
  });

  it("prints one line per durable append of the peer's entries, naming the first, the last and how many", async () => {
    const { store, lines } = observed();
    const theirs = await makeChain(SID, 8, G2);
    await store.updateLog(`${SID}/${G2.id}`, theirs); // two appends: maxBatch is 5
    expect(lines.map(({ t: _t, ...rest }) => rest)).toEqual([
      {
        event: 'copy',
        gw: G1.id,
        session: SID,
        author: G2.id,
        from: 1,
        to: 5,
        entries: 5,
        hash: theirs[4]!.entryHash.slice(0, 12),
      },
      {
        event: 'copy',
        gw: G1.id,
        session: SID,
        author: G2.id,
        from: 6,
        to: 8,
        entries: 3,
        hash: theirs[7]!.entryHash.slice(0, 12),
      },
    ]);
  });
});
