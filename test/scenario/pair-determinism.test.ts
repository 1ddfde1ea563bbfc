// The scenario pair runs on the simulator's step rule: the same scenario gives the same run, message for message,
// however the machine's threads (WebCrypto signing, verification) happen to finish.
import { describe, expect, it } from 'vitest';
import { outcomeOf } from '../../kernel/satp/state.ts';
import { checkInvariants, crashSide, makePair, messageOf, type Pair, typeOf, until } from '../support/satp-pair.ts';

const SESSIONS = ['s-det-0', 's-det-1', 's-det-2', 's-det-3'];

/** Four transfers started one after the other, every 7th message lost, the destination crashed at the 12th. */
async function run(): Promise<{ trace: string[]; ops: string[]; clock: number; outcomes: string[] }> {
  const assets = SESSIONS.map((_, i) => `asset-${i}`);
  const pair: Pair = await makePair({ assets });
  let sent = 0;
  let crash: ReturnType<typeof crashSide> | undefined;
  const trace: string[] = [];
  pair.drop = (from, to, env) => {
    sent++;
    const lost = sent % 7 === 0;
    trace.push(`${pair.clock.t} ${from}>${to} ${messageOf(env).sessionId} ${typeOf(env)}${lost ? ' lost' : ''}`);
    if (sent === 12) pair.whenQuiet(() => (crash = crashSide(pair, 'destination')));
    return lost;
  };
  for (const [i, sessionId] of SESSIONS.entries())
    await pair.origin.gw.startTransfer(pair.request(sessionId, { assetId: assets[i], beneficiary: `bob-${i}` }));
  await until(pair, () => crash !== undefined, 60, 'the crash');
  await pair.clock.advance(20_000);
  await crash!.restart();
  const ended = () =>
    SESSIONS.every((s) => outcomeOf(pair.origin.gw.session(s)) && outcomeOf(pair.destination.gw.session(s)));
  await until(pair, ended, 600, 'every session ended');
  for (const [i, sessionId] of SESSIONS.entries()) await checkInvariants(pair, sessionId, assets[i], `bob-${i}`);
  const ops = [pair.origin.ledger, pair.destination.ledger].flatMap((l) => l.ops().map((o) => `${l.id} ${o.op.opId}`));
  const outcomes = SESSIONS.map(
    (s) => `${outcomeOf(pair.origin.gw.session(s))}/${outcomeOf(pair.destination.gw.session(s))}`,
  );
  return { trace, ops, clock: pair.clock.t, outcomes };
}

describe('the scenario pair is deterministic', () => {
  it('two runs of one lossy, crashing scenario send the same messages at the same times and end alike', async () => {
    const first = await run();
    const second = await run();
    expect(first.trace.length).toBeGreaterThan(4 * 11);
    expect(first.trace.some((t) => t.includes('recover-msg'))).toBe(true);
    expect(second.trace).toEqual(first.trace);
    expect(second.ops).toEqual(first.ops);
    expect(second.outcomes).toEqual(first.outcomes);
    expect(second.clock).toBe(first.clock);
  }, 120_000);
});
