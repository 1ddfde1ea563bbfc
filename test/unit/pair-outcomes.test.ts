// The scenario harness's `outcomes` (test/support/satp-pair.ts) waits for a session to end on both gateways. Named
// after a bug: it awaited both ends without moving the simulated clock, so a session that still needed a timer (a
// resend, a deadline) never ended, and the test hung until its timeout. Whether a timer was still needed could
// depend on how the host scheduled the two gateways' work, which made the tests that called it flaky under load.
import { describe, expect, it } from 'vitest';
import { makePair, outcomes, typeOf } from '../support/satp-pair.ts';

describe('outcomes (scenario harness)', () => {
  it('moves the clock while a session needs a timer: a lost message is resent and the transfer commits', async () => {
    const pair = await makePair();
    let lost = 0;
    pair.drop = (_from, _to, env) => typeOf(env) === 'lock-assert-msg' && lost++ === 0;
    const before = pair.clock.now();
    await pair.origin.gw.startTransfer(pair.request('s-resend'));
    expect(await outcomes(pair, 's-resend')).toEqual(['committed', 'committed']);
    expect(lost, 'the first lock assertion was lost, and one more was sent').toBeGreaterThanOrEqual(2);
    expect(pair.clock.now(), 'simulated time moved').toBeGreaterThan(before);
  }, 20_000);

  it('does not move the clock for a session that ends without a timer', async () => {
    const pair = await makePair();
    const before = pair.clock.now();
    await pair.origin.gw.startTransfer(pair.request('s-plain'));
    expect(await outcomes(pair, 's-plain')).toEqual(['committed', 'committed']);
    expect(pair.clock.now()).toBe(before);
  });

  it('gives up, naming the session, when it is still running after the bound', async () => {
    const pair = await makePair();
    pair.drop = () => true;
    await pair.origin.gw.startTransfer(pair.request('s-cut', { lockSeconds: 3_600 }));
    await expect(outcomes(pair, 's-cut', 2)).rejects.toThrow(/s-cut still running after 2 simulated seconds/);
  }, 20_000);
});
