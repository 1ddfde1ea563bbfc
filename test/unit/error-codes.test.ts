// SATP core §9.4: the mismatch code a peer gets for each message type, and the error-msg that carries it.
import { describe, expect, it } from 'vitest';
import { errorMessage, mismatch, MSG, SATP_ERRORS } from '../../kernel/satp/index.ts';

const ABOUT = { sessionId: 's-1', transferContextId: 'ctx-1', hashPrevMessage: 'a'.repeat(64) };

describe('mismatch codes (SATP core §9.4)', () => {
  it("gives a stage's own code and title for a mismatched context, session and previous message", () => {
    expect(mismatch(MSG.lockAssert, 'context')).toEqual({
      code: 'err_2.2.1',
      status: 404,
      title: 'mismatch transferContextId',
    });
    expect(mismatch(MSG.lockAssert, 'session')).toEqual({
      code: 'err_2.2.2',
      status: 404,
      title: 'mismatch sessionId',
    });
    expect(mismatch(MSG.lockAssert, 'prev')).toEqual({
      code: 'err_2.2.5',
      status: 404,
      title: 'mismatch hashPrevMessage',
    });
  });

  it('falls back, for a stage without its own code, to err_1.2.2 for a session and err_0.1.1 otherwise', () => {
    // The proposal receipt has no hashPrevMessage code of its own; an error-msg has no row at all.
    expect(mismatch(MSG.proposalReceipt, 'prev')).toEqual({
      code: 'err_0.1.1',
      status: 400,
      title: 'mismatch hashPrevMessage',
    });
    expect(mismatch(MSG.error, 'session')).toEqual({ code: 'err_1.2.2', status: 404, title: 'mismatch sessionId' });
    expect(mismatch(MSG.error, 'context')).toEqual({
      code: 'err_0.1.1',
      status: 400,
      title: 'mismatch transferContextId',
    });
  });
});

describe('errorMessage', () => {
  it('carries the code as a type URN, the status and title, and a detail cut to 2,048 characters', () => {
    const m = errorMessage(SATP_ERRORS.badSignature, ABOUT, 'x'.repeat(3_000), '2026-01-01T00:00:00.000Z');
    expect(m).toMatchObject({
      messageType: MSG.error,
      type: 'urn:ietf:params:satp:core:error:err_0.1.3',
      status: 422,
      title: 'bad signature',
      ...ABOUT,
      timestamp: '2026-01-01T00:00:00.000Z',
    });
    expect(m.detail).toBe('x'.repeat(2_048));
  });

  it('names the refused message type only when it is known', () => {
    const t = '2026-01-01T00:00:00.000Z';
    expect(errorMessage(SATP_ERRORS.forbidden, ABOUT, 'd', t)).not.toHaveProperty('prevMsgType');
    expect(errorMessage(SATP_ERRORS.forbidden, { ...ABOUT, prevMsgType: MSG.lockAssert }, 'd', t).prevMsgType).toBe(
      MSG.lockAssert,
    );
  });
});
