// SATP core Figure 2 end to end between two gateways in one process: commits, rejections, rollbacks.
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../kernel/entry.ts';
import type { LedgerOp } from '../../kernel/ledger.ts';
import { contextOf, errorMessage, MSG, type SatpMessage } from '../../kernel/satp/index.ts';
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
  until,
} from '../support/satp-pair.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

const FLOW = [
  'transfer-proposal-msg',
  'proposal-receipt-msg',
  'transfer-commence-msg',
  'ack-commence-msg',
  'lock-assert-msg',
  'assertion-receipt-msg',
  'commit-prepare-msg',
  'commit-ready-msg',
  'commit-final-msg',
  'ack-commit-final-msg',
  'commit-transfer-complete-msg',
];

/** Advances time in steps until both sides ended (timers retransmit and expire meanwhile); bounded. */
async function runUntilEnded(pair: Pair, sessionId: string, maxSeconds = 300): Promise<void> {
  for (let i = 0; i < maxSeconds; i++) {
    if (
      outcomeOf(pair.origin.gw.session(sessionId)) &&
      (outcomeOf(pair.destination.gw.session(sessionId)) || !pair.destination.gw.session(sessionId))
    )
      return;
    await pair.clock.advance(1_000);
  }
  throw new Error(`session ${sessionId} did not end within ${maxSeconds} simulated seconds`);
}

describe('SATP transfer between two gateways', () => {
  it(
    'a full transfer burns on the origin ledger, ' + 'mints and assigns on the destination, and both chains verify',
    async () => {
      const pair = await makePair();
      await pair.origin.gw.startTransfer(pair.request('s-full'));
      expect(await outcomes(pair, 's-full')).toEqual(['committed', 'committed']);
      await checkInvariants(pair, 's-full');
      expect(pair.wire.map((w) => typeOf(w.env))).toEqual(FLOW);
      const steps = (await pair.origin.store.getLog('s-full/gw-origin')).map((e) => `${e.step}:${e.operation}`);
      expect(steps.indexOf('2.1:init')).toBeLessThan(steps.indexOf('2.1:exec'));
      expect(steps.indexOf('2.1:exec')).toBeLessThan(steps.indexOf('2.1:done'));
      expect(steps.at(-1)).toBe('end:done');
    },
  );

  it(
    'the destination rejects a proposal whose lock time it does not support: ' +
      'both end rejected and nothing is locked',
    async () => {
      const pair = await makePair({ destination: { minLockSeconds: 30 } });
      await pair.origin.gw.startTransfer(pair.request('s-reject', { lockSeconds: 10 }));
      expect(await outcomes(pair, 's-reject')).toEqual(['rejected', 'rejected']);
      await checkInvariants(pair, 's-reject');
      expect(pair.origin.ledger.ops()).toEqual([]);
      expect(pair.wire.map((w) => typeOf(w.env))).toEqual(['transfer-proposal-msg', 'proposal-reject-msg']);
    },
  );

  it('the lock assertion expires before commit-prepare: unlocked on the origin, nothing left minted', async () => {
    const pair = await makePair();
    pair.drop = (_from, _to, env) => typeOf(env) === 'assertion-receipt-msg';
    await pair.origin.gw.startTransfer(pair.request('s-expire', { lockSeconds: 30 }));
    await runUntilEnded(pair, 's-expire', 120);
    expect(await outcomes(pair, 's-expire')).toEqual(['rolled-back', 'rolled-back']);
    await checkInvariants(pair, 's-expire');
    expect(pair.origin.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['lock:1', 'unlock:1']);
    expect(pair.destination.ledger.ops()).toEqual([]);
  });

  // Replacing the i-th message of the flow by an error-msg from its sender about the receiver's last
  // message. Before the point of no return both sides roll back; after it the error cannot undo
  // anything and the transfer completes (the real message is retransmitted).
  const expected = [
    'committed',
    'rolled-back',
    'rolled-back',
    'rolled-back',
    'rolled-back',
    'rolled-back',
    'rolled-back',
    'rolled-back',
    'committed',
    'committed',
    'committed',
  ];
  for (const [i, type] of FLOW.entries()) {
    it(`an error-msg in place of ${type} ends ${expected[i]} on both sides, with the invariants holding`, async () => {
      const pair = await makePair();
      let replaced = false;
      pair.intercept = async (from, _to, env) => {
        if (replaced || typeOf(env) !== type) return undefined;
        replaced = true;
        const m = messageOf(env) as SatpMessage & { hashPrevMessage?: string };
        const err = errorMessage(
          { code: 'err_0.1.1', status: 400, title: 'injected error' },
          {
            sessionId: m.sessionId,
            transferContextId: contextOf(m),
            hashPrevMessage: m.hashPrevMessage ?? GENESIS_HASH,
          },
          'test',
          new Date(pair.clock.now()).toISOString(),
        );
        return signedBy(from === ORIGIN.id ? ORIGIN : DESTINATION, err);
      };
      await pair.origin.gw.startTransfer(pair.request('s-err'));
      await runUntilEnded(pair, 's-err', 200);
      expect(replaced).toBe(true);
      expect(await outcomes(pair, 's-err')).toEqual([expected[i], expected[i]]);
      await checkInvariants(pair, 's-err');
    });
  }

  it(
    'an origin abort before the burn rolls both sides back: ' +
      'unlock on the origin, burn of the minted asset on the destination',
    async () => {
      const pair = await makePair();
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
      await pair.origin.gw.startTransfer(pair.request('s-abort'));
      for (let i = 0; i < 50 && !pair.destination.ledger.ops().some((o) => o.op.kind === 'mint'); i++)
        await pair.clock.advance(100);
      await pair.origin.gw.abort('s-abort', 'operator cancelled');
      await runUntilEnded(pair, 's-abort', 60);
      expect(await outcomes(pair, 's-abort')).toEqual(['rolled-back', 'rolled-back']);
      await checkInvariants(pair, 's-abort');
      expect(pair.destination.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['mint:1', 'burn:1']);
    },
  );

  it('an origin abort after the burn is not effective: the transfer completes', async () => {
    const pair = await makePair();
    let held = true;
    pair.drop = (_f, _t, env) => held && typeOf(env) === 'ack-commit-final-msg';
    await pair.origin.gw.startTransfer(pair.request('s-late-abort'));
    for (let i = 0; i < 50 && !pair.origin.gw.session('s-late-abort')?.committed; i++) await pair.clock.advance(100);
    await pair.origin.gw.abort('s-late-abort', 'too late');
    expect(
      pair.origin.reports.some(
        (r) => r.report.kind === 'needs-operator' && /no longer effective/.test(r.report.detail),
      ),
    ).toBe(true);
    held = false;
    await runUntilEnded(pair, 's-late-abort', 60);
    expect(await outcomes(pair, 's-late-abort')).toEqual(['committed', 'committed']);
    await checkInvariants(pair, 's-late-abort');
  });

  it(
    'a destination abort before it answers commit-prepare rolls both back; ' + 'after commit-ready it is refused',
    async () => {
      const early = await makePair();
      early.drop = (_f, _t, env) => typeOf(env) === 'commit-prepare-msg';
      await early.origin.gw.startTransfer(early.request('s-d-abort'));
      for (
        let i = 0;
        i < 50 && !Object.values(early.destination.gw.session('s-d-abort')?.sent ?? {}).includes(MSG.assertionReceipt);
        i++
      )
        await early.clock.advance(100);
      await early.destination.gw.abort('s-d-abort', 'compliance hold');
      await runUntilEnded(early, 's-d-abort', 60);
      expect(await outcomes(early, 's-d-abort')).toEqual(['rolled-back', 'rolled-back']);
      await checkInvariants(early, 's-d-abort');

      const late = await makePair();
      let held = true;
      late.drop = (_f, _t, env) => held && typeOf(env) === 'commit-final-msg';
      await late.origin.gw.startTransfer(late.request('s-d-late'));
      for (let i = 0; i < 50 && !late.origin.gw.session('s-d-late')?.committed; i++) await late.clock.advance(100);
      await late.destination.gw.abort('s-d-late', 'too late');
      expect(late.destination.reports.some((r) => r.report.kind === 'needs-operator')).toBe(true);
      held = false;
      await runUntilEnded(late, 's-d-late', 60);
      expect(await outcomes(late, 's-d-late')).toEqual(['committed', 'committed']);
      await checkInvariants(late, 's-d-late');
    },
  );

  it(
    "a destination that assigned on the origin ledger's evidence still answers the origin's late commit-final: " +
      'both end committed and nothing needs an operator',
    async () => {
      const pair = await makePair();
      let held = true;
      pair.drop = (_f, _t, env) => held && typeOf(env) === 'commit-final-msg';
      await pair.origin.gw.startTransfer(pair.request('s-late-final'));
      // Past its deadline the destination asks the origin ledger, sees the burn, and assigns without commit-final.
      for (let i = 0; i < 1_200 && !pair.destination.gw.session('s-late-final')?.committed; i++)
        await pair.clock.advance(100);
      expect(pair.destination.gw.session('s-late-final')?.committed, 'assigned on evidence').toBe(true);
      expect(pair.destination.gw.session('s-late-final')?.lastReceivedType).not.toBe(MSG.commitFinal);
      held = false;
      await runUntilEnded(pair, 's-late-final', 60);
      expect(await outcomes(pair, 's-late-final')).toEqual(['committed', 'committed']);
      await checkInvariants(pair, 's-late-final');
      const refused = pair.wire.filter((w) => w.from === DESTINATION.id && typeOf(w.env) === 'error-msg');
      expect(refused, 'the late commit-final is answered, not refused').toEqual([]);
      const operator = [...pair.origin.reports, ...pair.destination.reports].filter(
        (r) => r.report.kind === 'needs-operator',
      );
      expect(operator).toEqual([]);
    },
  );

  it(
    'a lock or a mint the ledger refuses is not compensated: no unlock of a lock that never was, ' +
      'no burn of an asset never minted',
    async () => {
      // The origin ledger has no asset-1: the lock is refused, and the session ends without an unlock.
      const noAsset = await makePair({ assets: [] });
      await noAsset.origin.gw.startTransfer(noAsset.request('s-no-lock'));
      await runUntilEnded(noAsset, 's-no-lock', 120);
      expect(noAsset.origin.ledger.ops().map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['lock:0']);
      expect(noAsset.origin.gw.session('s-no-lock')!.rollbackList).toEqual([]);
      // The destination ledger already has an asset-1 (minted by another operation): the session's mint is
      // refused, and nothing of the session is burned there.
      const taken = await makePair();
      await taken.destination.ledger.execute({
        opId: 'someone-else:mint',
        kind: 'mint',
        assetId: 'asset-1',
        owner: 'carol',
      } as LedgerOp);
      await taken.origin.gw.startTransfer(taken.request('s-no-mint'));
      await runUntilEnded(taken, 's-no-mint', 300);
      const sessionOps = taken.destination.ledger.ops().filter((o) => o.op.opId.startsWith('s-no-mint'));
      expect(sessionOps.map((o) => `${o.op.kind}:${o.applied}`)).toEqual(['mint:0']);
      expect(taken.destination.gw.session('s-no-mint')!.rollbackList).toEqual([]);
      expect(outcomeOf(taken.origin.gw.session('s-no-mint'))).toBe('rolled-back');
      expect(await taken.origin.ledger.asset('asset-1')).toMatchObject({ owner: 'alice', state: 'active' });
    },
  );

  it('200 concurrent transfers between two gateways all complete, each session isolated', async () => {
    const assets = Array.from({ length: 200 }, (_, i) => `asset-${i}`);
    const pair = await makePair({ assets });
    await Promise.all(
      assets.map((assetId, i) =>
        pair.origin.gw.startTransfer(pair.request(`s-many-${i}`, { assetId, beneficiary: `bob-${i}` })),
      ),
    );
    // One at a time: each call may move the pair's clock.
    const results = [];
    for (const i of assets.keys()) results.push(await outcomes(pair, `s-many-${i}`));
    expect(results.every(([o, d]) => o === 'committed' && d === 'committed')).toBe(true);
    for (const [i, assetId] of assets.entries()) await checkInvariants(pair, `s-many-${i}`, assetId, `bob-${i}`);
    expect(pair.wire.length).toBe(200 * FLOW.length);
  }, 120_000);
});

describe('whenEnded', () => {
  it(
    'for a session that ended before the gateway restarted it never resolved (the session was not in memory): ' +
      'now it resolves with the outcome its chain records',
    async () => {
      const pair = await makePair();
      await pair.origin.gw.startTransfer(pair.request('s-before'));
      expect(await outcomes(pair, 's-before')).toEqual(['committed', 'committed']);
      await pair.restart('origin');
      expect(pair.origin.gw.session('s-before'), 'ended sessions are not loaded at boot').toBeUndefined();
      let outcome: string | undefined;
      void pair.origin.gw.whenEnded('s-before').then((o) => (outcome = o));
      await until(pair, () => outcome !== undefined, 5, 'whenEnded resolves');
      expect(outcome).toBe('committed');
      // A session this gateway never had still waits: nothing says it ended.
      let never: string | undefined;
      void pair.origin.gw.whenEnded('s-unknown').then((o) => (never = o));
      await settle();
      expect(never).toBeUndefined();
    },
  );
});
