// The recovery messages' schema (recovery-04 §5.3) on what a peer can put in their open-ended fields: the entries
// a RECOVER-UPDATE carries and the proofs of ROLLBACK and ROLLBACK-ACK are checked in depth later (by the store,
// by the claim rules), but each item must at least be an object, or the message is refused as it arrives.
import { describe, expect, it } from 'vitest';
import { parseMessage, RECOVER_PAGE, RECOVERY_ALIASES, RMSG } from '../../kernel/satp/index.ts';

const ids = { version: '1.0', sessionId: 's-1', contextId: 'c-1' };
const H = 'a'.repeat(64);
const update = (recoveredLogs: unknown[]) => ({
  ...ids,
  messageType: RMSG.recoverUpdate,
  hashRecoverMessage: H,
  recoveredLogs,
  more: false,
});
const rollback = (proofs: unknown[]) => ({
  ...ids,
  messageType: RMSG.rollback,
  hashPrevMessage: H,
  success: true,
  actionsPerformed: ['UNLOCK'],
  proofs,
  reason: 'test',
});
const rollbackAck = (proofs: unknown[]) => ({
  ...ids,
  messageType: RMSG.rollbackAck,
  hashRollbackMessage: H,
  success: true,
  actionsPerformed: ['BURN'],
  proofs,
});

describe('recovery message schema', () => {
  it('a RECOVER-UPDATE carries entries as objects, at most a page of them', () => {
    expect(parseMessage(update([])).ok).toBe(true);
    expect(parseMessage(update([{ seqNumber: 1 }, {}])).ok).toBe(true);
    expect(parseMessage(update(Array.from({ length: RECOVER_PAGE }, () => ({})))).ok).toBe(true);
    for (const bad of [[null], [1], ['entry'], [[]], [{}, true]]) {
      const r = parseMessage(update(bad));
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect(r.problem).toMatch(/^recoveredLogs\.\d/);
    }
    expect(parseMessage(update(Array.from({ length: RECOVER_PAGE + 1 }, () => ({})))).ok).toBe(false);
  });

  it('ROLLBACK and ROLLBACK-ACK carry proofs as objects', () => {
    for (const make of [rollback, rollbackAck]) {
      expect(parseMessage(make([])).ok).toBe(true);
      expect(parseMessage(make([{ receipt: {} }])).ok).toBe(true);
      for (const bad of [[null], [1], ['receipt'], [false]]) {
        const r = parseMessage(make(bad));
        expect(r.ok, JSON.stringify(bad)).toBe(false);
        if (!r.ok) expect(r.problem).toMatch(/^proofs\.0/);
      }
    }
  });

  it("older drafts' names of the recovery messages are read as ours, their fields checked as ours", () => {
    const NS = 'urn:ietf:SATP-2pc:msgtype:';
    const ack = { ...ids, hashRecoverUpdateMessage: H, success: true, entriesChanged: [H] };
    const success = { ...ids, hashRecoverUpdateAckMessage: H, success: true };
    const cases = [
      ['recover-udpdate-msg', { ...update([]), messageType: undefined }, RMSG.recoverUpdate],
      ['recover-confirm-msg', ack, RMSG.recoverUpdateAck],
      ['recovery-confirm-msg', ack, RMSG.recoverUpdateAck],
      ['recover-ack-msg', success, RMSG.recoverSuccess],
      ['recovery-ack-msg', success, RMSG.recoverSuccess],
    ] as const;
    expect(Object.keys(RECOVERY_ALIASES).sort()).toEqual(cases.map(([n]) => `${NS}${n}`).sort());
    for (const [name, body, ours] of cases) {
      const r = parseMessage({ ...body, messageType: `${NS}${name}` });
      expect(r.ok, name).toBe(true);
      if (r.ok) expect(r.message).toEqual({ ...body, messageType: ours });
      // Checked as ours: a field ours does not have is refused under the old name too.
      const extra = parseMessage({ ...body, messageType: `${NS}${name}`, votes: [] });
      expect(extra.ok, `${name} with an unknown field`).toBe(false);
    }
    expect(parseMessage({ ...success, messageType: `${NS}recovery-confirm-msg` }).ok, 'shape of ours').toBe(false);
    expect(parseMessage({ ...success, messageType: `${NS}recover-success` }).ok).toBe(false);
  });
});
