// The recovery messages' schema (recovery-04 §5.3) on what a peer can put in their open-ended fields: the entries
// a RECOVER-UPDATE carries and the proofs of ROLLBACK and ROLLBACK-ACK are checked in depth later (by the store,
// by the claim rules), but each item must at least be an object, or the message is refused as it arrives.
import { describe, expect, it } from 'vitest';
import { parseMessage, RECOVER_PAGE, RMSG } from '../../kernel/satp/index.ts';

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
});
