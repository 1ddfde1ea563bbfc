// The reducer's rules for the rare events, one at a time: a session state taken from a real run between two
// gateways, one event handed to the pure reduce(), and what it decides. These paths (a ledger refusing an op as
// malformed, an attestation no one can give, a session-abort or ROLLBACK at the wrong time, a restart or a
// reload with a deadline) are reached by the simulator only now and then; here each one is asserted directly.
import { describe, expect, it } from 'vitest';
import { SatpError } from '../../kernel/errors.ts';
import type { Ledger, LedgerOp } from '../../kernel/ledger.ts';
import { rollbackAck } from '../../kernel/satp/rollback.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import type { GatewayConfig, GatewayEvent, SatpMessage, SessionState, StoreResult } from '../../kernel/satp/index.ts';
import {
  assetOf,
  claimReceipt,
  compensationOp,
  deadlineOf,
  MSG,
  proofId,
  RMSG,
  reduce,
  SATP_VERSION,
} from '../../kernel/satp/index.ts';
import {
  crashSide,
  DESTINATION,
  LEDGER_A,
  makePair,
  messageOf,
  ORIGIN,
  type Pair,
  typeOf,
  until,
} from '../support/satp-pair.ts';
import { committed, decideOn, destinationPromised, message, NOW, originRecovering } from '../support/reducer-rules.ts';

/** A ROLLBACK naming the last message `s` sent, claiming `actions` with `proofs`. */
const rollbackOf = (s: SessionState, actions: string[], proofs: unknown[]): SatpMessage =>
  ({
    version: SATP_VERSION,
    sessionId: s.sessionId,
    contextId: s.contextId,
    messageType: RMSG.rollback,
    hashPrevMessage: s.lastSent!.hash,
    success: true,
    actionsPerformed: actions,
    proofs,
    reason: 'test',
  }) as unknown as SatpMessage;

/** The origin's ledger refuses to answer any burn: the origin's burn stays pending (3.4 exec logged, unsettled). */
class NoBurns implements Ledger {
  constructor(readonly inner: MemoryLedger) {}
  get id(): string {
    return this.inner.id;
  }
  async execute(op: LedgerOp) {
    if (op.kind === 'burn') throw new SatpError('LEDGER_UNAVAILABLE', 'no answer');
    return this.inner.execute(op);
  }
  status(opId: string) {
    return this.inner.status(opId);
  }
  asset(assetId: string) {
    return this.inner.asset(assetId);
  }
  attest(assetId: string, opIds: readonly string[]) {
    return this.inner.attest(assetId, opIds);
  }
}

/** The origin's ledger never answers an unlock: a rollback's unlock stays pending. */
class NoUnlocks extends NoBurns {
  override async execute(op: LedgerOp) {
    if (op.kind === 'unlock') throw new SatpError('LEDGER_UNAVAILABLE', 'no answer');
    return this.inner.execute(op);
  }
}

/** A transfer held with the origin's burn pending. */
async function originWithPendingBurn(): Promise<{ pair: Pair; s: SessionState }> {
  const pair = await makePair({ ledgerView: (who, l) => (who === 'origin' ? new NoBurns(l) : l) });
  await pair.origin.gw.startTransfer(pair.request('s-rules'));
  await until(pair, () => pair.origin.gw.session('s-rules')?.pending?.op.kind === 'burn', 20, 'burn pending');
  return { pair, s: pair.origin.gw.session('s-rules')! };
}

describe('ledger answers', () => {
  it('a ledger that refuses the pending op as malformed or reused calls an operator, without a retry', async () => {
    const { pair, s } = await originWithPendingBurn();
    const opId = s.pending!.op.opId;
    for (const code of ['OP_CONFLICT', 'INVALID_INPUT']) {
      const r = decideOn(s, { kind: 'ledger-error', now: NOW, opId, error: 'no', code }, pair.origin.config);
      expect(r.reports, code).toEqual([{ kind: 'needs-operator', detail: expect.stringContaining(code) }]);
      expect(r.timers, code).toEqual([]);
    }
    // Any other failure (unavailable, unknown outcome): ask status(opId) after the retransmit interval.
    const r = decideOn(s, { kind: 'ledger-error', now: NOW, opId, error: 'timeout', code: 'X' }, pair.origin.config);
    expect(r.reports).toEqual([]);
    expect(r.timers).toEqual([{ kind: 'set-timer', timer: 'ledger-retry', at: NOW + pair.origin.config.retransmitMs }]);
    // About another op: ignored.
    const other = decideOn(
      s,
      { kind: 'ledger-error', now: NOW, opId: 'x', error: 'no', code: 'OP_CONFLICT' },
      pair.origin.config,
    );
    expect(other.reports).toEqual([{ kind: 'ignored', detail: 'error for no pending op' }]);
  });

  it('status answers about an op that is not pending are ignored', async () => {
    const { pair, s } = await originWithPendingBurn();
    const cfg = pair.origin.config;
    const answered = decideOn(
      s,
      { kind: 'ledger-status', now: NOW, opId: 'x', receipt: undefined, verified: false },
      cfg,
    );
    expect(answered.reports).toEqual([{ kind: 'ignored', detail: 'status of x, not pending' }]);
    expect(answered.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
    const failed = decideOn(s, { kind: 'ledger-status-failed', now: NOW, opId: 'x', error: 'down' }, cfg);
    expect(failed.reports).toEqual([{ kind: 'ignored', detail: 'status of x failed, not pending' }]);
    expect(failed.timers).toEqual([]);
    // The pending one, never recorded by the ledger: executed now.
    const opId = s.pending!.op.opId;
    const never = decideOn(s, { kind: 'ledger-status', now: NOW, opId, receipt: undefined, verified: false }, cfg);
    expect(never.effects).toContainEqual({ kind: 'ledger-execute', op: s.pending!.op });
  });
});

describe('ledger receipts', () => {
  it(
    'a receipt for the pending op is relied on only if it ' + "verifies under the ledger's key and answers that op",
    async () => {
      const { pair, s } = await originWithPendingBurn();
      const cfg = pair.origin.config;
      const op = s.pending!.op;
      const lock = pair.origin.ledger.ops().find((o) => o.op.kind === 'lock')!;
      const lockReceipt = (await pair.origin.ledger.status(lock.op.opId))!;
      const event = (opId: string, receipt: typeof lockReceipt, verified: boolean): GatewayEvent => ({
        kind: 'ledger-result',
        now: NOW,
        opId,
        receipt,
        verified,
      });
      // About another op: ignored.
      const other = decideOn(s, event('x', lockReceipt, true), cfg);
      expect(other.entries).toEqual([]);
      expect(other.effects).toEqual([
        { kind: 'report', report: { kind: 'ignored', detail: 'receipt for x, not pending' } },
      ]);
      // Not verified, or a verified receipt of another op: nothing logged, an operator told, status asked later.
      for (const [receipt, verified] of [
        [lockReceipt, false],
        [lockReceipt, true],
      ] as const) {
        const r = decideOn(s, event(op.opId, receipt, verified), cfg);
        expect(r.entries).toEqual([]);
        expect(r.effects).toEqual([
          { kind: 'report', report: { kind: 'needs-operator', detail: expect.stringContaining(op.opId) } },
          { kind: 'set-timer', timer: 'ledger-retry', at: NOW + cfg.retransmitMs },
        ]);
      }
      // The burn's own receipt, verified: logged as done.
      const burn = await pair.origin.ledger.execute(op);
      const done = decideOn(s, event(op.opId, burn, true), cfg);
      expect(done.entries.map((e) => `${e.step}:${e.operation}`)[0]).toBe('3.4:done');
    },
  );
});

describe("the origin's burn refused", () => {
  it(
    'a burn the origin ledger refuses (the lock lapsed first) ' +
      'undoes the commit: the lock is owed back and unlocked',
    async () => {
      const { pair, s } = await originWithPendingBurn();
      expect(s.committed).toBe(true);
      expect(s.rollbackList).toEqual([]);
      pair.ledgerClock.origin = s.lockExpiry! - pair.clock.now() + 1; // the origin ledger's clock past the lock
      const refused = await pair.origin.ledger.execute(s.pending!.op);
      expect(refused.ok).toBe(false);
      const r = decideOn(
        s,
        { kind: 'ledger-result', now: NOW, opId: s.pending!.op.opId, receipt: refused, verified: true },
        pair.origin.config,
      );
      expect(r.entries.map((e) => `${e.step}:${e.operation}`)[0]).toBe('3.4:fail');
      expect(r.state!.committed).toBe(false);
      expect(r.state!.status.kind).toBe('rolling-back');
      const unlockOp = compensationOp(s.sessionId, assetOf(s), 'UNLOCK');
      expect(r.effects).toContainEqual({ kind: 'ledger-execute', op: unlockOp });
      // Unlocked, it sends ROLLBACK. The origin saw the destination's mint (commit-ready): a ROLLBACK-ACK that
      // claims no compensation is refused, as it owes the burn of that mint.
      const unlocked = await pair.origin.ledger.execute(unlockOp);
      const sent = decideOn(
        r.state!,
        { kind: 'ledger-result', now: NOW, opId: unlockOp.opId, receipt: unlocked, verified: true },
        pair.origin.config,
      );
      const rollback = sent.sends.find((e) => e.message.messageType === RMSG.rollback)!.message;
      const hashOfRollback = sent.state!.lastSent!.hash;
      const ack = rollbackAck(s, hashOfRollback, { actionsPerformed: [], proofs: [] });
      expect(rollback).toMatchObject({ actionsPerformed: ['UNLOCK'] });
      const r2 = decideOn(sent.state!, message(ack, DESTINATION.id), pair.origin.config);
      expect(r2.entries).toEqual([]);
      expect(r2.reports).toEqual([
        expect.objectContaining({ kind: 'refused', detail: expect.stringContaining("no proof of the peer's BURN") }),
      ]);
    },
  );
});

describe('the deadline past the point of no return', () => {
  it('with no read access to the origin ledger, the destination calls an operator', async () => {
    const { pair, d } = await destinationPromised();
    const r = decideOn(
      d,
      { kind: 'attestation', now: NOW, assetId: 'asset-1', verified: false, noAccess: true },
      pair.destination.config,
    );
    expect(r.reports).toEqual([{ kind: 'needs-operator', detail: expect.stringContaining('no read access') }]);
  });

  it(
    "while the lock holds by the origin ledger's clock, " + 'the destination asks again once it has lapsed there',
    async () => {
      const { pair, d } = await destinationPromised();
      const cfg = pair.destination.config;
      const attestation = await pair.origin.ledger.attest('asset-1', [`${d.sessionId}:3.4:burn`]);
      const r = decideOn(d, { kind: 'attestation', now: NOW, assetId: 'asset-1', attestation, verified: true }, cfg);
      expect(r.entries).toEqual([]);
      const holds = d.lockExpiry! - pair.clock.now();
      expect(holds).toBeGreaterThan(cfg.retransmitMs);
      expect(r.timers).toEqual([{ kind: 'set-timer', timer: 'deadline', at: NOW + holds }]);
      // Lapsing sooner than the retransmit interval: asked again after that interval, not in a busy loop.
      pair.ledgerClock.origin = holds - 10;
      const soon = await pair.origin.ledger.attest('asset-1', [`${d.sessionId}:3.4:burn`]);
      const r2 = decideOn(
        d,
        { kind: 'attestation', now: NOW, assetId: 'asset-1', attestation: soon, verified: true },
        cfg,
      );
      expect(r2.timers).toEqual([{ kind: 'set-timer', timer: 'deadline', at: NOW + cfg.retransmitMs }]);
    },
  );

  it('an attestation that the asset is gone from the origin ledger, without this burn, calls an operator', async () => {
    const { pair, d } = await destinationPromised();
    const real = await pair.origin.ledger.attest('asset-1', [`${d.sessionId}:3.4:burn`]);
    // As the ledger would sign it had the asset vanished (the reducer takes the signature check as given).
    const gone = { ...real, asset: undefined };
    const r = decideOn(
      d,
      { kind: 'attestation', now: NOW, assetId: 'asset-1', attestation: gone, verified: true },
      pair.destination.config,
    );
    expect(r.entries).toEqual([]);
    expect(r.effects).toEqual([
      { kind: 'report', report: { kind: 'needs-operator', detail: expect.stringContaining('has no asset asset-1') } },
    ]);
  });

  it('no attestation is no evidence: asked again after the retransmit interval', async () => {
    const { pair, d } = await destinationPromised();
    const cfg = pair.destination.config;
    const r = decideOn(d, { kind: 'attestation', now: NOW, assetId: 'asset-1', verified: false, error: 'down' }, cfg);
    expect(r.entries).toEqual([]);
    expect(r.timers).toEqual([{ kind: 'set-timer', timer: 'deadline', at: NOW + cfg.retransmitMs }]);
  });

  it('an attestation is not asked for by an origin, nor by a destination that did not promise', async () => {
    const { pair, s } = await originWithPendingBurn();
    const r = decideOn(
      s,
      { kind: 'attestation', now: NOW, assetId: 'asset-1', verified: false, error: 'x' },
      pair.origin.config,
    );
    expect(r.reports).toEqual([{ kind: 'ignored', detail: 'attestation not needed' }]);
    const { pair: p2, d } = await destinationPromised();
    const cfg = p2.destination.config;
    const event: GatewayEvent = { kind: 'attestation', now: NOW, assetId: 'asset-1', verified: false, error: 'x' };
    const notPromised = { ...d, promised: false } as SessionState;
    const rollingBack = { ...d, status: { kind: 'rolling-back', reason: 'x', notify: false } } as SessionState;
    for (const state of [notPromised, rollingBack])
      expect(decideOn(state, event, cfg).reports).toEqual([{ kind: 'ignored', detail: 'attestation not needed' }]);
  });
});

describe('the deadline before the point of no return', () => {
  it('rolls back with the reason of where the session stood, and tells the peer', async () => {
    const { pair, d } = await destinationPromised();
    const o = pair.origin.gw.session('s-prom')!; // locked, waiting for commit-ready
    const reasonOf = (s: SessionState, cfg: GatewayConfig) => {
      const r = decideOn(s, { kind: 'timer', now: NOW, timer: 'deadline' }, cfg);
      return r.state!.status;
    };
    expect(reasonOf(o, pair.origin.config)).toMatchObject({
      kind: 'rolling-back',
      reason: 'lock expired before the burn',
      notify: true,
    });
    const unlocked = { ...o, lockExpiry: undefined } as SessionState;
    expect(reasonOf(unlocked, pair.origin.config)).toMatchObject({ reason: 'no lock within the lock time' });
    const d0 = { ...d, promised: false } as SessionState;
    expect(reasonOf(d0, pair.destination.config)).toMatchObject({ reason: 'lock expired before commit' });
    // Past it (the destination promised): only the origin ledger's attestation can decide.
    const past = decideOn(d, { kind: 'timer', now: NOW, timer: 'deadline' }, pair.destination.config);
    expect(past.entries).toEqual([]);
    expect(past.effects).toEqual([
      { kind: 'ledger-attest', peer: ORIGIN.id, assetId: 'asset-1', opIds: ['s-prom:3.4:burn'] },
    ]);
  });

  it('an origin past its burn ignores the deadline; a retransmit with nothing awaited is ignored', async () => {
    const { pair, s } = await originWithPendingBurn();
    const cfg = pair.origin.config;
    expect(decideOn(s, { kind: 'timer', now: NOW, timer: 'deadline' }, cfg).effects).toEqual([
      {
        kind: 'report',
        report: { kind: 'ignored', detail: 'deadline after the point of no return or during rollback' },
      },
    ]);
    expect(s.wait.kind).not.toBe('message');
    expect(decideOn(s, { kind: 'timer', now: NOW, timer: 'retransmit' }, cfg).effects).toEqual([
      { kind: 'report', report: { kind: 'ignored', detail: 'nothing to retransmit' } },
    ]);
  });
});

describe('deadlineOf', () => {
  it(
    "is the lock's expiry at the origin, plus the grace at " + 'the destination, else the start plus the lock time',
    async () => {
      const { pair, d } = await destinationPromised();
      const o = pair.origin.gw.session('s-prom')!;
      const cfg = pair.destination.config;
      expect(o.lockExpiry).toBeDefined();
      expect(deadlineOf(o, pair.origin.config)).toBe(o.lockExpiry);
      expect(deadlineOf(d, cfg)).toBe(d.lockExpiry! + cfg.deadlineGraceMs);
      const unlocked = { ...o, lockExpiry: undefined } as SessionState;
      const lockSeconds = o.transfer!.lockSeconds;
      expect(deadlineOf(unlocked, cfg)).toBe(o.startedAt + lockSeconds * 1000 + cfg.deadlineGraceMs);
    },
  );
});

describe('messages at the wrong time', () => {
  const abortOf = (s: SessionState, hashPrevMessage: string): SatpMessage =>
    ({
      version: SATP_VERSION,
      messageType: MSG.sessionAbort,
      sessionId: s.sessionId,
      transferContextId: s.contextId,
      hashPrevMessage,
      reason: 'test',
      timestamp: new Date(NOW).toISOString(),
    }) as unknown as SatpMessage;
  it('a session-abort past the point of no return, or naming no message of the session, is refused', async () => {
    const { pair, s } = await originWithPendingBurn();
    const cfg = pair.origin.config;
    const past = decideOn(s, message(abortOf(s, s.lastSent!.hash), DESTINATION.id), cfg);
    expect(past.entries).toEqual([]);
    expect(past.reports).toEqual([expect.objectContaining({ kind: 'refused', code: 'err_0.1.1' })]);
    expect(past.reports[0]).toMatchObject({ detail: expect.stringContaining('point of no return') });
    const stray = decideOn(s, message(abortOf(s, 'e'.repeat(64)), DESTINATION.id), cfg);
    expect(stray.reports[0]).toMatchObject({ kind: 'refused', detail: expect.stringContaining('names no message') });
  });

  it('a session-abort before the point of no return is logged and starts the rollback', async () => {
    const { pair } = await destinationPromised();
    const o = pair.origin.gw.session('s-prom')!; // waits for commit-ready: it has not burned
    const r = decideOn(o, message(abortOf(o, o.lastSent!.hash), DESTINATION.id), pair.origin.config);
    expect(r.entries.map((e) => `${e.step}:${e.operation}`)[0]).toBe('abort:ack');
    // The peer aborted, so it is not sent a ROLLBACK; the origin unlocks, and that is all it does now.
    expect(r.state!.status).toMatchObject({ kind: 'rolling-back', notify: false, reason: 'peer aborted: test' });
    expect(r.effects.map((e) => e.kind)).toEqual(['clear-timer', 'ledger-execute', 'clear-timer']);
  });

  it('a transfer message to a session rolling back is refused as for no session', async () => {
    const { pair } = await destinationPromised();
    const o = pair.origin.gw.session('s-prom')!;
    const cfg = pair.origin.config;
    const rolling = decideOn(o, message(abortOf(o, o.lastSent!.hash), DESTINATION.id), cfg).state!;
    const ready = { ...abortOf(o, o.lastSent!.hash), messageType: MSG.commitReady } as unknown as SatpMessage;
    const r = decideOn(rolling, message(ready, DESTINATION.id, [], 'c'.repeat(64)), cfg);
    expect(r.entries).toEqual([]);
    expect(r.reports).toEqual([expect.objectContaining({ kind: 'refused', detail: 'session is rolling back' })]);
  });

  it(
    'a commit-final before the destination promised is refused ' + 'as out of order, even with a valid burn receipt',
    async () => {
      // A genuine commit-final of a finished run of the same session id: its burn receipt is signed by ledger-a.
      const { pair: done } = await committed();
      const final = messageOf(done.wire.find((w) => typeOf(w.env) === 'commit-final-msg')!.env) as SatpMessage & {
        burnAssertionClaim: unknown;
      };
      const proofs = [proofId(claimReceipt(final.burnAssertionClaim))];
      // The same session held at the destination before its lock assertion arrived: nothing minted, nothing promised.
      const held = await makePair();
      held.drop = (_f, _t, env) => typeOf(env) === 'lock-assert-msg';
      await held.origin.gw.startTransfer(held.request('s-done'));
      const d0 = () => held.destination.gw.session('s-done');
      await until(
        held,
        () => (JSON.stringify(d0()?.wait) ?? '').includes(MSG.lockAssert),
        20,
        'waiting for lock-assert',
      );
      const d = held.destination.gw.session('s-done')!;
      expect(d.wait).toMatchObject({ kind: 'message', types: [MSG.lockAssert] });
      const early = { ...final, hashPrevMessage: d.lastSent!.hash } as SatpMessage;
      const r = reduce(d, message(early, ORIGIN.id, proofs, 'b'.repeat(64)), held.destination.config);
      expect(r.entries).toEqual([]);
      expect(r.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
      expect(r.effects).toContainEqual({
        kind: 'report',
        report: expect.objectContaining({ kind: 'refused', detail: `${MSG.commitFinal} is out of order` }),
      });
      // Nor is a second commit-final taken once the first was answered (the destination awaits transfer-complete).
      const answered = await makePair();
      answered.drop = (_f, _t, env) => typeOf(env) === 'commit-transfer-complete-msg';
      await answered.origin.gw.startTransfer(answered.request('s-done'));
      const d1 = () => answered.destination.gw.session('s-done');
      await until(answered, () => d1()?.lastReceivedType === MSG.commitFinal && !d1()?.pending, 20, 'ack-final sent');
      const again = { ...final, hashPrevMessage: d1()!.lastSent!.hash } as SatpMessage;
      const r2 = reduce(d1(), message(again, ORIGIN.id, proofs, 'c'.repeat(64)), answered.destination.config);
      expect(r2.entries).toEqual([]);
      expect(r2.effects).toContainEqual({
        kind: 'report',
        report: expect.objectContaining({ kind: 'refused', detail: `${MSG.commitFinal} is out of order` }),
      });
    },
  );

  it('a session-abort, ROLLBACK or error-msg for a session that ended committed changes nothing', async () => {
    const { pair, o } = await committed();
    const cfg = pair.origin.config;
    const abort = decideOn(o, message(abortOf(o, o.lastSent!.hash), DESTINATION.id), cfg);
    expect(abort.entries).toEqual([]);
    expect(abort.reports).toEqual([{ kind: 'ignored', detail: expect.stringContaining('session-abort after') }]);
    const rb = decideOn(o, message(rollbackOf(o, [], []), DESTINATION.id), cfg);
    expect(rb.entries).toEqual([]);
    expect(rb.reports).toEqual([{ kind: 'needs-operator', detail: 'ROLLBACK after the session committed' }]);
    expect(rb.sends).toEqual([]);
    const aborted = decideOn(o, { kind: 'abort', now: NOW, reason: 'late' }, cfg);
    expect(aborted.entries).toEqual([]);
    expect(aborted.reports).toEqual([
      { kind: 'ignored', detail: expect.stringContaining('abort: the session has ended') },
    ]);
  });

  it(
    'for no session: an unknown gateway is refused; an error-msg, ' + 'session-abort or ROLLBACK-ACK is only noted',
    async () => {
      const { pair, o } = await committed();
      const cfg = pair.destination.config;
      const about = { ...o, sessionId: 's-nobody' } as SessionState;
      const stranger = decideOn(undefined, message(abortOf(about, 'a'.repeat(64)), 'gw-stranger'), cfg);
      expect(stranger.reports).toEqual([expect.objectContaining({ kind: 'refused', code: 'err_0.1.2' })]);
      expect(stranger.sends.map((e) => e.to)).toEqual(['gw-stranger']);
      for (const type of [MSG.error, MSG.sessionAbort, RMSG.rollbackAck]) {
        const m = { ...abortOf(about, 'a'.repeat(64)), messageType: type } as unknown as SatpMessage;
        const r = decideOn(undefined, message(m, ORIGIN.id), cfg);
        expect(r.sends, type).toEqual([]);
        expect(r.reports, type).toEqual([{ kind: 'ignored', detail: `${type} for an unknown session` }]);
      }
    },
  );
});

describe('timers and restarts', () => {
  it('timers of an ended session, and a retransmit with nothing awaited, do nothing', async () => {
    const { pair, o } = await committed();
    for (const timer of ['retransmit', 'deadline', 'ledger-retry', 'recover'] as const) {
      const r = decideOn(o, { kind: 'timer', now: NOW, timer }, pair.origin.config);
      expect(r.effects, timer).toEqual([
        { kind: 'report', report: { kind: 'ignored', detail: `${timer} after the end` } },
      ]);
    }
    expect(decideOn(o, { kind: 'boot', now: NOW }, pair.origin.config).effects).toEqual([]);
    expect(decideOn(o, { kind: 'reload', now: NOW }, pair.origin.config).effects).toEqual([]);
  });

  it('a reload re-arms the deadline and settles the pending op, then resumes', async () => {
    const { pair, s } = await originWithPendingBurn();
    const cfg = pair.origin.config;
    // Past the point of no return (the burn is logged): no deadline, the pending burn is asked about.
    const past = decideOn(s, { kind: 'reload', now: NOW }, cfg);
    expect(past.effects).toContainEqual({ kind: 'ledger-query', opId: s.pending!.op.opId });
    expect(past.timers.filter((t) => t.timer === 'deadline')).toEqual([]);
    // Before it: the deadline is armed at deadlineOf.
    const { pair: p2, d } = await destinationPromised();
    const o2 = p2.origin.gw.session('s-prom')!;
    const before = decideOn(o2, { kind: 'reload', now: NOW }, p2.origin.config);
    expect(before.timers).toContainEqual({
      kind: 'set-timer',
      timer: 'deadline',
      at: deadlineOf(o2, p2.origin.config),
    });
    // Mid-recovery: the RECOVER is resent at once, nothing of the transfer is resumed.
    const recovering = { ...d, recovery: { ...(d.recovery ?? {}), status: 'recovering' } } as SessionState;
    const r = decideOn(recovering, { kind: 'reload', now: NOW }, p2.destination.config);
    expect(r.timers).toContainEqual({ kind: 'set-timer', timer: 'recover', at: NOW });
    expect(r.entries).toEqual([]);
    expect(r.effects.filter((e) => !(e.kind === 'set-timer' && ['deadline', 'recover'].includes(e.timer)))).toEqual([]);
    const running = decideOn(d, { kind: 'reload', now: NOW }, p2.destination.config);
    expect(running.timers.filter((t) => t.timer === 'recover')).toEqual([]);
    // Not recovering: the message the destination awaits an answer to goes out again.
    expect(running.sends.map((e) => e.message.messageType)).toEqual([MSG.commitReady]);
  });
});

describe('ROLLBACK, ROLLBACK-ACK and error-msg', () => {
  /** The origin aborted before its burn, unlocked and sent ROLLBACK; the destination's ROLLBACK-ACK is held. */
  async function originAwaitingAck() {
    const pair = await makePair();
    const acks: SatpMessage[] = [];
    pair.drop = (_f, _t, env) => {
      if (typeOf(env) === 'rollback-ack-msg') acks.push(messageOf(env));
      return typeOf(env) === 'commit-ready-msg' || typeOf(env) === 'rollback-ack-msg';
    };
    await pair.origin.gw.startTransfer(pair.request('s-rb'));
    await until(pair, () => pair.destination.ledger.ops().some((o) => o.op.kind === 'mint'), 20, 'minted');
    await pair.origin.gw.abort('s-rb', 'operator cancelled');
    await until(pair, () => acks.length > 0, 20, 'ROLLBACK-ACK sent');
    const o = pair.origin.gw.session('s-rb')!;
    expect(o.lastSent?.message.messageType).toBe(RMSG.rollback);
    const ack = acks[0] as SatpMessage & { proofs: unknown[]; hashRollbackMessage: string };
    return { pair, o, ack, proofs: ack.proofs.map(proofId) };
  }
  it(
    'a ROLLBACK-ACK ends the rollback only if it names the ' + "pending ROLLBACK and proves the peer's compensation",
    async () => {
      const { pair, o, ack, proofs } = await originAwaitingAck();
      const cfg = pair.origin.config;
      expect(ack.hashRollbackMessage).toBe(o.lastSent!.hash);
      const ok = decideOn(o, message(ack, DESTINATION.id, proofs), cfg);
      expect(ok.entries.map((e) => `${e.step}:${e.operation}`)).toEqual(['rollback:ack', 'end:done']);
      expect(ok.reports).toEqual([{ kind: 'ended', outcome: 'rolled-back', reason: 'aborted: operator cancelled' }]);
      expect(ok.state!.status).toMatchObject({ kind: 'ended', outcome: 'rolled-back' });
      // Naming another ROLLBACK: ignored.
      const other = { ...ack, hashRollbackMessage: 'e'.repeat(64) } as SatpMessage;
      const r1 = decideOn(o, message(other, DESTINATION.id, proofs), cfg);
      expect(r1.entries).toEqual([]);
      expect(r1.reports).toEqual([{ kind: 'ignored', detail: 'ROLLBACK-ACK for no pending ROLLBACK' }]);
      // Its burn receipt not verified under ledger-b's key: refused, the rollback still pending.
      const r2 = decideOn(o, message(ack, DESTINATION.id, []), cfg);
      expect(r2.entries).toEqual([]);
      expect(r2.reports).toEqual([
        expect.objectContaining({ kind: 'refused', detail: expect.stringContaining('ROLLBACK-ACK refused') }),
      ]);
      // Once ended, a second ROLLBACK-ACK changes nothing.
      const r3 = decideOn(ok.state!, message(ack, DESTINATION.id, proofs, 'd'.repeat(64)), cfg);
      expect(r3.entries).toEqual([]);
      expect(r3.reports).toEqual([{ kind: 'ignored', detail: 'ROLLBACK-ACK for no pending ROLLBACK' }]);
    },
  );

  it(
    'an error-msg while rolling back adds nothing; before the point ' +
      'of no return it starts a rollback that tells the peer',
    async () => {
      const { pair, o } = await originAwaitingAck();
      const cfg = pair.origin.config;
      const sentTransfer = Object.entries(o.sent).find(([, type]) => type === MSG.commitPrepare)![0];
      const errorAbout = (s: SessionState, hashPrev: string): SatpMessage =>
        ({
          version: SATP_VERSION,
          messageType: MSG.error,
          sessionId: s.sessionId,
          transferContextId: s.contextId,
          hashPrevMessage: hashPrev,
          type: 'urn:ietf:params:satp:error:err_3.1.1',
          title: 'refused',
        }) as unknown as SatpMessage;
      const rolling = { ...o, status: { kind: 'rolling-back', reason: 'x', notify: true } } as SessionState;
      const r1 = decideOn(rolling, message(errorAbout(o, sentTransfer), DESTINATION.id), cfg);
      expect(r1.entries).toEqual([]);
      expect(r1.reports).toEqual([{ kind: 'ignored', detail: 'already rolling back' }]);
      // Before the point of no return (the origin waits for commit-ready): logged, rollback, the peer told.
      const { pair: p2 } = await destinationPromised();
      const o2 = p2.origin.gw.session('s-prom')!;
      const r2 = decideOn(o2, message(errorAbout(o2, o2.lastSent!.hash), DESTINATION.id), p2.origin.config);
      expect(r2.entries.map((e) => `${e.step}:${e.operation}`)[0]).toBe('error:ack');
      expect(r2.effects.map((e) => e.kind)).toEqual(['clear-timer', 'ledger-execute', 'clear-timer']);
      expect(r2.state!.status).toMatchObject({ kind: 'rolling-back', notify: true });
      expect(r2.state!.status).toMatchObject({ reason: 'peer error err_3.1.1: refused' });
    },
  );

  it(
    'past the point of no return a ROLLBACK is refused by the origin, whatever ' +
      "it proves; the destination takes it with the lock's unlock receipt",
    async () => {
      // The origin logged its burn: a destination's ROLLBACK with a genuine compensating burn changes nothing.
      const { pair, s } = await originWithPendingBurn();
      const burn = await pair.destination.ledger.execute(compensationOp(s.sessionId, assetOf(s), 'BURN'));
      const r1 = decideOn(
        s,
        message(rollbackOf(s, ['BURN'], [burn]), DESTINATION.id, [proofId(burn)]),
        pair.origin.config,
      );
      expect(r1.entries).toEqual([]);
      expect(r1.reports).toEqual([
        expect.objectContaining({ kind: 'refused', detail: expect.stringContaining('point of no return') }),
      ]);
      // The destination promised: the origin ledger's receipt of the unlock proves the burn can never happen.
      const { pair: p2, d } = await destinationPromised();
      const unlock = await p2.origin.ledger.execute(compensationOp(d.sessionId, assetOf(d), 'UNLOCK'));
      expect(unlock.ok).toBe(true);
      const r2 = decideOn(
        d,
        message(rollbackOf(d, ['UNLOCK'], [unlock]), ORIGIN.id, [proofId(unlock)]),
        p2.destination.config,
      );
      expect(r2.entries.map((e) => `${e.step}:${e.operation}`)[0]).toBe('rollback:ack');
      // Rolled back at the peer's word: its own ROLLBACK is not sent, the ROLLBACK-ACK answers.
      expect(r2.state!.status).toMatchObject({ kind: 'rolling-back', notify: false, reason: 'peer rolled back: test' });
      // Without the unlock's receipt: refused.
      const r3 = decideOn(d, message(rollbackOf(d, [], []), ORIGIN.id, []), p2.destination.config);
      expect(r3.entries).toEqual([]);
      expect(r3.reports).toEqual([expect.objectContaining({ kind: 'refused' })]);
    },
  );

  it("a duplicate of the peer's last message is answered as before, unless the session rolled back since", async () => {
    const { pair, d } = await destinationPromised();
    const cfg = pair.destination.config;
    const prepare = messageOf(pair.wire.find((w) => typeOf(w.env) === 'commit-prepare-msg')!.env);
    const again = decideOn(d, message(prepare, ORIGIN.id, [], d.lastReceived!), cfg);
    expect(again.entries).toEqual([]);
    expect(again.sends).toEqual([{ kind: 'send', to: ORIGIN.id, message: d.lastSent!.message, logged: true }]);
    // While recovering, the answer (logged) waits for RECOVER-SUCCESS like every logged transfer message.
    const recovering = { ...d, recovery: { ...(d.recovery ?? {}), status: 'recovering' } } as SessionState;
    expect(decideOn(recovering, message(prepare, ORIGIN.id, [], d.lastReceived!), cfg).sends).toEqual([]);
    // Rolled back (or rolling back): the step forward is not given again; the peer gets a refusal.
    const rolling = { ...d, status: { kind: 'rolling-back', reason: 'x', notify: false } } as SessionState;
    const r = decideOn(rolling, message(prepare, ORIGIN.id, [], d.lastReceived!), cfg);
    expect(r.sends.map((e) => e.message.messageType)).toEqual([MSG.error]);
    expect(r.reports).toEqual([expect.objectContaining({ kind: 'refused', detail: 'the session rolled back' })]);
  });
});

describe('recovery timers', () => {
  it(
    'an unanswered RECOVER is resent as it is; an unanswered ' +
      'RECOVER-UPDATE-ACK starts over with a new RECOVER; each unanswered try doubles the wait, up to 16 times',
    async () => {
      const { pair, o } = await originRecovering('recover-msg');
      const cfg = pair.origin.config;
      expect(o.recovery!.last!.messageType).toBe(RMSG.recover);
      const r = decideOn(o, { kind: 'timer', now: NOW, timer: 'recover' }, cfg);
      expect(r.entries).toEqual([]);
      expect(r.effects).toEqual([
        { kind: 'send', to: DESTINATION.id, message: o.recovery!.last, logged: true },
        { kind: 'set-timer', timer: 'recover', at: NOW + 2 * cfg.retransmitMs, attempt: 1 },
      ]);
      const waits = [1, 2, 3, 4, 5, 9].map((attempt) => {
        const again = decideOn(o, { kind: 'timer', now: NOW, timer: 'recover', attempt }, cfg);
        const t = again.effects.find((e) => e.kind === 'set-timer')!;
        return t.kind === 'set-timer' ? [(t.at - NOW) / cfg.retransmitMs, t.attempt] : [];
      });
      expect(waits).toEqual([
        [4, 2],
        [8, 3],
        [16, 4],
        [16, 5],
        [16, 6],
        [16, 10],
      ]);
      const { pair: p2, o: o2 } = await originRecovering('recover-success-msg');
      const r2 = decideOn(o2, { kind: 'timer', now: NOW, timer: 'recover', attempt: 2 }, p2.origin.config);
      expect(r2.sends.map((e) => e.message.messageType)).toEqual([RMSG.recover]);
      expect(r2.state!.recovery!.last!.messageType).toBe(RMSG.recover);
      // The new round waits as long as the next try of the old one would have.
      expect(r2.effects.filter((e) => e.kind === 'set-timer')).toEqual([
        { kind: 'set-timer', timer: 'recover', at: NOW + 8 * p2.origin.config.retransmitMs, attempt: 3 },
      ]);
    },
  );

  it("a RECOVER-UPDATE ending before the copy's head is a dispute only before the view the RECOVER named", async () => {
    // A first restart recovers fully (the origin now holds a verified copy of the destination's chain); the
    // second one's RECOVER names that copy's head as its view, and is held.
    const pair = await makePair();
    let holdRecover = false;
    pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg' || (holdRecover && typeOf(env) === 'recover-msg');
    await pair.origin.gw.startTransfer(pair.request('s-view'));
    await until(pair, () => !!pair.destination.gw.session('s-view')?.promised, 20, 'promised');
    const o = () => pair.origin.gw.session('s-view')!;
    await crashSide(pair, 'origin').restart();
    await until(pair, () => o().recovery?.status === 'synced', 20, 'first recovery');
    holdRecover = true;
    await crashSide(pair, 'origin').restart();
    await until(pair, () => o().recovery?.status === 'recovering' && !!o().recovery?.last, 20, 'recovering again');
    const s = o();
    const view = s.recovery!.view!;
    expect(view).toBeGreaterThan(1);
    expect(view).toBe(s.peerCopy.seq);
    const update = {
      version: SATP_VERSION,
      sessionId: s.sessionId,
      contextId: s.contextId,
      messageType: RMSG.recoverUpdate,
      hashRecoverMessage: s.recovery!.recoverHash,
      recoveredLogs: [],
      more: false,
    } as unknown as SatpMessage;
    const about = { from: DESTINATION.id, message: update, hash: '9'.repeat(64) };
    // The copy's head after the update: two entries past the view (a newer answer already applied).
    const head = { seq: view + 2, hash: 'a'.repeat(64) };
    const applied = (pageEnd: number): StoreResult => ({
      kind: 'copy-updated',
      appended: [],
      head,
      pageEnd,
    });
    const cfg = pair.origin.config;
    // The peer's chain claimed to end before what it already showed, verified: disputed.
    const before = decideOn(s, { kind: 'store-result', now: NOW, about, result: applied(view - 1) }, cfg);
    expect(before.state!.status.kind).toBe('disputed');
    // The dispute names the copy's head: the entry the peer's chain no longer reaches.
    expect(before.sends.map((e) => e.message)).toEqual([
      expect.objectContaining({ messageType: RMSG.recoverDispute, hashPrevMessage: about.hash, seqNumber: head.seq }),
    ]);
    // At the view: an older answer overtaken by a newer one, ignored.
    const at = decideOn(s, { kind: 'store-result', now: NOW, about, result: applied(view) }, cfg);
    expect(at.entries).toEqual([]);
    expect(at.reports).toEqual([{ kind: 'ignored', detail: expect.stringContaining('older than the copy') }]);
  });

  it('while recovering, a retransmit of the transfer message waits for RECOVER-SUCCESS', async () => {
    const { pair, o } = await originRecovering('recover-msg');
    const cfg = pair.origin.config;
    expect(o.wait.kind).toBe('message');
    const r = decideOn(o, { kind: 'timer', now: NOW, timer: 'retransmit' }, cfg);
    expect(r.sends).toEqual([]);
    expect(r.timers).toEqual([{ kind: 'set-timer', timer: 'retransmit', at: NOW + cfg.retransmitMs }]);
    // Recovered: it goes out.
    const synced = { ...o, recovery: { ...o.recovery, status: 'synced' } } as SessionState;
    const r2 = decideOn(synced, { kind: 'timer', now: NOW, timer: 'retransmit' }, cfg);
    expect(r2.sends).toEqual([{ kind: 'send', to: DESTINATION.id, message: o.lastSent!.message, logged: true }]);
  });
});

describe('a rollback across a restart', () => {
  /** The origin aborted before its burn; the unlock it then owes stays pending (its ledger does not answer). */
  async function originUnlockPending() {
    const pair = await makePair({ ledgerView: (who, l) => (who === 'origin' ? new NoUnlocks(l) : l) });
    pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
    await pair.origin.gw.startTransfer(pair.request('s-unl'));
    await until(pair, () => pair.destination.ledger.ops().some((o) => o.op.kind === 'mint'), 20, 'minted');
    await pair.origin.gw.abort('s-unl', 'cancelled');
    const o = () => pair.origin.gw.session('s-unl');
    await until(pair, () => o()?.pending?.op.kind === 'unlock', 20, 'unlock pending');
    return { pair, o: o()! };
  }
  const steps = (r: { entries: { step: string; operation: string }[] }) =>
    r.entries.map((e) => `${e.step}:${e.operation}`);

  it("the unlock's receipt during a rollback goes on with the rollback: the ROLLBACK goes to the peer", async () => {
    const { pair, o } = await originUnlockPending();
    const receipt = await pair.origin.ledger.execute(o.pending!.op);
    const r = decideOn(
      o,
      { kind: 'ledger-result', now: NOW, opId: o.pending!.op.opId, receipt, verified: true },
      pair.origin.config,
    );
    expect(steps(r)[0]).toBe('rollback:done');
    expect(r.sends.map((e) => e.message.messageType)).toEqual([RMSG.rollback]);
  });

  it(
    'an unlock the ledger refuses settles what was owed: ' + 'the rollback goes on to the ROLLBACK, no unlock again',
    async () => {
      const { pair, o } = await originUnlockPending();
      const op = o.pending!.op;
      // The same ledger's refusal of this very op (a ledger with no such lock): signed by ledger-a, bound to the op.
      const elsewhere = new MemoryLedger({ id: 'ledger-a', signer: LEDGER_A.signer, now: () => NOW });
      const refused = await elsewhere.execute(op);
      expect(refused.ok).toBe(false);
      const before = Object.keys(o.receipts);
      const r = decideOn(
        o,
        { kind: 'ledger-result', now: NOW, opId: op.opId, receipt: refused, verified: true },
        pair.origin.config,
      );
      expect(steps(r)[0]).toBe('rollback:fail');
      expect(r.state!.rollbackList).toEqual([]);
      expect(r.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
      expect(r.sends.map((e) => e.message.messageType)).toEqual([RMSG.rollback]);
      // The refusal is kept beside every receipt the session had.
      expect(Object.keys(r.state!.receipts).sort()).toEqual([...before, op.opId].sort());
    },
  );

  it('at boot a rollback goes on by itself only when nothing is pending and no answer is awaited', async () => {
    const { pair, o } = await originUnlockPending();
    const cfg = pair.origin.config;
    // The unlock pending: asked about, not executed again.
    const pending = decideOn(o, { kind: 'boot', now: NOW }, cfg);
    expect(pending.effects).toContainEqual({ kind: 'ledger-query', opId: o.pending!.op.opId });
    expect(pending.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
    expect(steps(pending).filter((x) => x.startsWith('rollback'))).toEqual([]);
    // Nothing pending, nothing awaited (the unlock not started yet): the unlock is executed.
    const idle = { ...o, pending: undefined, wait: { kind: 'none' } } as unknown as SessionState;
    const resumed = decideOn(idle, { kind: 'boot', now: NOW }, cfg);
    expect(resumed.effects).toContainEqual({ kind: 'ledger-execute', op: o.pending!.op });
    // A running session is not rolled back by a boot, whatever it awaits.
    const { pair: p2, s } = await originWithPendingBurn();
    const running = decideOn(
      { ...s, pending: undefined } as SessionState,
      { kind: 'boot', now: NOW },
      p2.origin.config,
    );
    expect(running.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
    expect(running.state!.status.kind).toBe('running');
  });
});

describe('store results', () => {
  it('a store result about anything but a RECOVER or RECOVER-UPDATE is about nothing pending', async () => {
    const { pair, d } = await destinationPromised();
    const about = { from: ORIGIN.id, message: d.lastSent!.message, hash: d.lastSent!.hash };
    const result: StoreResult = { kind: 'copy-updated', appended: [], head: d.peerCopy, pageEnd: 0 };
    for (const state of [d, undefined]) {
      const r = decideOn(state, { kind: 'store-result', now: NOW, about, result }, pair.destination.config);
      expect(r.entries).toEqual([]);
      expect(r.effects).toEqual([
        { kind: 'report', report: { kind: 'ignored', detail: 'store result for nothing pending' } },
      ]);
    }
  });
});

describe('what a session records of the peer', () => {
  it(
    "a finished transfer's states hold the verified receipts " + 'of every peer ledger operation they were shown',
    async () => {
      const { pair, o, d } = await committed();
      const kinds = (ops: SessionState['peerOps']) =>
        Object.fromEntries(Object.entries(ops).map(([k, r]) => [k, r?.kind]));
      expect(kinds(o.peerOps)).toEqual({ mint: 'mint', assign: 'assign' });
      expect(kinds(d.peerOps)).toEqual({ lock: 'lock', burn: 'burn' });
      for (const r of [...Object.values(o.peerOps), ...Object.values(d.peerOps)]) expect(r?.ok).toBe(true);
      expect(pair.origin.ledger.ops().map((x) => x.op.kind)).toEqual(['lock', 'burn']);
    },
  );
});
