// What each gateway logs at each step of a committed transfer, as docs/log-format.md lists it beside recovery-04
// Figures 1 and 2: the trail of both chains, `<step> <operation>`, so the page and the kernel cannot drift apart.
import { describe, expect, it } from 'vitest';
import { logIdOf } from '../../kernel/entry.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';
import { DESTINATION, makePair, ORIGIN, outcomes, until } from '../support/satp-pair.ts';

const ORIGIN_TRAIL = [
  ['1.1 init', '1.1 init', '1.1 exec', '1.2 ack', '1.3 init', '1.3 exec', '1.4 ack'],
  ['2.1 init', '2.1 exec', '2.1 done', '2.2 init', '2.2 exec', '2.4 ack'],
  ['3.1 init', '3.1 exec', '3.3 ack', '3.4 init', '3.4 exec', '3.4 done', '3.5 init', '3.5 exec', '3.7 ack'],
  ['3.8 init', '3.8 done', '3.9 init', '3.9 exec', 'end done'],
].flat();
const DESTINATION_TRAIL = [
  ['1.1 ack', '1.2 init', '1.2 exec', '1.3 ack', '1.4 init', '1.4 exec'],
  ['2.2 ack', '2.3 init', '2.3 done', '2.4 init', '2.4 exec'],
  ['3.1 ack', '3.2 init', '3.2 exec', '3.2 done', '3.3 init', '3.3 exec'],
  ['3.5 ack', '3.6 init', '3.6 exec', '3.6 done', '3.7 init', '3.7 exec', '3.9 ack', 'end done'],
].flat();

describe('the log trail of a committed transfer (docs/log-format.md, against recovery-04 Figures 1-2)', () => {
  it('each chain holds the steps and operations the page lists; a received message is logged as ack', async () => {
    const pair = await makePair();
    await pair.origin.gw.startTransfer(pair.request('s-trail'));
    const ended = () =>
      !!outcomeOf(pair.origin.gw.session('s-trail')) && !!outcomeOf(pair.destination.gw.session('s-trail'));
    await until(pair, ended, 30, 's-trail ends');
    expect(await outcomes(pair, 's-trail')).toEqual(['committed', 'committed']);
    const trail = async (side: typeof pair.origin, id: string) =>
      (await side.store.getLog(logIdOf('s-trail', id))).map((e) => `${e.step} ${e.operation}`);
    expect(await trail(pair.origin, ORIGIN.id)).toEqual(ORIGIN_TRAIL);
    expect(await trail(pair.destination, DESTINATION.id)).toEqual(DESTINATION_TRAIL);
    // Figure 2's exchange: the destination's first entry about the lock assertion is the ack of the received message.
    const lockAssert = (await pair.destination.store.getLog(logIdOf('s-trail', DESTINATION.id))).find(
      (e) => e.step === '2.2',
    );
    expect(lockAssert?.actionResponse).toBe('accepted lock-assert-msg');
  });
});
