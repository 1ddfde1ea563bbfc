// Issue 15: a gateway that runs for months must not hold every session it ever ran. Ended sessions past
// GatewayOptions.keepEnded are forgotten; their log is the memory. A late duplicate about a forgotten session, and
// a caller waiting on it, get from the log what they would have got from memory, and no ledger op runs again.
import { describe, expect, it } from 'vitest';
import { checkRun } from '../support/invariants.ts';
import { messageOf, observePair, type Pair, makePair, outcomes, settle, typeOf } from '../support/satp-pair.ts';

const SESSIONS = 6;
const assets = Array.from({ length: SESSIONS }, (_, i) => `asset-${i}`);

async function runAll(pair: Pair): Promise<void> {
  for (let i = 0; i < SESSIONS; i++) {
    const id = `s-${i}`;
    const started = await pair.origin.gw.startTransfer(pair.request(id, { assetId: `asset-${i}` }));
    expect(started.accepted, id).toBe(true);
    expect(await outcomes(pair, id, 60), id).toEqual(['committed', 'committed']);
  }
  await settle();
}

/** Delivers again, byte for byte, the last message of `type` that crossed the wire in session `id`; what came back. */
async function redeliver(pair: Pair, id: string, type: string) {
  const sent = pair.wire.findLast((w) => typeOf(w.env) === type && messageOf(w.env).sessionId === id);
  if (!sent) throw new Error(`no ${type} in ${id}`);
  const to = sent.to === pair.origin.config.id ? pair.origin : pair.destination;
  const before = pair.wire.length;
  const result = await to.gw.receive(sent.from, structuredClone(sent.env));
  await settle();
  const replies = pair.wire.slice(before).map((w) => {
    const { messageType, sessionId, sequenceNumber } = messageOf(w.env) as unknown as Record<string, unknown>;
    return { from: w.from, messageType, sessionId, sequenceNumber };
  });
  return { result, replies };
}

describe('ended sessions leave memory (GatewayOptions.keepEnded)', () => {
  it('a gateway that ran six transfers holds only the two it kept; the log still answers for the rest', async () => {
    const pair = await makePair({ assets, keepEnded: 2 });
    await runAll(pair);
    for (const side of [pair.origin, pair.destination]) {
      expect(
        side.gw
          .sessions()
          .map((s) => s.sessionId)
          .sort(),
        side.config.id,
      ).toEqual(['s-4', 's-5']);
      expect(side.gw.session('s-0'), 'forgotten').toBeUndefined();
    }
    // A caller asking after a forgotten session is answered from its log.
    expect(await outcomes(pair, 's-0')).toEqual(['committed', 'committed']);
    // Every session's chains verify and agree, and each asset is on ledger B with bob, moved once.
    for (let i = 0; i < SESSIONS; i++) {
      const { chains, ledgers, transfer } = await observePair(pair, `s-${i}`, `asset-${i}`);
      const verdict = checkRun(chains, ledgers, [transfer], { agreement: 'exact', closedWorld: false });
      expect(verdict.violations, `s-${i}`).toEqual([]);
      expect(verdict.outcomes.get(`s-${i}`)).toBe('committed');
    }
  });

  it('a duplicate about a forgotten session gets the answer a held one gets; no ledger op runs again', async () => {
    // One pair at a time: the simulated network and its scheduler belong to the pair made last.
    const DUPLICATES = ['commit-final-msg', 'commit-transfer-complete-msg', 'ack-commit-final-msg', 'lock-assert-msg'];
    const ops = (p: Pair) => [...p.origin.ledger.ops(), ...p.destination.ledger.ops()];
    const answers = async (p: Pair) => {
      const out: Record<string, Awaited<ReturnType<typeof redeliver>>> = {};
      for (const type of DUPLICATES)
        for (const id of ['s-0', 's-3']) out[`${type} in ${id}`] = await redeliver(p, id, type);
      return out;
    };
    const keeping = await makePair({ assets });
    await runAll(keeping);
    expect(keeping.origin.gw.sessions()).toHaveLength(SESSIONS);
    const fromMemory = await answers(keeping);

    const forgetful = await makePair({ assets, keepEnded: 0 });
    await runAll(forgetful);
    expect(forgetful.origin.gw.sessions()).toEqual([]);
    expect(forgetful.destination.gw.sessions()).toEqual([]);
    const opsBefore = ops(forgetful).length;
    const fromLog = await answers(forgetful);
    expect(fromLog).toEqual(fromMemory);
    expect(Object.values(fromLog).flatMap((a) => a.replies).length, 'some duplicates were answered').toBeGreaterThan(0);
    expect(ops(forgetful)).toHaveLength(opsBefore);
    for (const r of ops(forgetful)) expect(r.applied, r.receipt.opId).toBeLessThanOrEqual(1);
    // Answered, then forgotten again.
    expect(forgetful.destination.gw.sessions()).toEqual([]);
  });
});
