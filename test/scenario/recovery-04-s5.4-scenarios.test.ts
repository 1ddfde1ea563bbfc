// recovery-04 §5.4's three examples, and §5.3.3's dispute, between two gateways in one process.
import { rewriteHistory } from '../support/rewrite-history.ts';
import { describe, expect, it } from 'vitest';
import {
  checkInvariants,
  crashSide,
  DESTINATION,
  makePair,
  messageOf,
  ORIGIN,
  outcomes,
  type Pair,
  signedBy,
  typeOf,
  until,
  crashOriginAfterSending,
} from '../support/satp-pair.ts';
import type { SatpMessage } from '../../kernel/satp/index.ts';
import { outcomeOf, rolledBackOrRollingBack } from '../../kernel/satp/state.ts';

/** The recovery messages a gateway logged, in order (recovery-04 §4's optional recovery fields). */
async function recoveryTrail(pair: Pair, who: 'origin' | 'destination', sessionId: string): Promise<string[]> {
  const side = pair[who];
  return (await side.store.getLog(`${sessionId}/${side.config.id}`))
    .filter((e) => e.recoveryMessage)
    .map((e) => `${e.operation}:${e.recoveryMessage}`);
}

/** Takes the origin down: closed (all it had in memory is gone) and unreachable until restarted. */
const crashOrigin = (pair: Pair) => crashSide(pair, 'origin');

const HANDSHAKE = [
  'recover-msg',
  'recover-update-msg',
  'recover-update-ack-msg',
  'recover-success-msg',
  'recover-dispute-msg',
];

/**
 * recovery-04 §5.1: the recovered gateway resumes SATP only after RECOVER-SUCCESS. The transfer and
 * rollback messages it put on the wire between its first RECOVER (from `from` on) and the RECOVER-SUCCESS
 * it received: there must be none.
 */
function satpSentWhileRecovering(pair: Pair, who: string, from = 0): string[] {
  const wire = pair.wire.slice(from);
  const start = wire.findIndex((w) => w.from === who && typeOf(w.env) === 'recover-msg');
  const success = wire.findIndex((w, i) => i > start && w.to === who && typeOf(w.env) === 'recover-success-msg');
  expect(start, 'a RECOVER was sent').toBeGreaterThanOrEqual(0);
  expect(success, 'a RECOVER-SUCCESS came back').toBeGreaterThan(start);
  return wire
    .slice(start, success)
    .filter((w) => w.from === who && !HANDSHAKE.includes(typeOf(w.env)))
    .map((w) => typeOf(w.env));
}

describe('recovery-04 §5.4', () => {
  it(
    '§5.4.1 crash before issuing a command: the origin logged the proposal, ' +
      'crashed before sending it, recovers and completes',
    async () => {
      const pair = await makePair();
      let sent = false;
      // the send never happened
      pair.drop = (_f, _t, env) => !sent && typeOf(env) === 'transfer-proposal-msg' && (sent = true);
      await pair.origin.gw.startTransfer(pair.request('s-541'));
      const down = crashOrigin(pair);
      await pair.clock.advance(5_000);
      const restartedAt = pair.wire.length;
      await down.restart();
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-541')) && !!outcomeOf(pair.destination.gw.session('s-541')),
        60,
      );
      expect(await outcomes(pair, 's-541')).toEqual(['committed', 'committed']);
      expect(satpSentWhileRecovering(pair, ORIGIN.id, restartedAt), 'SATP resumes only after RECOVER-SUCCESS').toEqual(
        [],
      );
      await checkInvariants(pair, 's-541');
      // The peer had no session yet: it answered from nothing; the origin logged the whole exchange.
      expect(await recoveryTrail(pair, 'origin', 's-541')).toEqual([
        'exec:recover-msg',
        'ack:recover-update-msg',
        'exec:recover-update-ack-msg',
        'ack:recover-success-msg',
      ]);
    },
  );

  it(
    '§5.4.2 crash after issuing a command: the destination acted and answered while the origin was down; ' +
      'RECOVER brings its entries; the transfer completes',
    async () => {
      const pair = await makePair();
      // The origin crashes right after sending the lock assertion.
      const down = crashOriginAfterSending(pair, 'lock-assert-msg');
      await pair.origin.gw.startTransfer(pair.request('s-542'));
      await until(
        pair,
        () =>
          !!down() &&
          Object.values(pair.destination.gw.session('s-542')?.sent ?? {}).some((t) =>
            t.endsWith('assertion-receipt-msg'),
          ),
        30,
      );
      await pair.clock.advance(5_000);
      const restartedAt = pair.wire.length;
      await down()!.restart();
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-542')) && !!outcomeOf(pair.destination.gw.session('s-542')),
        60,
      );
      expect(await outcomes(pair, 's-542')).toEqual(['committed', 'committed']);
      expect(satpSentWhileRecovering(pair, ORIGIN.id, restartedAt), 'SATP resumes only after RECOVER-SUCCESS').toEqual(
        [],
      );
      await checkInvariants(pair, 's-542');
      const trail = await recoveryTrail(pair, 'origin', 's-542');
      expect(trail.slice(0, 4)).toEqual([
        'exec:recover-msg',
        'ack:recover-update-msg',
        'exec:recover-update-ack-msg',
        'ack:recover-success-msg',
      ]);
      // The origin now holds a verified copy of the destination's chain up to what it had done.
      const copy = await pair.origin.store.verifyLog('s-542/gw-destination');
      expect(copy.ok && copy.entries.some((e) => e.step === '2.4')).toBe(true);
    },
  );

  it(
    '§5.4.3 rollback after the counterparty crashed past the deadline: ' +
      'the destination rolls back, the origin recovers, learns it, and rolls back too',
    async () => {
      const pair = await makePair();
      const down = crashOriginAfterSending(pair, 'commit-prepare-msg');
      await pair.origin.gw.startTransfer(pair.request('s-543', { lockSeconds: 30 }));
      // The destination mints, answers into the void, passes its deadline, asks the origin ledger, rolls back.
      await until(
        pair,
        () =>
          rolledBackOrRollingBack(pair.destination.gw.session('s-543')) &&
          pair.destination.ledger.ops().some((o) => o.op.opId.endsWith(':rollback:burn')),
        120,
        'destination rollback',
      );
      expect(pair.destination.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['mint:1', 'burn:1']);
      await down()!.restart();
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-543')) && !!outcomeOf(pair.destination.gw.session('s-543')),
        120,
        'both ended',
      );
      expect(await outcomes(pair, 's-543')).toEqual(['rolled-back', 'rolled-back']);
      await checkInvariants(pair, 's-543');
      expect(pair.origin.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['lock:1', 'unlock:1']);
      expect((await recoveryTrail(pair, 'origin', 's-543'))[0]).toBe('exec:recover-msg');
      const dLog = await pair.destination.store.getLog('s-543/gw-destination');
      expect(dLog.some((e) => e.step === 'deadline' && (e.payload as { burned?: boolean }).burned === false)).toBe(
        true,
      );
    },
  );

  it(
    "§5.4.3 with the peer's ROLLBACK first: " +
      'the origin ends rolled back while its RECOVER is under way, and still answers RECOVER-UPDATE',
    async () => {
      const pair = await makePair();
      const down = crashOriginAfterSending(pair, 'commit-prepare-msg');
      await pair.origin.gw.startTransfer(pair.request('s-543b', { lockSeconds: 30 }));
      await until(
        pair,
        () => pair.destination.ledger.ops().some((o) => o.op.opId.endsWith(':rollback:burn')),
        120,
        'destination rollback',
      );
      // RECOVER-UPDATE reaches the origin only after its session ended (the destination's resent ROLLBACK ends it).
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      pair.intercept = async (_from, _to, env) => {
        if (typeOf(env) === 'recover-update-msg') await held;
        return undefined;
      };
      await down()!.restart();
      await until(pair, () => !!outcomeOf(pair.origin.gw.session('s-543b')), 120, 'the origin ended');
      release();
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-543b')) && !!outcomeOf(pair.destination.gw.session('s-543b')),
        120,
        'both ended',
      );
      await until(
        pair,
        () => pair.wire.some((w) => w.to === ORIGIN.id && typeOf(w.env) === 'recover-success-msg'),
        30,
        'the handshake finished',
      );
      expect(await outcomes(pair, 's-543b')).toEqual(['rolled-back', 'rolled-back']);
      await checkInvariants(pair, 's-543b');
      const order = pair.wire
        .filter((w) => HANDSHAKE.includes(typeOf(w.env)))
        .map((w) => `${w.from === ORIGIN.id ? 'O' : 'D'}:${typeOf(w.env)}`);
      expect(order).toEqual([
        'O:recover-msg',
        'D:recover-update-msg',
        'O:recover-update-ack-msg',
        'D:recover-success-msg',
      ]);
      // Ended before the update arrived: the origin's answers are unlogged, its chain ends with its end entry.
      const log = await pair.origin.store.getLog('s-543b/gw-origin');
      expect(log.at(-1)?.step).toBe('end');
      expect(log.filter((e) => e.recoveryMessage).map((e) => e.recoveryMessage)).toEqual(['recover-msg']);
    },
  );

  it(
    '§5.1 the burn was in flight at the crash: at boot the origin settles it with the ledger, ' +
      'but sends commit-final only after RECOVER-SUCCESS',
    async () => {
      const pair = await makePair();
      const ledger = pair.origin.ledger;
      const execute = ledger.execute.bind(ledger);
      let down: { restart: () => Promise<void> } | undefined;
      // The burn's ledger call never returns to this incarnation: the origin crashes with it in flight.
      ledger.execute = (op) => {
        if (op.kind !== 'burn' || down) return execute(op);
        down = crashOrigin(pair);
        return new Promise(() => {});
      };
      await pair.origin.gw.startTransfer(pair.request('s-51'));
      await until(pair, () => !!down, 30, 'origin down with the burn in flight');
      ledger.execute = execute;
      const restartedAt = pair.wire.length;
      await down!.restart();
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-51')) && !!outcomeOf(pair.destination.gw.session('s-51')),
        60,
        'both ended',
      );
      expect(await outcomes(pair, 's-51')).toEqual(['committed', 'committed']);
      await checkInvariants(pair, 's-51');
      expect(pair.origin.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['lock:1', 'burn:1']);
      expect(satpSentWhileRecovering(pair, ORIGIN.id, restartedAt), 'SATP resumes only after RECOVER-SUCCESS').toEqual(
        [],
      );
    },
  );

  it(
    '§5.3.3 inconsistent views of a chain end in RECOVER-DISPUTE: ' +
      'both sessions frozen for an operator, both chains kept',
    async () => {
      const pair = await makePair();
      const down = crashOriginAfterSending(pair, 'lock-assert-msg');
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg'; // hold the transfer open
      await pair.origin.gw.startTransfer(pair.request('s-disp'));
      await until(pair, () => !!down(), 30, 'origin down');
      await down()!.restart(); // first recovery: the origin now holds a copy of the destination's chain
      await until(pair, () => (pair.origin.gw.session('s-disp')?.peerCopy.seq ?? 0) > 0, 30, 'first recovery');
      pair.drop = () => true; // the network goes quiet
      const view = pair.origin.gw.session('s-disp')!.peerCopy;
      // The destination's history is rewritten from that point (as if restored from an old backup and
      // re-run): a valid chain of its own, but not the one the origin holds a copy of.
      await rewriteHistory(pair.destination.store.driver, 's-disp/gw-destination', view.seq, DESTINATION.signer);
      pair.destination.gw.close();
      await pair.restart('destination');
      pair.origin.gw.close();
      pair.drop = () => false;
      await pair.restart('origin');
      await until(
        pair,
        () =>
          pair.origin.gw.session('s-disp')?.status.kind === 'disputed' &&
          pair.destination.gw.session('s-disp')?.status.kind === 'disputed',
        30,
        'both disputed',
      );
      for (const side of [pair.origin, pair.destination]) {
        const st = side.gw.session('s-disp')!;
        expect(outcomeOf(st), 'a disputed session is not ended: it waits for an operator').toBeUndefined();
        expect(side.reports.some((r) => r.report.kind === 'needs-operator' && /dispute/.test(r.report.detail))).toBe(
          true,
        );
        expect((await side.store.verifyLog(`s-disp/${side.config.id}`)).ok, 'its own chain is kept and verifies').toBe(
          true,
        );
        expect((await side.store.listOpenLogs()).map((l) => l.logId)).toContain(`s-disp/${side.config.id}`);
      }
      // The origin's copy of the destination's chain is kept as it was, not overwritten by the new history.
      expect((await pair.origin.store.getHead('s-disp/gw-destination'))?.hash).toBe(view.hash);
      // Frozen: time passing changes nothing.
      const lengths = [
        await pair.origin.store.getLogLength('s-disp/gw-origin'),
        await pair.destination.store.getLogLength('s-disp/gw-destination'),
      ];
      await pair.clock.advance(120_000);
      expect([
        await pair.origin.store.getLogLength('s-disp/gw-origin'),
        await pair.destination.store.getLogLength('s-disp/gw-destination'),
      ]).toEqual(lengths);
    },
  );
});

describe('recovery over a slow network', () => {
  it(
    'both gateways restarted while a round trip outlasted the resend interval: every resend began a new round ' +
      'and the late RECOVER-SUCCESS of the round before was ignored, so recovery never ended and the chains grew ' +
      'without bound; now both recover and every session ends',
    async () => {
      // Seen in the SIGKILL run under Deno (two cores, 16 sessions recovering at once): round trips of about a
      // second against a 400 ms resend interval; the chains reached 690 entries and no session ended in 120 s.
      const SESSIONS = 4;
      const assets = Array.from({ length: SESSIONS }, (_, i) => `asset-${i + 1}`);
      const pair = await makePair({ assets, config: { retransmitMs: 400 } });
      const ids = assets.map((_, i) => `s-slow-${i + 1}`);
      // Every destination promises (commit-ready sent); no commit-ready arrives before both gateways crash.
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
      for (const [i, sid] of ids.entries())
        await pair.origin.gw.startTransfer(pair.request(sid, { assetId: assets[i], lockSeconds: 60 }));
      await until(
        pair,
        () => ids.every((sid) => pair.destination.gw.session(sid)?.promised === true),
        20,
        'every destination promised',
      );
      const origin = crashSide(pair, 'origin');
      const destination = crashSide(pair, 'destination');
      await origin.restart();
      await destination.restart();
      // From now on every message takes 700 ms each way: a round trip of 1.4 s, beside a resend after 400 ms.
      pair.drop = () => false;
      pair.intercept = () =>
        new Promise<undefined>((resolve) => pair.clock.setTimer(pair.clock.now() + 700, () => resolve(undefined)));
      const ended = () =>
        ids.every((sid) => outcomeOf(pair.origin.gw.session(sid)) && outcomeOf(pair.destination.gw.session(sid)));
      // A chain past 200 entries is the livelock: stop looking there.
      const runaway = () =>
        ids.some((sid) => [pair.origin, pair.destination].some((g) => (g.gw.session(sid)?.head.seq ?? 0) > 200));
      await until(pair, () => ended() || runaway(), 300, 'every session ended on both gateways');
      expect(runaway(), 'no chain grew past 200 entries').toBe(false);
      for (const [i, sid] of ids.entries()) {
        expect(await outcomes(pair, sid)).toEqual(['committed', 'committed']);
        await checkInvariants(pair, sid, assets[i]);
        for (const who of ['origin', 'destination'] as const) {
          const trail = await recoveryTrail(pair, who, sid);
          console.log('TRAIL', who, sid, trail.length);
          // 8 when nothing is lost or late (RECOVER, its answer, the ACK and its answer, each way); the resends
          // that back off add a few; each at a fixed 400 ms, 23.
          expect(trail.length, `${who} ${sid}: recovery entries (${trail.join(' ')})`).toBeLessThanOrEqual(16);
        }
      }
    },
  );
});

describe("older drafts' names", () => {
  it(
    'a counterparty that acknowledges the recovery as -01 and -05 name it (RECOVERY-ACK) ends the recovery ' +
      'as RECOVER-SUCCESS does',
    async () => {
      const pair = await makePair();
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
      await pair.origin.gw.startTransfer(pair.request('s-alias'));
      await until(pair, () => pair.destination.gw.session('s-alias')?.promised === true, 20, 'promised');
      const down = crashOrigin(pair);
      pair.drop = () => false;
      let renamed = 0;
      pair.intercept = async (from, _to, env) => {
        if (from !== DESTINATION.id || typeOf(env) !== 'recover-success-msg') return undefined;
        renamed++;
        return signedBy(DESTINATION, {
          ...messageOf(env),
          messageType: 'urn:ietf:SATP-2pc:msgtype:recovery-ack-msg',
        } as unknown as SatpMessage);
      };
      await down.restart();
      await until(pair, () => pair.origin.gw.session('s-alias')?.recovery?.status === 'synced', 20, 'recovered');
      expect(renamed).toBeGreaterThan(0);
      expect(await recoveryTrail(pair, 'origin', 's-alias')).toContain('ack:recover-success-msg');
      await until(
        pair,
        () => !!outcomeOf(pair.origin.gw.session('s-alias')) && !!outcomeOf(pair.destination.gw.session('s-alias')),
        60,
        'both ended',
      );
      const [o, d] = await outcomes(pair, 's-alias');
      expect(o).toBe(d);
      await checkInvariants(pair, 's-alias');
    },
  );
});
