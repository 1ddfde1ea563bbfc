// The last steps of a rollback (recovery-04 §5.3.4, §5.3.5), against the kernel's continueRollback: with nothing
// left to compensate, a side answers the peer's ROLLBACK with its ROLLBACK-ACK and ends, or tells the peer with
// a ROLLBACK (once), or just ends. States come from a real run, with the rollback status set by hand.
import { describe, expect, it } from 'vitest';
import { type Effect, RMSG, SATP_VERSION, type SessionState } from '../../kernel/satp/index.ts';
import { continueRollback } from '../../kernel/satp/rollback.ts';
import { destinationPromised, NOW } from '../support/reducer-rules.ts';
import { ORIGIN } from '../support/satp-pair.ts';

async function rollingBack(status: { notify: boolean; ackTo?: string; reason?: string }) {
  const { d } = await destinationPromised();
  const s: SessionState = {
    ...d,
    status: {
      kind: 'rolling-back',
      reason: status.reason ?? 'test',
      notify: status.notify,
      ...(status.ackTo ? { ackTo: status.ackTo } : {}),
    },
    rollbackList: [],
    pending: undefined,
  };
  return s;
}

const ended = (reason: string) => ({ kind: 'report', report: { kind: 'ended', outcome: 'rolled-back', reason } });

describe('the end of a rollback', () => {
  it("answers the peer's ROLLBACK with a logged ROLLBACK-ACK naming it, then ends", async () => {
    const s = await rollingBack({ notify: true, ackTo: 'c'.repeat(64) });
    const r = continueRollback(s, NOW);
    const ack = {
      version: SATP_VERSION,
      sessionId: s.sessionId,
      contextId: s.contextId,
      messageType: RMSG.rollbackAck,
      hashRollbackMessage: 'c'.repeat(64),
      success: true,
      actionsPerformed: [],
      proofs: [],
    };
    expect(r.effects).toEqual([{ kind: 'send', to: ORIGIN.id, message: ack, logged: true }, ended('test')]);
    expect(r.steps.map((e) => [e.step, e.operation])).toEqual([
      ['rollback', 'init'],
      ['rollback', 'exec'],
      ['end', 'done'],
    ]);
  });

  it('tells the peer with one logged ROLLBACK, its reason cut to what the message carries', async () => {
    const s = await rollingBack({ notify: true, reason: 'r'.repeat(600) });
    const r = continueRollback(s, NOW);
    expect(r.effects).toEqual([
      {
        kind: 'send',
        to: ORIGIN.id,
        logged: true,
        message: {
          version: SATP_VERSION,
          sessionId: s.sessionId,
          contextId: s.contextId,
          messageType: RMSG.rollback,
          hashPrevMessage: s.lastPeerMessage,
          success: true,
          actionsPerformed: [],
          proofs: [],
          reason: 'r'.repeat(512),
        },
      },
    ]);
    expect(s.lastPeerMessage).toBeDefined();
    expect(r.steps.map((e) => [e.step, e.operation])).toEqual([
      ['rollback', 'init'],
      ['rollback', 'exec'],
    ]);
    // Sent already (it is the last message sent): nothing more until the peer answers.
    const rollback = (r.effects[0] as Extract<Effect, { kind: 'send' }>).message;
    const sent = { ...s, lastSent: { message: rollback, hash: 'h', to: ORIGIN.id } };
    expect(continueRollback(sent, NOW)).toEqual({ steps: [], effects: [] });
  });

  it('with the peer told already, just ends', async () => {
    const s = await rollingBack({ notify: false, reason: 'done' });
    const r = continueRollback(s, NOW);
    expect(r.effects).toEqual([ended('done')]);
    expect(r.steps.map((e) => [e.step, e.operation, e.payload])).toEqual([
      ['end', 'done', { kind: 'end', outcome: 'rolled-back', reason: 'done' }],
    ]);
  });
});
