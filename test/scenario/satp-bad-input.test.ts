// Bad input to a gateway: each refused with its SATP error code (SATP core §9.4), nothing changed, still serving.
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../../kernel/encoding.ts';
import { contextOf, MSG, type MessageOf, SATP_ERRORS, type SatpMessage } from '../../kernel/satp/index.ts';
import type { Envelope } from '../../kernel/satp/envelope.ts';
import {
  checkInvariants,
  DESTINATION,
  makePair,
  messageOf,
  ORIGIN,
  outcomes,
  type Pair,
  settle,
  signedBy,
  typeOf,
} from '../support/satp-pair.ts';
import { MALLORY } from '../support/fixtures.ts';

/** A transfer held just before the lock assertion reaches the destination. */
async function heldAtLockAssert(): Promise<{ pair: Pair; lockAssert: Envelope; commence: Envelope }> {
  const pair = await makePair();
  let held: Envelope | undefined;
  pair.drop = (_f, _t, env) => {
    if (typeOf(env) !== 'lock-assert-msg') return false;
    held ??= env;
    return true;
  };
  await pair.origin.gw.startTransfer(pair.request('s-bad'));
  for (let i = 0; i < 100 && !held; i++) await settle();
  const commence = pair.wire.find((w) => typeOf(w.env) === 'transfer-commence-msg')!.env;
  return { pair, lockAssert: held!, commence };
}

/** What must not change when a message is refused. */
async function snapshot(pair: Pair) {
  return {
    length: await pair.destination.store.getLogLength('s-bad/gw-destination'),
    state: structuredClone(pair.destination.gw.session('s-bad')),
    ops: pair.destination.ledger.ops().length + pair.origin.ledger.ops().length,
  };
}

const resign = (m: SatpMessage) => signedBy(ORIGIN, m);

describe('a gateway refuses bad input with its SATP error code and changes nothing', () => {
  const cases: [string, string, (x: { lockAssert: Envelope; pair: Pair }) => Promise<Envelope>][] = [
    [
      'a message for an unknown session',
      'err_2.2.2',
      ({ lockAssert }) => resign({ ...messageOf(lockAssert), sessionId: 's-nobody' } as SatpMessage),
    ],
    [
      'a message out of stage order (commit-prepare before the lock assertion)',
      'err_0.1.1',
      ({ lockAssert }) => {
        const m = messageOf(lockAssert) as SatpMessage & { hashPrevMessage: string };
        return resign({
          version: '1.0',
          messageType: MSG.commitPrepare,
          sessionId: m.sessionId,
          transferContextId: contextOf(m),
          hashPrevMessage: m.hashPrevMessage,
        });
      },
    ],
    [
      'a forged signature (signature bytes altered)',
      'err_0.1.3',
      async ({ lockAssert }) => ({ ...lockAssert, signature: toBase64Url(new Uint8Array(64).fill(7)) }),
    ],
    [
      "a signature by another key in the origin's name",
      'err_0.1.3',
      ({ lockAssert }) => signedBy({ ...MALLORY, id: ORIGIN.id }, messageOf(lockAssert)),
    ],
    [
      'a broken hashPrevMessage',
      'err_2.2.5',
      ({ lockAssert }) => resign({ ...messageOf(lockAssert), hashPrevMessage: 'ab'.repeat(32) } as SatpMessage),
    ],
    [
      'a mismatched transferContextId',
      'err_2.2.1',
      ({ lockAssert }) => resign({ ...messageOf(lockAssert), transferContextId: 'ctx-other' } as SatpMessage),
    ],
    [
      'a lock expiry already past',
      'err_2.2.9',
      ({ lockAssert, pair }) =>
        resign({
          ...messageOf(lockAssert),
          lockAssertionExpiration: new Date(pair.clock.now() - 1).toISOString(),
        } as SatpMessage),
    ],
  ];
  for (const [what, code, make] of cases) {
    it(`${what}: ${code}`, async () => {
      const { pair, lockAssert } = await heldAtLockAssert();
      const before = await snapshot(pair);
      const sent = pair.wire.length;
      const result = await pair.destination.gw.receive(ORIGIN.id, await make({ lockAssert, pair }));
      await settle();
      // The caller and the peer are told the same: the code's status from the table, in the result and in the
      // error-msg (sent only for an authentic message).
      const reply = pair.wire.slice(sent).find((w) => w.from === DESTINATION.id && typeOf(w.env) === 'error-msg');
      const told = reply && (messageOf(reply.env) as MessageOf<typeof MSG.error>);
      const status = told?.status ?? Object.values(SATP_ERRORS).find((e) => e.code === code)?.status;
      expect(told === undefined || told.type.endsWith(`:${code}`)).toBe(true);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(result).toEqual({ accepted: false, code, status, detail: expect.any(String) });
      expect(await snapshot(pair)).toEqual(before);
      // Still serving: the genuine lock assertion goes through and the transfer completes.
      pair.drop = () => false;
      await pair.destination.gw.receive(ORIGIN.id, lockAssert);
      expect(await outcomes(pair, 's-bad')).toEqual(['committed', 'committed']);
      await checkInvariants(pair, 's-bad');
    });
  }

  it(
    'a byte-identical replay of an accepted message gets ' + 'the same answer as the first time and changes nothing',
    async () => {
      const { pair, commence } = await heldAtLockAssert();
      const before = await snapshot(pair);
      const firstAnswer = pair.wire.find((w) => typeOf(w.env) === 'ack-commence-msg')!.env;
      const sent = pair.wire.length;
      expect(await pair.destination.gw.receive(ORIGIN.id, commence)).toEqual({ accepted: true });
      for (let i = 0; i < 20 && pair.wire.length === sent; i++) await settle();
      const again = pair.wire.slice(sent).find((w) => w.from === DESTINATION.id)!.env;
      expect(again.payload).toBe(firstAnswer.payload); // same message, same hash
      expect(await snapshot(pair)).toEqual(before);
    },
  );

  it('error-msgs never answer each other (a refused mismatched context once made the gateways ping-pong)', async () => {
    const { pair, lockAssert } = await heldAtLockAssert();
    // The refusal of a message with another context carries that context back; the origin used to refuse the
    // refusal, and so on forever. Cut the exchange after ten error-msgs so the old behaviour fails fast.
    let errors = 0;
    const hold = pair.drop;
    pair.drop = (f, t, env) => hold(f, t, env) || (typeOf(env) === 'error-msg' && ++errors > 10);
    const other = await resign({ ...messageOf(lockAssert), transferContextId: 'ctx-other' } as SatpMessage);
    expect(await pair.destination.gw.receive(ORIGIN.id, other)).toMatchObject({ accepted: false, code: 'err_2.2.1' });
    await settle();
    expect(errors).toBe(1);
    // And an error-msg that fails the session's checks is refused without a word back.
    const mismatched = pair.wire.find((w) => typeOf(w.env) === 'error-msg')!.env;
    const sent = pair.wire.length;
    expect(await pair.origin.gw.receive(DESTINATION.id, mismatched)).toMatchObject({ accepted: false });
    await settle();
    expect(pair.wire.length).toBe(sent);
  });

  it('an envelope that is not one, or whose sender is not the authenticated peer, is refused', async () => {
    const { pair, lockAssert } = await heldAtLockAssert();
    const before = await snapshot(pair);
    expect(await pair.destination.gw.receive(ORIGIN.id, { hello: 'world' })).toMatchObject({
      accepted: false,
      code: 'err_0.1.1',
    });
    expect(await pair.destination.gw.receive(MALLORY.id, lockAssert)).toMatchObject({
      accepted: false,
      code: 'err_0.1.2',
    });
    expect(await snapshot(pair)).toEqual(before);
  });
});
