// The HTTP wire cases of the conformance suite: signed requests only, from known peers, once, within 1 MiB,
// as strict JSON; every refusal is an RFC 9457 problem that is also a SATP error-msg; every reply is signed.
import { expect, it } from 'vitest';
import { utf8 } from '../../kernel/encoding.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import { nonce, type SuiteContext } from './inbox.ts';
import { HOSTILE_JSON, signedPost } from './wire.ts';
import { ERROR_MSG_TYPE, PROBLEM_TYPES } from '../error-msg.ts';
import { MESSAGES_PATH } from '../http/client.ts';
import { MAX_MESSAGE_BYTES } from '../types.ts';

export function registerHttpWireCases(ctx: SuiteContext): void {
  const ids = ctx.harness.identities;
  const url = () => ctx.server().url!;
  const message = () => utf8(JSON.stringify({ nonce: nonce() }));

  it('a stranger is refused 403, and its sends reject PEER_REFUSED', async () => {
    expect((await signedPost(url(), ids.server.id, ids.stranger, message())).status).toBe(403);
    const stranger = await ctx.server().client(ids.stranger);
    try {
      const err = await stranger.send(ids.server.id, { nonce: nonce() }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PEER_REFUSED', detail: { status: 403 } });
    } finally {
      await stranger.close();
    }
    await ctx.stillServes();
  });

  it('a request signed with the wrong key, or not signed, is refused 401', async () => {
    expect((await signedPost(url(), ids.server.id, ids.a, message(), ids.stranger.signer)).status).toBe(401);
    const res = await fetch(`${url()}${MESSAGES_PATH}?to=${ids.server.id}`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^SATP-Sig /);
    await res.arrayBuffer();
  });

  it('a request signed for another gateway is refused 401', async () => {
    const r = await signedPost(url(), 'gw-elsewhere', ids.a, message());
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ type: PROBLEM_TYPES.misdirected });
  });

  it('a replayed request is refused 401: a signed request is good once', async () => {
    const first = await signedPost(url(), ids.server.id, ids.a, message());
    expect(first.status).toBe(202);
    expect(await first.replay()).toBe(401);
    await ctx.stillServes();
  });

  it(`a message over ${MAX_MESSAGE_BYTES} bytes is refused 413`, async () => {
    const body = utf8(JSON.stringify({ pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    const r = await signedPost(url(), ids.server.id, ids.a, body);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ messageType: ERROR_MSG_TYPE, type: PROBLEM_TYPES.tooLarge, status: 413 });
    await ctx.stillServes();
  });

  it('a body that is not UTF-8 is refused 400', async () => {
    const r = await signedPost(
      url(),
      ids.server.id,
      ids.a,
      new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    );
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ messageType: ERROR_MSG_TYPE, type: PROBLEM_TYPES.badEncoding, status: 400 });
    await ctx.stillServes();
  });

  for (const [what, text] of HOSTILE_JSON) {
    it(`${what}: refused 400 with a problem+json error-msg; the server keeps serving`, async () => {
      const r = await signedPost(url(), ids.server.id, ids.a, utf8(text));
      expect(r.status).toBe(400);
      expect(r.contentType).toBe('application/problem+json');
      expect(r.body).toMatchObject({
        messageType: ERROR_MSG_TYPE,
        type: PROBLEM_TYPES.badlyFormed,
        status: 400,
        hashPrevMessage: sha256Hex(utf8(text)),
      });
      await ctx.stillServes();
    });
  }
}
