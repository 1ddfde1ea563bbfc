// peek reads a message's type and session for events and metrics. A long payload (a recovery page) has only its
// ends decoded; what it reads must be what decoding the whole payload reads, whatever the payload holds.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { peek } from '../../gateway/peek.ts';
import { toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';

const NS = 'urn:ietf:SATP-2pc:msgtype:';
const envelope = (text: string) => ({ protected: 'e30', payload: toBase64Url(utf8(text)), signature: 'x'.repeat(86) });
/** A RECOVER-UPDATE of `n` entries, whose entries carry members named like the ones peek looks for. */
const page = (n: number, pad: string): Json => ({
  version: '1.0',
  sessionId: 's-top',
  contextId: 'c-1',
  messageType: `${NS}recover-update-msg`,
  hashRecoverMessage: 'a'.repeat(64),
  more: true,
  recoveredLogs: Array.from({ length: n }, (_, i) => ({
    sessionId: `s-entry-${i}`,
    payload: { kind: 'recovery-receive', messageType: `${NS}rollback-msg`, what: `${pad}é€😀 ${i}` },
  })),
});

describe('peek', () => {
  it('reads the type and session of a long canonical payload from its ends, as a whole decode does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.string({ maxLength: 300 }), (n, pad) => {
        const text = canonicalJson(page(n, pad));
        const whole = JSON.parse(text) as { sessionId: string };
        const env = envelope(text);
        expect(peek(env)).toEqual({ type: 'recover-update-msg', session: whole.sessionId });
        // Only the ends of a long payload are decoded: a middle that is not even base64url is never read.
        const mid = env.payload.length >> 1;
        if (env.payload.length > 16 * 1024)
          expect(peek({ ...env, payload: `${env.payload.slice(0, mid)}%${env.payload.slice(mid + 1)}` })).toEqual(
            peek(env),
          );
      }),
      { numRuns: 60, seed: 4242 },
    );
  });

  it('decodes the whole payload when the ends do not show the members of the message itself', () => {
    const m = page(300, 'x'.repeat(100)) as Record<string, Json>;
    const { messageType, sessionId, ...rest } = m;
    const big = (value: object) => {
      const text = JSON.stringify(value);
      expect(text.length).toBeGreaterThan(64 * 1024);
      return peek(envelope(text));
    };
    const whole = { type: 'recover-update-msg', session: 's-top' };
    // Entries first, the type and session last: the head's first messageType is an entry's.
    expect(big({ ...rest, sessionId, messageType })).toEqual(whole);
    // A member holding more after the session: the tail's last sessionId could be anyone's.
    expect(big({ messageType, ...rest, sessionId, z: { sessionId: 's-inner' } })).toEqual(whole);
    // No session at the end at all, and a key that only ends in sessionId: none is made up.
    expect(big({ messageType, ...rest, z: 'y'.repeat(5_000) })).toEqual({ type: 'recover-update-msg' });
    expect(big({ messageType, ...rest, 'x"sessionId': 'evil' })).toEqual({ type: 'recover-update-msg' });
    // Whitespace (another serializer): decoded whole, same answer.
    expect(peek(envelope(JSON.stringify(m, null, 1)))).toEqual(whole);
  });

  it('reads short payloads and bare error-msgs whole, and says ? for what is not a message', () => {
    expect(peek(envelope(canonicalJson({ messageType: `${NS}recover-msg`, sessionId: 's-1' })))).toEqual({
      type: 'recover-msg',
      session: 's-1',
    });
    expect(peek({ messageType: `${NS}error-msg`, sessionId: 's-2' })).toEqual({ type: 'error-msg', session: 's-2' });
    expect(peek({ payload: '%%%' })).toEqual({ type: '?' });
    expect(peek(null)).toEqual({ type: '?' });
  });
});
