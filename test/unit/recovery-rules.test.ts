// The reducer's rules for the recovery handshake (recovery-04 §5.1, §5.3), one message at a time: RECOVER and
// the page it reads, RECOVER-UPDATE and the copy it updates, RECOVER-UPDATE-ACK, RECOVER-SUCCESS and
// RECOVER-DISPUTE, each from the right peer and bound to what it answers, or not. States come from real runs
// (test/support/reducer-rules.ts); each event goes to the pure reduce().
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../kernel/entry.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import {
  ENDED_PAGE_CHARS,
  MSG,
  messageHash,
  RECOVER_PAGE_CHARS,
  RMSG,
  type SatpMessage,
  type SessionState,
  type StoreResult,
} from '../../kernel/satp/index.ts';
import type { RecoveryOf } from '../../kernel/satp/recovery-messages.ts';
import { SATP_ERRORS } from '../../kernel/satp/error-codes.ts';
import { committed, decideOn, message, NOW, originRecovering } from '../support/reducer-rules.ts';
import { DESTINATION, lastOnWire, ORIGIN, THIRD } from '../support/satp-pair.ts';

const H = (c: string) => c.repeat(64);
const base = (s: SessionState) => ({ version: '1.0' as const, sessionId: s.sessionId, contextId: s.contextId });

const refusedWith = (code: { code: string }) => expect.objectContaining({ kind: 'refused', code: code.code });
const ignored = (detail: string) => ({ kind: 'ignored', detail });
/**
 * A dispute, raised or received, as decided: one logged `fail` entry with `payload`, both resend timers cleared,
 * and an operator called with `operator`.
 */
function expectFrozen(r: ReturnType<typeof decideOn>, payload: unknown, operator: string): void {
  expect(r.entries.map((e) => [e.operation, e.recoveryMessage, e.payload])).toEqual([
    ['fail', 'recover-dispute-msg', payload],
  ]);
  expect(r.effects).toEqual(
    expect.arrayContaining([
      { kind: 'clear-timer', timer: 'retransmit' },
      { kind: 'clear-timer', timer: 'recover' },
      { kind: 'report', report: { kind: 'needs-operator', detail: operator } },
    ]),
  );
}

/** A page entry as the store hands it back: only its hash and payload matter to the reducer. */
const entryOf = (c: string, payload: unknown) => ({ entryHash: H(c), payload }) as unknown as LogEntry;

describe('RECOVER', () => {
  it("reads a page from the sender's view of this chain, clamped to it; an ended session a small one", async () => {
    const { pair, d } = await originRecovering('recover-update-msg');
    const recover = lastOnWire(pair, 'recover-msg') as RecoveryOf<typeof RMSG.recover>;
    const cfg = pair.destination.config;
    const pageFrom = (peerSeqNumber: number, s: SessionState = d) => {
      const m = { ...recover, peerSeqNumber } as SatpMessage;
      const r = decideOn(s, message(m, ORIGIN.id), cfg);
      expect(r.entries).toEqual([]);
      expect(r.effects).toHaveLength(1);
      const e = r.effects[0]!;
      if (e.kind !== 'store' || e.request.kind !== 'read-page') throw new Error(`not a page read: ${e.kind}`);
      expect(e.about).toEqual({ from: ORIGIN.id, message: m, hash: H('f') });
      return e.request;
    };
    expect(d.head.seq).toBeGreaterThan(3);
    expect(pageFrom(0)).toEqual({ kind: 'read-page', from: 1, maxChars: RECOVER_PAGE_CHARS });
    expect(pageFrom(2)).toEqual({ kind: 'read-page', from: 2, maxChars: RECOVER_PAGE_CHARS });
    expect(pageFrom(d.head.seq + 5)).toEqual({ kind: 'read-page', from: d.head.seq, maxChars: RECOVER_PAGE_CHARS });
    const ended: SessionState = { ...d, status: { kind: 'ended', outcome: 'rolled-back', reason: 'test' } };
    expect(pageFrom(2, ended)).toEqual({ kind: 'read-page', from: 2, maxChars: ENDED_PAGE_CHARS });
  });

  it('is refused from any gateway but the peer; for a session unknown here, answered with an empty page', async () => {
    const { pair, d } = await originRecovering('recover-update-msg');
    const recover = lastOnWire(pair, 'recover-msg');
    const cfg = pair.destination.config;
    const byThird = decideOn(d, message(recover, THIRD.id), cfg);
    expect(byThird.entries).toEqual([]);
    expect(byThird.reports).toEqual([refusedWith(SATP_ERRORS.forbidden)]);
    expect(byThird.sends.map((e) => [e.to, e.message.messageType, e.logged])).toEqual([[THIRD.id, MSG.error, false]]);
    // Unknown here: a configured gateway is told there is nothing, a stranger is refused.
    const unknown = decideOn(undefined, message(recover, THIRD.id), cfg);
    expect(unknown.entries).toEqual([]);
    const empty = {
      ...base(d),
      messageType: RMSG.recoverUpdate,
      hashRecoverMessage: H('f'),
      recoveredLogs: [],
      more: false,
    };
    // A page carries its canonical text, made once for its hash, so sealing does not make it again.
    expect(unknown.sends).toEqual([
      { kind: 'send', to: THIRD.id, logged: false, message: empty, canonical: canonicalJson(empty) },
    ]);
    const stranger = decideOn(undefined, message(recover, 'gw-stranger'), cfg);
    expect(stranger.reports).toEqual([refusedWith(SATP_ERRORS.forbidden)]);
    expect(stranger.sends.map((e) => e.message.messageType)).toEqual([MSG.error]);
  });

  it('the page read is answered with a logged RECOVER-UPDATE naming the RECOVER, logged only once', async () => {
    const { pair, d } = await originRecovering('recover-update-msg');
    const recover = lastOnWire(pair, 'recover-msg');
    const cfg = pair.destination.config;
    const about = { from: ORIGIN.id, message: recover, hash: H('e') };
    const page: StoreResult = { kind: 'page', entries: [entryOf('1', {}), entryOf('2', {})], more: true };
    const first = decideOn(d, { kind: 'store-result', now: NOW, about, result: page }, cfg);
    const update = {
      ...base(d),
      messageType: RMSG.recoverUpdate,
      hashRecoverMessage: H('e'),
      recoveredLogs: page.entries,
      more: true,
    };
    expect(first.sends).toEqual([
      {
        kind: 'send',
        to: ORIGIN.id,
        message: update,
        logged: true,
        canonical: canonicalJson(update as unknown as Json),
      },
    ]);
    expect(first.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([
      ['ack', 'recover-msg'],
      ['exec', 'recover-update-msg'],
    ]);
    // recovery-04 §4: a recovery entry names its message and carries the message's hash (and the entries sent).
    expect(first.entries[0]).toMatchObject({
      phase: 'recovery',
      step: 'recovery',
      operation: 'ack',
      actionResponse: 'recover-msg',
      timestamp: NOW,
      recoveryMessage: 'recover-msg',
      recoveryPayload: { hash: H('e') },
    });
    expect(first.entries[1]).toMatchObject({
      phase: 'recovery',
      step: 'recovery',
      actionResponse: 'recover-update-msg',
      recoveryPayload: { hash: messageHash(update as unknown as SatpMessage), entries: 2 },
    });
    expect(first.entries[1]!.payload).toEqual({
      kind: 'recovery-send',
      to: ORIGIN.id,
      messageType: RMSG.recoverUpdate,
      hash: messageHash(update as unknown as SatpMessage),
      entryHashes: [H('1'), H('2')],
    });
    expect(first.state!.sent[messageHash(update as unknown as SatpMessage)]).toBe(RMSG.recoverUpdate);
    expect(H('e') in first.state!.received).toBe(true);
    // The same RECOVER again (resent): the answer is logged again, the RECOVER is not.
    const again = decideOn(first.state, { kind: 'store-result', now: NOW, about, result: page }, cfg);
    expect(again.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([['exec', 'recover-update-msg']]);
    // An ended session answers unlogged.
    const ended: SessionState = { ...d, status: { kind: 'ended', outcome: 'rolled-back', reason: 'test' } };
    const late = decideOn(ended, { kind: 'store-result', now: NOW, about, result: page }, cfg);
    expect(late.entries).toEqual([]);
    expect(late.sends).toEqual([
      {
        kind: 'send',
        to: ORIGIN.id,
        message: update,
        logged: false,
        canonical: canonicalJson(update as unknown as Json),
      },
    ]);
    // The read failed: nothing is sent, the RECOVER is resent by its sender.
    const failed = decideOn(d, { kind: 'store-result', now: NOW, about, result: { kind: 'failed', detail: 'x' } }, cfg);
    expect(failed.entries).toEqual([]);
    expect(failed.effects).toEqual([{ kind: 'report', report: ignored('RECOVER not answered: x') }]);
  });
});

describe('RECOVER-UPDATE', () => {
  async function pending() {
    const { pair, o } = await originRecovering('recover-update-msg');
    const update = {
      ...base(o),
      messageType: RMSG.recoverUpdate,
      hashRecoverMessage: o.recovery!.recoverHash!,
      recoveredLogs: [{ any: 'entry' }],
      more: false,
    } as SatpMessage;
    return { pair, o, update, cfg: pair.origin.config };
  }

  it('from the peer, for the pending RECOVER, asks to update the copy; anything else changes nothing', async () => {
    const { o, update, cfg } = await pending();
    const r = decideOn(o, message(update, DESTINATION.id, [], H('u')), cfg);
    expect(r.entries).toEqual([]);
    expect(r.effects).toEqual([
      {
        kind: 'store',
        request: { kind: 'update-copy', entries: [{ any: 'entry' }] },
        about: { from: DESTINATION.id, message: update, hash: H('u') },
      },
    ]);
    const byThird = decideOn(o, message(update, THIRD.id), cfg);
    expect(byThird.reports).toEqual([refusedWith(SATP_ERRORS.forbidden)]);
    expect(byThird.effects.some((e) => e.kind === 'store')).toBe(false);
    const other = { ...update, hashRecoverMessage: H('0') } as SatpMessage;
    expect(decideOn(o, message(other, DESTINATION.id), cfg).effects).toEqual([
      { kind: 'report', report: ignored('RECOVER-UPDATE for no pending RECOVER') },
    ]);
    const synced: SessionState = { ...o, recovery: { status: 'synced' } };
    expect(decideOn(synced, message(update, DESTINATION.id), cfg).effects).toEqual([
      { kind: 'report', report: ignored('RECOVER-UPDATE for no pending RECOVER') },
    ]);
  });

  it('for a session that ended while its RECOVER was under way: an unlogged ACK, nothing stored', async () => {
    const { o, update, cfg } = await pending();
    const ended: SessionState = { ...o, status: { kind: 'ended', outcome: 'rolled-back', reason: 'test' } };
    const r = decideOn(ended, message(update, DESTINATION.id, [], H('u')), cfg);
    expect(r.entries).toEqual([]);
    expect(r.effects).toEqual([
      {
        kind: 'send',
        to: DESTINATION.id,
        logged: false,
        message: {
          ...base(o),
          messageType: RMSG.recoverUpdateAck,
          hashRecoverUpdateMessage: H('u'),
          success: true,
          entriesChanged: [],
        },
      },
    ]);
  });

  describe('the copy updated, or not', () => {
    async function updated(result: StoreResult, overrides: Partial<RecoveryOf<typeof RMSG.recoverUpdate>> = {}) {
      const { o, update, cfg } = await pending();
      const m = { ...update, ...overrides } as SatpMessage;
      const about = { from: DESTINATION.id, message: m, hash: H('u') };
      return { o, cfg, about, r: decideOn(o, { kind: 'store-result', now: NOW, about, result }, cfg) };
    }
    const head = { seq: 9, hash: H('9') };

    it('acknowledged with the hashes appended, the copy head recorded, resent until RECOVER-SUCCESS', async () => {
      const appended = [entryOf('a', { kind: 'record' }), entryOf('b', { kind: 'end', outcome: 'committed' })];
      const { o, cfg, r } = await updated({ kind: 'copy-updated', appended, head, pageEnd: 9 });
      const ack = {
        ...base(o),
        messageType: RMSG.recoverUpdateAck,
        hashRecoverUpdateMessage: H('u'),
        success: true,
        entriesChanged: [H('a'), H('b')],
      };
      expect(r.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([
        ['ack', 'recover-update-msg'],
        ['exec', 'recover-update-ack-msg'],
      ]);
      expect(r.entries[0]!.recoveryPayload).toEqual({ hash: H('u'), appended: [H('a'), H('b')] });
      expect(r.entries[1]!.recoveryPayload).toEqual({ hash: messageHash(ack as SatpMessage) });
      expect(r.entries[0]!.payload).toEqual({
        kind: 'recovery-receive',
        from: DESTINATION.id,
        messageType: RMSG.recoverUpdate,
        hash: H('u'),
        appended: [H('a'), H('b')],
        peerHead: head,
      });
      expect(r.effects).toEqual([
        { kind: 'clear-timer', timer: 'recover' },
        { kind: 'send', to: DESTINATION.id, message: ack, logged: true },
        { kind: 'set-timer', timer: 'recover', at: NOW + cfg.retransmitMs },
      ]);
      expect(r.state!.peerCopy).toEqual(head);
      expect(r.state!.peerRolledBack).toBe(false);
      expect(r.state!.recovery).toMatchObject({ status: 'recovering', acks: [messageHash(ack as SatpMessage)] });
    });

    it(
      'the same copy result decided on again, after the append of its decision failed yet landed and the session ' +
        'was reloaded (simulation seed 6916): acknowledged twice; now once',
      async () => {
        const appended = [entryOf('a', { kind: 'record' })];
        const result: StoreResult = { kind: 'copy-updated', appended, head, pageEnd: 9 };
        const { cfg, about, r } = await updated(result);
        expect(r.entries).toHaveLength(2);
        const again = decideOn(r.state!, { kind: 'store-result', now: NOW, about, result }, cfg);
        expect(again.entries).toEqual([]);
        expect(again.effects).toEqual([{ kind: 'report', report: ignored('RECOVER-UPDATE already applied') }]);
      },
    );

    it("an appended entry showing the peer rolled back is recorded: a 'rollback', an end rolled back", async () => {
      for (const payload of [{ kind: 'rollback' }, { kind: 'end', outcome: 'rolled-back' }]) {
        const { r } = await updated({ kind: 'copy-updated', appended: [entryOf('a', payload)], head, pageEnd: 9 });
        expect(r.entries[0]!.payload).toMatchObject({ peerRolledBack: true });
        expect(r.state!.peerRolledBack).toBe(true);
      }
      // Only those: an entry's payload is any JSON its author signed, null included.
      for (const payload of [
        null,
        7,
        { kind: 'record', outcome: 'rolled-back' },
        { kind: 'end', outcome: 'committed' },
      ]) {
        const { r } = await updated({ kind: 'copy-updated', appended: [entryOf('a', payload)], head, pageEnd: 9 });
        expect(r.state!.peerRolledBack, JSON.stringify(payload)).toBe(false);
      }
    });

    it('with more to come from a page that did not say where it ends, a new RECOVER from the new view', async () => {
      const { o, r } = await updated({ kind: 'copy-updated', appended: [], head, pageEnd: 9 }, { more: true });
      expect(r.sends.map((e) => e.message)).toEqual([
        expect.objectContaining({ messageType: RMSG.recover, peerSeqNumber: 9, peerLastEntryHash: H('9') }),
      ]);
      expect(r.state!.recovery!.recoverHash).not.toBe(o.recovery!.recoverHash);
    });

    describe('the next page asked for ahead (a page with more to come)', () => {
      /** A page of the peer's chain that says it ends at `end`; only its last entry's seqNumber and hash are read. */
      const pageTo = (end: { seq: number; hash: string }) => [
        { seqNumber: end.seq - 1, entryHash: H('8') },
        { seqNumber: end.seq, entryHash: end.hash },
      ];
      async function ahead() {
        const { o, update, cfg } = await pending();
        const m = { ...update, recoveredLogs: pageTo(head), more: true } as SatpMessage;
        const r = decideOn(o, message(m, DESTINATION.id, [], H('u')), cfg);
        return { o, m, cfg, r };
      }

      it('the RECOVER for the next page is logged and sent before this page is applied, naming its end', async () => {
        const { o, m, cfg, r } = await ahead();
        expect(o.peerCopy.seq).toBeLessThan(head.seq);
        const next = r.sends[0]!.message as RecoveryOf<typeof RMSG.recover>;
        expect(next).toMatchObject({
          messageType: RMSG.recover,
          peerSeqNumber: head.seq,
          peerLastEntryHash: head.hash,
          seqNumber: o.head.seq,
          lastEntryHash: o.head.hash,
        });
        expect(r.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([['exec', 'recover-msg']]);
        // In this order: the RECOVER goes out, its timer is armed, then the page is verified and appended.
        expect(r.effects).toEqual([
          { kind: 'send', to: DESTINATION.id, message: next, logged: true },
          { kind: 'set-timer', timer: 'recover', at: NOW + cfg.retransmitMs },
          {
            kind: 'store',
            request: { kind: 'update-copy', entries: pageTo(head) },
            about: { from: DESTINATION.id, message: m, hash: H('u'), ahead: messageHash(next as SatpMessage) },
          },
        ]);
        expect(r.state!.recovery).toMatchObject({ recoverHash: messageHash(next as SatpMessage), view: head.seq });
        // The copy is untouched until the page is applied.
        expect(r.state!.peerCopy).toEqual(o.peerCopy);
      });

      it('the page applied: logged with the copy head, and nothing sent or cleared (the RECOVER is out)', async () => {
        const { cfg, r } = await ahead();
        const about = (r.effects[2] as Extract<(typeof r.effects)[number], { kind: 'store' }>).about;
        const appended = [entryOf('8', { kind: 'record' }), entryOf('9', { kind: 'record' })];
        const result: StoreResult = { kind: 'copy-updated', appended, head, pageEnd: head.seq };
        const applied = decideOn(r.state!, { kind: 'store-result', now: NOW, about, result }, cfg);
        expect(applied.entries.map((e) => [e.operation, e.recoveryMessage, e.payload])).toEqual([
          [
            'ack',
            'recover-update-msg',
            {
              kind: 'recovery-receive',
              from: DESTINATION.id,
              messageType: RMSG.recoverUpdate,
              hash: H('u'),
              appended: [H('8'), H('9')],
              peerHead: head,
            },
          ],
        ]);
        expect(applied.effects).toEqual([]);
        expect(applied.state!.peerCopy).toEqual(head);
        expect(applied.state!.recovery!.recoverHash).toBe(r.state!.recovery!.recoverHash);
        // Without the RECOVER sent ahead of it, a result for a page of an earlier RECOVER stays ignored.
        const { ahead: _, ...unbound } = about;
        expect(decideOn(r.state!, { kind: 'store-result', now: NOW, about: unbound, result }, cfg).effects).toEqual([
          { kind: 'report', report: ignored('RECOVER-UPDATE no longer pending') },
        ]);
      });

      it('not asked for ahead when the page does not say where it ends, or ends within the copy', async () => {
        const { o, update, cfg } = await pending();
        for (const recoveredLogs of [
          [{ any: 'entry' }],
          [{ seqNumber: 9, entryHash: 'not a hash' }],
          [{ seqNumber: 9.5, entryHash: H('9') }],
          [{ seqNumber: o.peerCopy.seq, entryHash: H('9') }],
          [null],
        ]) {
          const m = { ...update, recoveredLogs, more: true } as SatpMessage;
          const r = decideOn(o, message(m, DESTINATION.id, [], H('u')), cfg);
          expect(r.entries, JSON.stringify(recoveredLogs)).toEqual([]);
          expect(r.effects).toEqual([
            {
              kind: 'store',
              request: { kind: 'update-copy', entries: recoveredLogs },
              about: { from: DESTINATION.id, message: m, hash: H('u') },
            },
          ]);
        }
      });

      it(
        'the page not applied (the store failed, or it was refused): the answer to the RECOVER sent ahead is ' +
          "ignored, and the recover timer asks again from the copy's head",
        async () => {
          const { o, cfg, r } = await ahead();
          const about = (r.effects[2] as Extract<(typeof r.effects)[number], { kind: 'store' }>).about;
          const failed = decideOn(
            r.state!,
            { kind: 'store-result', now: NOW, about, result: { kind: 'failed', detail: 'disk' } },
            cfg,
          );
          expect(failed.entries).toEqual([]);
          const refused = decideOn(
            r.state!,
            { kind: 'store-result', now: NOW, about, result: { kind: 'refused', code: 'BAD_SIGNATURE', detail: 'no' } },
            cfg,
          );
          expect(refused.sends.map((e) => e.message.messageType)).toEqual([MSG.error]);
          for (const s of [failed.state ?? r.state!, refused.state ?? r.state!]) {
            expect(s.peerCopy).toEqual(o.peerCopy);
            // The peer answers the RECOVER sent ahead with a page from its end: past the copy, so not taken.
            const answer = {
              ...base(o),
              messageType: RMSG.recoverUpdate,
              hashRecoverMessage: s.recovery!.recoverHash!,
              recoveredLogs: pageTo({ seq: 12, hash: H('c') }),
              more: true,
            } as SatpMessage;
            expect(decideOn(s, message(answer, DESTINATION.id, [], H('v')), cfg).effects).toEqual([
              {
                kind: 'report',
                report: ignored(`RECOVER-UPDATE for a RECOVER that named seq 9, past the copy's ${o.peerCopy.seq}`),
              },
            ]);
            // Its timer does not resend it: a fresh RECOVER names the copy's head, and waits longer.
            const timer = decideOn(s, { kind: 'timer', now: NOW, timer: 'recover' }, cfg);
            expect(timer.sends.map((e) => e.message)).toEqual([
              expect.objectContaining({
                messageType: RMSG.recover,
                peerSeqNumber: o.peerCopy.seq,
                peerLastEntryHash: o.peerCopy.hash,
              }),
            ]);
            expect(timer.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([['exec', 'recover-msg']]);
            expect(timer.timers).toEqual([
              { kind: 'set-timer', timer: 'recover', at: NOW + cfg.retransmitMs * 2, attempt: 1 },
            ]);
          }
          // A RECOVER whose view the copy holds is resent as it is.
          const held = decideOn(o, { kind: 'timer', now: NOW, timer: 'recover' }, cfg);
          expect(held.entries).toEqual([]);
          expect(held.sends.map((e) => e.message)).toEqual([o.recovery!.last]);
        },
      );
    });

    it('a store failure decides nothing; a page that does not verify is refused by its code', async () => {
      const failed = await updated({ kind: 'failed', detail: 'disk' });
      expect(failed.r.entries).toEqual([]);
      expect(failed.r.effects).toEqual([
        { kind: 'report', report: ignored('RECOVER-UPDATE not applied, the store failed: disk') },
      ]);
      for (const [code, error] of [
        ['BAD_SIGNATURE', SATP_ERRORS.badSignature],
        ['UNKNOWN_AUTHOR', SATP_ERRORS.badSignature],
        ['BAD_LINK', SATP_ERRORS.invalidMessageType],
      ] as const) {
        const { r } = await updated({ kind: 'refused', code, detail: 'no' });
        expect(r.entries).toEqual([]);
        expect(r.reports).toEqual([
          { kind: 'refused', code: error.code, status: error.status, detail: `recovered entries refused: ${code}: no` },
        ]);
        expect(r.sends.map((e) => [e.to, e.message.messageType, e.logged])).toEqual([
          [DESTINATION.id, MSG.error, false],
        ]);
      }
    });

    it("a dispute's detail is cut to what the message may carry; the entry keeps all of it", async () => {
      const long = 'x'.repeat(2_000);
      const { r } = await updated({ kind: 'diverged', seq: 4, ours: H('1'), theirs: H('2'), detail: long });
      const sent = r.sends[0]!.message as RecoveryOf<typeof RMSG.recoverDispute>;
      expect(sent.detail).toBe(`LOG_DIVERGED: ${long}`.slice(0, 1024));
      expect(r.entries[0]!.recoveryPayload).toEqual({ detail: `LOG_DIVERGED: ${long}` });
      expect(r.entries[0]!.recoveryMessage).toBe('recover-dispute-msg');
    });

    it('two verified chains that differ: a logged RECOVER-DISPUTE, the session frozen for an operator', async () => {
      const diverged: StoreResult = { kind: 'diverged', seq: 4, ours: H('1'), theirs: H('2'), detail: 'at 4' };
      const { o, r } = await updated(diverged);
      expect(r.sends).toEqual([
        {
          kind: 'send',
          to: DESTINATION.id,
          logged: true,
          message: {
            ...base(o),
            messageType: RMSG.recoverDispute,
            hashPrevMessage: H('u'),
            seqNumber: 4,
            ours: H('1'),
            theirs: H('2'),
            detail: 'LOG_DIVERGED: at 4',
          },
        },
      ]);
      const payload = { kind: 'dispute', detail: 'LOG_DIVERGED: at 4', seq: 4, ours: H('1'), theirs: H('2') };
      expectFrozen(r, payload, 'dispute: LOG_DIVERGED: at 4');
      expect(r.state!.status).toEqual({ kind: 'disputed', detail: 'LOG_DIVERGED: at 4' });
    });

    it('a result for a RECOVER no longer pending, or a page where an update was asked, is ignored', async () => {
      const stale = await updated(
        { kind: 'copy-updated', appended: [], head, pageEnd: 9 },
        { hashRecoverMessage: H('0') },
      );
      expect(stale.r.effects).toEqual([{ kind: 'report', report: ignored('RECOVER-UPDATE no longer pending') }]);
      const page = await updated({ kind: 'page', entries: [], more: false });
      expect(page.r.effects).toEqual([
        { kind: 'report', report: ignored('RECOVER-UPDATE got a page instead of an update') },
      ]);
    });
  });
});

describe('RECOVER-UPDATE-ACK', () => {
  /** The destination answered the RECOVER (its RECOVER-UPDATE is logged); the ACK the origin sent for it. */
  async function acked() {
    const { pair, d } = await originRecovering('recover-success-msg');
    const ack = lastOnWire(pair, 'recover-update-ack-msg') as RecoveryOf<typeof RMSG.recoverUpdateAck>;
    // The state before the ACK arrived: the destination logged it as received since.
    const before: SessionState = { ...d, received: { ...d.received } };
    delete before.received[messageHash(ack as SatpMessage)];
    return { pair, d, before, ack, cfg: pair.destination.config };
  }

  it('naming a RECOVER-UPDATE sent here: logged once, answered by RECOVER-SUCCESS echoing success', async () => {
    const { d, before, ack, cfg } = await acked();
    expect(d.sent[ack.hashRecoverUpdateMessage]).toBe(RMSG.recoverUpdate);
    for (const success of [true, false]) {
      const m = { ...ack, success } as SatpMessage;
      const r = decideOn(before, message(m, ORIGIN.id, [], H('k')), cfg);
      const answer = {
        ...base(d),
        messageType: RMSG.recoverSuccess,
        hashRecoverUpdateAckMessage: H('k'),
        success,
      };
      expect(r.sends).toEqual([{ kind: 'send', to: ORIGIN.id, message: answer, logged: true }]);
      expect(r.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([
        ['ack', 'recover-update-ack-msg'],
        ['exec', 'recover-success-msg'],
      ]);
      // A duplicate is answered the same, unlogged.
      const dup = decideOn(r.state, message(m, ORIGIN.id, [], H('k')), cfg);
      expect(dup.entries).toEqual([]);
      expect(dup.sends).toEqual([{ kind: 'send', to: ORIGIN.id, message: answer, logged: false }]);
    }
  });

  it('naming nothing sent here, or from another gateway, is refused; an ended session answers unlogged', async () => {
    const { d, before, ack, cfg } = await acked();
    const unbound = { ...ack, hashRecoverUpdateMessage: d.lastSent!.hash } as SatpMessage;
    const r = decideOn(before, message(unbound, ORIGIN.id), cfg);
    expect(r.entries).toEqual([]);
    expect(r.reports).toEqual([refusedWith(SATP_ERRORS.invalidMessageType)]);
    expect(r.sends.map((e) => e.message.messageType)).toEqual([MSG.error]);
    const byThird = decideOn(before, message(ack as SatpMessage, THIRD.id), cfg);
    expect(byThird.reports).toEqual([refusedWith(SATP_ERRORS.forbidden)]);
    expect(byThird.entries).toEqual([]);
    const ended: SessionState = { ...before, status: { kind: 'ended', outcome: 'rolled-back', reason: 'test' } };
    const late = decideOn(ended, message(unbound, ORIGIN.id), cfg);
    expect(late.entries).toEqual([]);
    expect(late.sends.map((e) => [e.message.messageType, e.logged])).toEqual([[RMSG.recoverSuccess, false]]);
  });
});

describe('RECOVER-SUCCESS', () => {
  async function awaiting() {
    const { pair, o } = await originRecovering('recover-success-msg');
    const success = {
      ...base(o),
      messageType: RMSG.recoverSuccess,
      hashRecoverUpdateAckMessage: o.recovery!.acks!.at(-1)!,
      success: true,
    } as SatpMessage;
    return { pair, o, success, cfg: pair.origin.config };
  }

  it('for the last ACK, from the peer: logged, the recovery ends and the awaited message goes out again', async () => {
    const { o, success, cfg } = await awaiting();
    expect(o.wait.kind).toBe('message');
    const r = decideOn(o, message(success, DESTINATION.id, [], H('s')), cfg);
    expect(r.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([['ack', 'recover-success-msg']]);
    expect(r.state!.recovery).toEqual({ status: 'synced' });
    expect(r.effects).toEqual([
      { kind: 'clear-timer', timer: 'recover' },
      { kind: 'send', to: DESTINATION.id, message: o.lastSent!.message, logged: true },
      { kind: 'set-timer', timer: 'retransmit', at: NOW + cfg.retransmitMs },
    ]);
  });

  it(
    'for the ACK of an earlier round of the same recovery (a new RECOVER went out since, the answer was slow): ' +
      'the recovery ends',
    async () => {
      const { o, success, cfg } = await awaiting();
      const again = decideOn(o, { kind: 'timer', now: NOW, timer: 'recover' }, cfg);
      expect(again.state!.recovery!.last!.messageType).toBe(RMSG.recover);
      const r = decideOn(again.state!, message(success, DESTINATION.id, [], H('s')), cfg);
      expect(r.entries.map((e) => [e.operation, e.recoveryMessage])).toEqual([['ack', 'recover-success-msg']]);
      expect(r.state!.recovery).toEqual({ status: 'synced' });
    },
  );

  it('with the peer rolled back: the rollback starts instead', async () => {
    const { o, success, cfg } = await awaiting();
    const r = decideOn({ ...o, peerRolledBack: true }, message(success, DESTINATION.id), cfg);
    // The peer knows already: no ROLLBACK is owed to it, only this side's compensation.
    expect(r.state!.status).toEqual({
      kind: 'rolling-back',
      reason: 'the peer rolled back while this gateway was down',
      notify: false,
    });
    expect(r.effects.some((e) => e.kind === 'send' && e.message === o.lastSent!.message)).toBe(false);
  });

  it('a rollback decided before the restart goes on at RECOVER-SUCCESS, unless a ledger call is open', async () => {
    const { o, success, cfg } = await awaiting();
    const rolling: SessionState = {
      ...o,
      status: { kind: 'rolling-back', reason: 'test', notify: true },
      wait: { kind: 'none' },
    };
    const r = decideOn(rolling, message(success, DESTINATION.id), cfg);
    expect(r.effects.filter((e) => e.kind === 'ledger-execute')).toEqual([
      { kind: 'ledger-execute', op: expect.objectContaining({ kind: 'unlock' }) },
    ]);
    expect(r.sends).toEqual([]);
    const pending = { op: r.effects.find((e) => e.kind === 'ledger-execute')!.op, purpose: 'rollback', step: 'x' };
    const settling = decideOn({ ...rolling, pending } as SessionState, message(success, DESTINATION.id), cfg);
    expect(settling.entries.map((e) => e.recoveryMessage)).toEqual(['recover-success-msg']);
    expect(settling.effects.filter((e) => e.kind === 'ledger-execute' || e.kind === 'send')).toEqual([]);
  });

  it('not confirmed: a new RECOVER; unbound, late or from another gateway: nothing changes', async () => {
    const { o, success, cfg } = await awaiting();
    const no = decideOn(o, message({ ...success, success: false } as SatpMessage, DESTINATION.id), cfg);
    // The new RECOVER names this gateway's head and how much of the peer's chain it holds, as a primary gateway.
    expect(no.sends.map((e) => e.message)).toEqual([
      {
        ...base(o),
        messageType: RMSG.recover,
        phase: o.phase,
        seqNumber: o.head.seq,
        lastEntryHash: o.head.hash,
        peerSeqNumber: o.peerCopy.seq,
        peerLastEntryHash: o.peerCopy.hash,
        lastEntryTimestamp: o.lastTimestamp,
        isBackup: false,
      },
    ]);
    expect(o.peerCopy.seq).toBeGreaterThan(0);
    expect(no.state!.recovery!.status).toBe('recovering');
    const other = { ...success, hashRecoverUpdateAckMessage: H('0') } as SatpMessage;
    expect(decideOn(o, message(other, DESTINATION.id), cfg).effects).toEqual([
      { kind: 'report', report: ignored('RECOVER-SUCCESS for no RECOVER-UPDATE-ACK of this gateway') },
    ]);
    const noAck: SessionState = { ...o, recovery: { ...o.recovery!, acks: undefined } };
    const unbound = { ...success, hashRecoverUpdateAckMessage: undefined } as unknown as SatpMessage;
    expect(decideOn(noAck, message(unbound, DESTINATION.id), cfg).effects).toEqual([
      { kind: 'report', report: ignored('RECOVER-SUCCESS for no RECOVER-UPDATE-ACK of this gateway') },
    ]);
    for (const s of [
      { ...o, recovery: { status: 'synced' as const } },
      { ...o, status: { kind: 'ended' as const, outcome: 'rolled-back' as const, reason: 'test' } },
    ]) {
      expect(decideOn(s, message(success, DESTINATION.id), cfg).effects).toEqual([
        { kind: 'report', report: ignored('RECOVER-SUCCESS while not recovering') },
      ]);
    }
    const byThird = decideOn(o, message(success, THIRD.id), cfg);
    expect(byThird.reports).toEqual([refusedWith(SATP_ERRORS.forbidden)]);
    expect(byThird.state).toBe(o);
  });
});

describe('RECOVER-DISPUTE', () => {
  it('naming a RECOVER-UPDATE sent here: logged, timers cleared, operator called; else refused', async () => {
    const { pair, d } = await originRecovering('recover-success-msg');
    const cfg = pair.destination.config;
    const sentUpdate = Object.keys(d.sent).find((h) => d.sent[h] === RMSG.recoverUpdate)!;
    const dispute = {
      ...base(d),
      messageType: RMSG.recoverDispute,
      hashPrevMessage: sentUpdate,
      seqNumber: 3,
      ours: H('1'),
      theirs: H('2'),
      detail: 'no',
    } as SatpMessage;
    const r = decideOn(d, message(dispute, ORIGIN.id), cfg);
    const payload = { kind: 'dispute', detail: 'peer disputes: no', seq: 3, ours: H('1'), theirs: H('2') };
    expectFrozen(r, payload, 'dispute raised by the peer: no');
    expect(r.entries[0]!.recoveryPayload).toEqual({ detail: 'no' });
    expect(r.state!.status).toEqual({ kind: 'disputed', detail: 'peer disputes: no' });
    // Frozen: a second dispute, like anything else, only reminds the operator.
    expect(decideOn(r.state, message(dispute, ORIGIN.id), cfg).effects).toEqual([
      { kind: 'report', report: { kind: 'needs-operator', detail: 'session frozen by a dispute: peer disputes: no' } },
    ]);
    const notRecovery = { ...dispute, hashPrevMessage: d.lastSent!.hash } as SatpMessage;
    const refused = decideOn(d, message(notRecovery, ORIGIN.id), cfg);
    expect(refused.reports).toEqual([refusedWith(SATP_ERRORS.invalidMessageType)]);
    expect(refused.entries).toEqual([]);
    for (const [s, from] of [
      [d, THIRD.id],
      [undefined, ORIGIN.id],
    ] as const) {
      expect(decideOn(s, message(dispute, from), cfg).effects).toEqual([
        { kind: 'report', report: ignored('RECOVER-DISPUTE for no session of this peer') },
      ]);
    }
    // An ended session logs nothing more, but still calls the operator.
    const ended: SessionState = { ...d, status: { kind: 'ended', outcome: 'committed', reason: 'test' } };
    const late = decideOn(ended, message(dispute, ORIGIN.id), cfg);
    expect(late.entries).toEqual([]);
    expect(late.reports.map((x) => x.kind)).toEqual(['needs-operator']);
  });

  it("naming this gateway's RECOVER, it freezes the recovering gateway too", async () => {
    const { pair, o } = await originRecovering('recover-update-msg');
    const dispute = {
      ...base(o),
      messageType: RMSG.recoverDispute,
      hashPrevMessage: o.recovery!.recoverHash!,
      seqNumber: 0,
      detail: 'no',
    } as SatpMessage;
    const r = decideOn(o, message(dispute, DESTINATION.id), pair.origin.config);
    expect(r.entries.map((e) => e.payload)).toEqual([{ kind: 'dispute', detail: 'peer disputes: no', seq: 0 }]);
    expect(r.state!.status.kind).toBe('disputed');
  });

  it('a committed session answers a RECOVER for it from a small page, unlogged', async () => {
    const { pair, d } = await committed();
    const recover = {
      ...base(d),
      messageType: RMSG.recover,
      phase: 'x',
      seqNumber: 1,
      lastEntryHash: H('1'),
      peerSeqNumber: 1,
      peerLastEntryHash: H('1'),
      lastEntryTimestamp: 1,
      isBackup: false,
    } as SatpMessage;
    const r = decideOn(d, message(recover, ORIGIN.id), pair.destination.config);
    expect(r.effects).toEqual([
      {
        kind: 'store',
        request: { kind: 'read-page', from: 1, maxChars: ENDED_PAGE_CHARS },
        about: { from: ORIGIN.id, message: recover, hash: H('f') },
      },
    ]);
  });
});
