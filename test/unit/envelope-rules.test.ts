// The one door for inbound messages (kernel/satp/envelope.ts): who may speak for whom, and what a refusal may
// say back. A message that verified may be answered with an error-msg (its hint says about what); one that did
// not verify must not make the gateway say anything.
import { describe, expect, it } from 'vitest';
import { keyTable } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import { canonicalJson } from '../../kernel/json.ts';
import { type Envelope, openEnvelope, type RefusalHint, signingInput } from '../../kernel/satp/envelope.ts';
import { MSG, SATP_ERRORS } from '../../kernel/satp/index.ts';
import { refuseEnvelope } from '../../kernel/satp/refuse.ts';
import { G1, G2 } from '../support/fixtures.ts';

const keys = keyTable({ [G1.id]: G1.jwk, [G2.id]: G2.jwk });
const verifier = defaultVerifier();

/** An envelope over any payload text, signed by G1 under the header given. */
async function signed(text: string, header: Record<string, string> = {}): Promise<Envelope> {
  const h = toBase64Url(utf8(JSON.stringify({ alg: 'ES256', kid: G1.id, typ: 'satp+json', ...header })));
  const payload = toBase64Url(utf8(text));
  return { protected: h, payload, signature: toBase64Url(await G1.signer.sign(utf8(`${h}.${payload}`))) };
}

describe('openEnvelope', () => {
  it('refuses a message signed by one trusted gateway but delivered by another, before anything else', async () => {
    const env = await signed('{}');
    expect(await openEnvelope(env, G2.id, keys, verifier)).toMatchObject({
      ok: false,
      error: SATP_ERRORS.forbidden,
      authentic: false,
    });
  });

  it("refuses a header whose algorithm is not the sender's key's, as forbidden", async () => {
    const env = await signed('{}', { alg: 'ES256K' });
    expect(await openEnvelope(env, G1.id, keys, verifier)).toMatchObject({
      ok: false,
      error: SATP_ERRORS.forbidden,
      detail: `no trusted ES256K key for ${G1.id}`,
    });
  });

  it('an authentic message that does not parse is refused with a hint to answer it by', async () => {
    const text = `{"transferContextId":"ctx-1", "sessionId":"s-1","messageType":"${MSG.lockAssert}"}`;
    const opened = await openEnvelope(await signed(text), G1.id, keys, verifier);
    expect(opened).toEqual({
      ok: false,
      error: SATP_ERRORS.invalidMessageType,
      detail: 'hashPrevMessage: Invalid input: expected string, received undefined',
      authentic: true,
      hint: { sessionId: 's-1', transferContextId: 'ctx-1', hash: sha256Hex(utf8(text)), messageType: MSG.lockAssert },
    });
  });

  it('a message signed as any JSON serialization (not RFC 8785) is read, hashed over the bytes signed', async () => {
    const message = {
      messageType: MSG.assertionReceipt,
      sessionId: 's-1',
      transferContextId: 'ctx-1',
      hashPrevMessage: 'b'.repeat(64),
    };
    // Keys in the sender's order, indented: what a peer that signs its JSON as it serializes it sends.
    const text = JSON.stringify(message, null, 2);
    expect(text).not.toBe(canonicalJson(message));
    const opened = await openEnvelope(await signed(text), G1.id, keys, verifier);
    expect(opened).toMatchObject({ ok: true, message, hash: sha256Hex(utf8(text)), from: G1.id });
  });

  it('an authentic payload that is JSON null or names no session is refused without a hint, never thrown', async () => {
    for (const text of ['null', '{"sessionId":"s-1"}', '[1]']) {
      const opened = await openEnvelope(await signed(text), G1.id, keys, verifier);
      expect(opened).toMatchObject({ ok: false, authentic: true });
      expect(opened).not.toHaveProperty('hint');
    }
  });
});

describe('signingInput (JWS: the ASCII bytes of protected.payload)', () => {
  it('is the UTF-8 of the joined text, written without joining it, for any texts', () => {
    for (const [h, p] of [
      ['eyJhbGciOiJFUzI1NiJ9', 'e30'],
      ['', ''],
      ['a', 'b'.repeat(70_000)],
      ['é', 'x'],
      ['x', 'éa'],
      ['x', 'a😀'],
    ] as const) {
      expect(signingInput(h, p)).toEqual(utf8(`${h}.${p}`));
    }
  });
});

describe('refuseEnvelope', () => {
  const NOW = 1_700_000_000_000;
  const hint: RefusalHint = {
    sessionId: 's-1',
    transferContextId: 'ctx-1',
    hash: 'a'.repeat(64),
    messageType: MSG.lockAssert,
  };
  const refused = (authentic: boolean, h?: RefusalHint) => ({
    ok: false as const,
    error: SATP_ERRORS.invalidMessageType,
    detail: 'bad',
    authentic,
    ...(h ? { hint: h } : {}),
  });
  const report = { kind: 'report', report: { kind: 'refused', code: 'err_0.1.1', status: 400, detail: 'bad' } };

  it('answers an authentic message that names its session with one unlogged error-msg about it', () => {
    expect(refuseEnvelope(refused(true, hint), G1.id, NOW)).toEqual([
      {
        kind: 'send',
        to: G1.id,
        logged: false,
        message: expect.objectContaining({
          messageType: MSG.error,
          sessionId: 's-1',
          transferContextId: 'ctx-1',
          hashPrevMessage: 'a'.repeat(64),
          prevMsgType: MSG.lockAssert,
          detail: 'bad',
        }),
      },
      report,
    ]);
  });

  it('only reports a forgery, a message without a session, and an error-msg (never answered by another)', () => {
    expect(refuseEnvelope(refused(false, hint), G1.id, NOW)).toEqual([report]);
    expect(refuseEnvelope(refused(true), G1.id, NOW)).toEqual([report]);
    expect(refuseEnvelope(refused(true, { ...hint, messageType: MSG.error }), G1.id, NOW)).toEqual([report]);
  });
});
