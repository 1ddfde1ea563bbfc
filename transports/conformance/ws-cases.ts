// The WebSocket wire cases of the conformance suite: the handshake refuses before the upgrade, frames are
// bounded and checked, hostile JSON is answered with an error-msg, and dead peers are dropped.
import { expect, it } from 'vitest';
import { utf8 } from '../../kernel/encoding.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import { nonce, type SuiteContext } from './inbox.ts';
import { ECHO_TYPE } from './echo.ts';
import { craftProtocols, HOSTILE_JSON, rawUpgrade, type RawSocket, sendTextBytes } from './wire.ts';
import { ERROR_MSG_TYPE, PROBLEM_TYPES } from '../error-msg.ts';
import { MAX_MESSAGE_BYTES } from '../types.ts';
import { WS_PROTOCOL } from '../ws/handshake.ts';

export function registerWsWireCases(ctx: SuiteContext): void {
  const ids = ctx.harness.identities;
  const url = () => ctx.server().url!;
  /** Over TLS, the raw probes trust the root the server's certificate chains to. */
  const trust = () => (ctx.server().ca ? { ca: ctx.server().ca } : {});
  const asC = () => craftProtocols(url(), ids.server.id, ids.c.id, ids.c.id, ids.c.signer, undefined, trust());
  const open = async (protocols: string[], options?: { autoPong?: boolean }): Promise<RawSocket> => {
    const o = await rawUpgrade(url(), protocols, { ...options, ...trust() });
    if ('refused' in o) throw new Error(`upgrade refused with ${o.refused}`);
    return o.socket;
  };
  /** The raw socket still works: a valid message comes back as an echo from the authenticated id. */
  const echoes = async (s: RawSocket) => {
    const n = nonce();
    s.ws.send(JSON.stringify({ nonce: n }));
    for (let i = 0; i < 10; i++) {
      const m = (await s.next(10_000)) as Record<string, Json>;
      if (m.messageType === ECHO_TYPE && (m.message as Record<string, Json>).nonce === n)
        return expect(m.from).toBe(ids.c.id);
    }
    throw new Error('no echo among the next 10 frames');
  };

  it('a stranger is refused before the upgrade (403), and its client cannot connect', async () => {
    await expect(ctx.server().client(ids.stranger)).rejects.toMatchObject({ code: 'PEER_REFUSED' });
    // A challenge fetched for c, presented by the stranger under its own id and key.
    const protocols = await craftProtocols(
      url(),
      ids.server.id,
      ids.c.id,
      ids.stranger.id,
      ids.stranger.signer,
      undefined,
      trust(),
    );
    expect(await rawUpgrade(url(), protocols, trust())).toEqual({ refused: 403 });
    await ctx.stillServes();
  });

  it('a proof signed with the wrong key is refused before the upgrade (401)', async () => {
    const protocols = await craftProtocols(
      url(),
      ids.server.id,
      ids.c.id,
      ids.c.id,
      ids.stranger.signer,
      undefined,
      trust(),
    );
    expect(await rawUpgrade(url(), protocols, trust())).toEqual({ refused: 401 });
  });

  it('an upgrade without a proof, or with a proof for another server, is refused (401)', async () => {
    expect(await rawUpgrade(url(), [WS_PROTOCOL], trust())).toEqual({ refused: 401 });
    const other = await craftProtocols(url(), 'gw-elsewhere', ids.c.id, ids.c.id, ids.c.signer, undefined, trust());
    expect(await rawUpgrade(url(), other, trust())).toEqual({ refused: 401 });
  });

  it('a replayed handshake is refused (401): a challenge is good for one upgrade', async () => {
    const protocols = await asC();
    const first = await open(protocols);
    expect(first.ws.protocol).toBe(WS_PROTOCOL);
    await echoes(first);
    first.ws.close();
    await first.closed;
    expect(await rawUpgrade(url(), protocols, trust())).toEqual({ refused: 401 });
    await ctx.stillServes();
  });

  it(`a message over ${MAX_MESSAGE_BYTES} bytes closes the connection with 1009`, async () => {
    const s = await open(await asC());
    s.ws.send(JSON.stringify({ pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    expect(await s.closed).toBe(1009);
    await ctx.stillServes();
  });

  it('a text frame that is not UTF-8 ends the connection (1007 where the runtime lets the server choose)', async () => {
    const s = await open(await asC());
    sendTextBytes(s, new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // {"a":"<ff fe>"}
    expect(await s.closed).toBe(ctx.harness.invalidUtf8Close ?? 1007);
    await ctx.stillServes();
  });

  it('a binary frame closes the connection with 1003: messages are JSON text', async () => {
    const s = await open(await asC());
    s.ws.send(utf8('{"nonce":"binary"}'), { binary: true });
    expect(await s.closed).toBe(1003);
    await ctx.stillServes();
  });

  for (const [what, text] of HOSTILE_JSON) {
    it(`${what}: answered with a 400 error-msg; the connection and the server keep serving`, async () => {
      const s = await open(await asC());
      s.ws.send(text);
      const error = (await s.next(10_000)) as Record<string, Json>;
      expect(error).toMatchObject({
        messageType: ERROR_MSG_TYPE,
        type: PROBLEM_TYPES.badlyFormed,
        status: 400,
        hashPrevMessage: sha256Hex(utf8(text)),
      });
      await echoes(s);
      s.ws.close();
      await s.closed;
      await ctx.stillServes();
    });
  }

  it('a peer that stops answering pings is dropped', async () => {
    const s = await open(await asC(), { autoPong: false });
    const bound = ctx.harness.deadPeerWithinMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      s.closed,
      new Promise<'still open'>((r) => (timer = setTimeout(() => r('still open'), bound))),
    ]);
    clearTimeout(timer);
    expect(outcome, `a peer that answers no ping is still connected after ${bound} ms`).not.toBe('still open');
    await ctx.stillServes();
  });
}
