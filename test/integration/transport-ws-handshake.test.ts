// The WebSocket handshake with time as an input: challenges expire, are bound to one client and one server
// process, are spent by one upgrade (even two racing ones), and the client checks who issued them.
import { describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import { Gatekeeper } from '../../transports/ws/gatekeeper.ts';
import {
  AUTH_PROTOCOL_PREFIX,
  clientProtocols,
  encodeProof,
  parseChallenge,
  proofSigningInput,
  WS_PROTOCOL,
} from '../../transports/ws/handshake.ts';
import { TRANSPORT_IDS as ids, transportKeys } from '../support/transport-identities.ts';

const URL_BASE = 'http://gw-server.test/satp/ws';

function setup(options: { challengeTtlMs?: number; maxRemembered?: number } = {}) {
  let now = 1_700_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const gk = new Gatekeeper({
    self: ids.server.id,
    signer: ids.server.signer,
    keys: transportKeys,
    clock: clock.now,
    ...options,
  });
  /** The subprotocol header a client would offer, with optional tampering. */
  const header = async (
    who = ids.a,
    o: { claim?: string; signer?: typeof ids.a.signer; server?: string; timestamp?: number; issuer?: Gatekeeper } = {},
  ) => {
    const res = await (o.issuer ?? gk).challengeResponse(`${URL_BASE}/challenge?client=${who.id}`);
    const parsed = parseStrictJson(await res.text());
    const ch = parsed.ok ? parseChallenge(parsed.value) : undefined;
    if (!ch) throw new Error(`no challenge (${res.status})`);
    const body = {
      challenge: ch.challenge,
      clientId: o.claim ?? who.id,
      serverId: o.server ?? ids.server.id,
      timestamp: o.timestamp ?? clock.now(),
    };
    const signature = toBase64Url(await (o.signer ?? who.signer).sign(proofSigningInput(body)));
    return `${WS_PROTOCOL}, ${encodeProof({ ...body, signature })}`;
  };
  return { gk, clock, header };
}

describe('Gatekeeper: deciding an upgrade before it completes', () => {
  it('accepts a fresh proof once; the replay is refused', async () => {
    const { gk, header } = setup();
    const h = await header();
    expect(await gk.decide(h)).toEqual({ ok: true, peer: ids.a.id, protocol: WS_PROTOCOL });
    expect(await gk.decide(h)).toMatchObject({ ok: false, status: 401, detail: expect.stringMatching(/replay/) });
  });

  it('two upgrades racing with one proof: exactly one passes', async () => {
    const { gk, header } = setup();
    const h = await header();
    const results = await Promise.all([gk.decide(h), gk.decide(h), gk.decide(h)]);
    expect(results.filter((r) => r.ok).length).toBe(1);
  });

  it('refuses an expired challenge, and a proof timestamp far from the server clock', async () => {
    const { gk, clock, header } = setup({ challengeTtlMs: 30_000 });
    const h = await header();
    clock.advance(30_001);
    expect(await gk.decide(h)).toMatchObject({ ok: false, status: 401, detail: expect.stringMatching(/expired/) });
    const skewed = await header(ids.a, { timestamp: clock.now() - 120_000 });
    expect(await gk.decide(skewed)).toMatchObject({
      ok: false,
      status: 401,
      detail: expect.stringMatching(/timestamp/),
    });
  });

  it('a challenge is bound to its client and to the server process that issued it', async () => {
    const { gk, header } = setup();
    // a's challenge, claimed by b and signed with b's key: the MAC names a.
    expect(await gk.decide(await header(ids.a, { claim: ids.b.id, signer: ids.b.signer }))).toMatchObject({
      ok: false,
      status: 401,
    });
    // a challenge from another Gatekeeper (another process, another secret) for the same server id.
    const other = new Gatekeeper({ self: ids.server.id, signer: ids.server.signer, keys: transportKeys });
    expect(await gk.decide(await header(ids.a, { issuer: other }))).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses strangers 403 (at the challenge and at the upgrade), wrong keys and malformed offers 401', async () => {
    const { gk, header } = setup();
    expect((await gk.challengeResponse(`${URL_BASE}/challenge?client=${ids.stranger.id}`)).status).toBe(403);
    expect((await gk.challengeResponse(`${URL_BASE}/challenge?client=..%2F..`)).status).toBe(400);
    expect(await gk.decide(await header(ids.a, { claim: ids.stranger.id, signer: ids.stranger.signer }))).toMatchObject(
      { ok: false, status: 403 },
    );
    expect(await gk.decide(await header(ids.a, { signer: ids.stranger.signer }))).toMatchObject({
      ok: false,
      status: 401,
    });
    const good = await header();
    for (const bad of [
      null,
      '',
      WS_PROTOCOL,
      good.replace(`${WS_PROTOCOL}, `, ''),
      `${good}, ${AUTH_PROTOCOL_PREFIX}x`,
      `${WS_PROTOCOL}, ${AUTH_PROTOCOL_PREFIX}!!!`,
      `${WS_PROTOCOL}, ${AUTH_PROTOCOL_PREFIX}${toBase64Url(utf8('{"a":1,"a":2}'))}`,
      'x'.repeat(5000),
    ]) {
      expect(await gk.decide(bad)).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('remembers a bounded number of spent challenges: 503 when full, room again once they expire', async () => {
    const { gk, clock, header } = setup({ maxRemembered: 2, challengeTtlMs: 1_000 });
    expect((await gk.decide(await header())).ok).toBe(true);
    expect((await gk.decide(await header())).ok).toBe(true);
    expect(await gk.decide(await header())).toMatchObject({ ok: false, status: 503 });
    clock.advance(1_001);
    expect((await gk.decide(await header())).ok).toBe(true);
  });
});

describe('clientProtocols: the client checks who issued the challenge', () => {
  const handshake = (fetchFn: typeof fetch) => ({
    self: ids.a.id,
    signer: ids.a.signer,
    keys: transportKeys,
    verifier: defaultVerifier(),
    fetch: fetchFn,
    clock: () => 1_700_000_000_000,
  });
  const serving =
    (gk: Gatekeeper): typeof fetch =>
    async (input) =>
      gk.challengeResponse(String(input));

  it('signs a proof the server accepts', async () => {
    const gk = new Gatekeeper({
      self: ids.server.id,
      signer: ids.server.signer,
      keys: transportKeys,
      clock: () => 1_700_000_000_000,
    });
    const protocols = await clientProtocols(handshake(serving(gk)), ids.server.id, 'ws://gw-server.test/satp/ws');
    expect(await gk.decide(protocols.join(', '))).toMatchObject({ ok: true, peer: ids.a.id });
  });

  it('refuses a challenge from an endpoint that is not the peer it dialled, or not signed by its key', async () => {
    const impostor = new Gatekeeper({ self: ids.server.id, signer: ids.stranger.signer, keys: transportKeys });
    await expect(
      clientProtocols(handshake(serving(impostor)), ids.server.id, 'ws://x.test/satp/ws'),
    ).rejects.toMatchObject({ code: 'PEER_REFUSED' });
    const someoneElse = new Gatekeeper({ self: ids.b.id, signer: ids.b.signer, keys: transportKeys });
    await expect(
      clientProtocols(handshake(serving(someoneElse)), ids.server.id, 'ws://x.test/satp/ws'),
    ).rejects.toMatchObject({ code: 'PEER_REFUSED' });
  });

  it('maps the challenge request failing: unreachable or 5xx → PEER_UNAVAILABLE, 4xx → PEER_REFUSED', async () => {
    const down: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(clientProtocols(handshake(down), ids.server.id, 'ws://x.test/satp/ws')).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
    });
    const status =
      (s: number): typeof fetch =>
      async () =>
        new Response(null, { status: s });
    await expect(clientProtocols(handshake(status(503)), ids.server.id, 'ws://x.test/satp/ws')).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
    });
    await expect(clientProtocols(handshake(status(403)), ids.server.id, 'ws://x.test/satp/ws')).rejects.toMatchObject({
      code: 'PEER_REFUSED',
    });
  });
});
