// SATP core's assertion claims (lock, mint, burn, assignment) are open-ended JSON, checked in depth by the claim
// rules later; the schema holds each to a JSON object within the entry limits, or the message is refused as it
// arrives.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../kernel/satp/index.ts';
import { lastOnWire, makePair, outcomes } from '../support/satp-pair.ts';

describe('assertion claims', () => {
  it('must be JSON objects within the limits of a JSON value', async () => {
    const pair = await makePair();
    await pair.origin.gw.startTransfer(pair.request('s-claims'));
    expect(await outcomes(pair, 's-claims')).toEqual(['committed', 'committed']);
    const lock = lastOnWire(pair, 'lock-assert-msg') as unknown as Record<string, unknown>;
    const withClaim = (lockAssertionClaim: unknown) => parseMessage({ ...lock, lockAssertionClaim });
    expect(withClaim(lock.lockAssertionClaim).ok).toBe(true);
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    for (const bad of [null, 'claim', 7, true, deep]) {
      const r = withClaim(bad);
      expect(r.ok, JSON.stringify(bad).slice(0, 40)).toBe(false);
      if (!r.ok) expect(r.problem).toMatch(/^lockAssertionClaim/);
    }
  });
});
