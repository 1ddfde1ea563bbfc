// Successors in the WebSocket handshake (docs/transports.md, "Handshake"; docs/high-availability.md): a backup
// with its own key and a certificate listed in the primary's connects, and serves, as the primary's gateway id,
// to a side whose successor authority accepts the certificate; a side without one refuses it, and so does one
// whose authority does not. Time is an input (a fixed clock on every side), and every wait is bounded.
import { afterEach, describe, expect, it } from 'vitest';
import {
  certificateHash,
  createAuthority,
  createIntermediate,
  issueGatewayCertificate,
  successorAuthority,
  x5cOf,
} from '../../identity/x509.ts';
import { keyTable, type Signer } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { toBase64Url } from '../../kernel/encoding.ts';
import { canonicalJson } from '../../kernel/json.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import { conformanceValidator, serveEcho } from '../../transports/conformance/echo.ts';
import { Inbox, nonce } from '../../transports/conformance/inbox.ts';
import {
  challengeSigningInput,
  challengeUrlOf,
  clientProtocols,
  encodeProof,
  parseChallenge,
  parseProof,
  type Proof,
  proofSigningInput,
  WS_PROTOCOL,
} from '../../transports/ws/handshake.ts';
import { WsServerTransport } from '../../transports/ws/node/server.ts';
import type { WsClientTransport } from '../../transports/ws/web/client.ts';
import { type WebSocketPairConstructor, WorkerdWsServer } from '../../transports/ws/workerd/server.ts';
import { wsClient } from '../support/transport-harnesses.ts';
import { quietErrors } from '../support/transport-identities.ts';

const NOW = Date.UTC(2026, 10, 30, 12);
const DAY = 86_400_000;
const clock = () => NOW;
/** The bound on every awaited event: generous, so a loaded machine is slow, not flaky. */
const WAIT_MS = 10_000;

/** gw-origin's primary key and certificate, listing two backup certificates (b1, and b2 on the same key as b1). */
async function world() {
  const since = new Date(NOW - DAY);
  const root = await createAuthority('Owner Root CA', 3650, since);
  const ca = await createIntermediate(root, 'Owner Gateways CA', 1825, since);
  const primary = (await generateWebCryptoSigner()).signer;
  const backup = (await generateWebCryptoSigner()).signer;
  const issue = (id: string, signer: Signer, backups?: string[]) =>
    issueGatewayCertificate(ca, { id, publicJwk: signer.publicJwk, notBefore: since, ...(backups ? { backups } : {}) });
  const b1 = await issue('gw-origin-b1', backup);
  const b2 = await issue('gw-origin-b2', backup);
  const unlisted = await issue('gw-origin-b3', backup);
  const primaryCert = await issue('gw-origin', primary, [await certificateHash(b1), await certificateHash(b2)]);
  const authority = successorAuthority({
    primaries: { 'gw-origin': primaryCert },
    roots: [root.certificate],
    intermediates: [ca.certificate],
  });
  const other = (await generateWebCryptoSigner()).signer;
  const keys = keyTable({ 'gw-origin': primary.publicJwk, 'gw-other': other.publicJwk });
  return { primary, backup, other, keys, authority, b1: x5cOf(b1), b2: x5cOf(b2), unlisted: x5cOf(unlisted) };
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function server(options: Omit<Parameters<typeof WsServerTransport.listen>[0], 'validate' | 'onError'>) {
  const s = await WsServerTransport.listen({
    heartbeatMs: 120_000,
    clock,
    validate: conformanceValidator,
    onError: quietErrors().onError,
    ...options,
  });
  open.push(s);
  serveEcho(s);
  return s;
}

function client(options: Omit<Parameters<typeof wsClient>[0], 'clock'>): WsClientTransport {
  const c = wsClient({ clock, connectTimeoutMs: WAIT_MS, ...options });
  open.push(c);
  return c;
}

/** A message from `c` to `peer` comes back echoed, `c` named as its sender. */
async function roundTrip(c: WsClientTransport, peer: string): Promise<void> {
  const inbox = new Inbox(c);
  const n = nonce();
  await c.send(peer, { messageType: 'urn:satp-recovery:test:ping', nonce: n });
  expect((await inbox.echoOf(n, WAIT_MS)).from).toBe(c.self);
}

/** A proof for `clientId` at `wsUrl`, signed by `signer`, carrying `x5c`; `swap` replaces x5c after signing. */
async function proofFor(wsUrl: string, clientId: string, signer: Signer, x5c?: string, swap?: string) {
  const res = await fetch(challengeUrlOf(wsUrl, clientId));
  const parsed = parseStrictJson(await res.text());
  const ch = parsed.ok ? parseChallenge(parsed.value) : undefined;
  if (!ch) throw new Error(`no challenge (${res.status})`);
  const body = {
    challenge: ch.challenge,
    clientId,
    serverId: ch.serverId,
    timestamp: NOW,
    ...(x5c ? { x5c } : {}),
  };
  const signature = toBase64Url(await signer.sign(proofSigningInput(body)));
  return [WS_PROTOCOL, encodeProof({ ...body, ...(swap ? { x5c: swap } : {}), signature })];
}

/** Upgrades with `protocols` on a raw `ws` socket: 101, or the refusal's status and problem detail. */
async function upgrade(url: string, protocols: string[]): Promise<{ status: number; detail?: string }> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  ws.on('error', () => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = new Promise<{ status: number; detail?: string }>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to the upgrade within ${WAIT_MS} ms`)), WAIT_MS);
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.on('unexpected-response', (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        const parsed = parseStrictJson(text);
        const detail = parsed.ok ? (parsed.value as { detail?: string }).detail : undefined;
        resolve({ status: res.statusCode ?? 0, ...(detail ? { detail } : {}) });
      });
    });
  });
  try {
    return await outcome;
  } finally {
    clearTimeout(timer);
  }
}

describe('handshake wire formats with x5c', () => {
  it('sign the same bytes as before without x5c, and cover x5c when it is there', () => {
    const p = { challenge: 'c', clientId: 'gw-a', serverId: 'gw-s', timestamp: 1 };
    const old = { purpose: 'urn:satp-recovery:ws-auth:v1', ...p };
    expect(new TextDecoder().decode(proofSigningInput(p))).toBe(canonicalJson(old));
    expect(new TextDecoder().decode(proofSigningInput({ ...p, x5c: 'MIIB' }))).toBe(
      canonicalJson({ ...old, x5c: 'MIIB' }),
    );
    const c = { challenge: 'c', clientId: 'gw-a', serverId: 'gw-s', expiresAt: 2 };
    const oldC = { purpose: 'urn:satp-recovery:ws-challenge:v1', ...c };
    expect(new TextDecoder().decode(challengeSigningInput(c))).toBe(canonicalJson(oldC));
    expect(new TextDecoder().decode(challengeSigningInput({ ...c, x5c: 'MIIB' }))).toBe(
      canonicalJson({ ...oldC, x5c: 'MIIB' }),
    );
  });

  it('parse the current fields, or those and an x5c string of at most 16,384 characters; nothing else', () => {
    const p: Proof = { challenge: 'c', clientId: 'gw-a', serverId: 'gw-s', timestamp: 1, signature: 's' };
    expect(parseProof({ ...p })).toEqual(p);
    expect(parseProof({ ...p, x5c: 'MIIB' })).toEqual({ ...p, x5c: 'MIIB' });
    expect(parseProof({ ...p, x5c: 'A'.repeat(16_384) })).toBeDefined();
    expect(parseProof({ ...p, x5c: 'A'.repeat(16_385) })).toBeUndefined();
    expect(parseProof({ ...p, x5c: 1 })).toBeUndefined();
    expect(parseProof({ ...p, x5c: ['MIIB'] })).toBeUndefined();
    expect(parseProof({ ...p, x5c: 'MIIB', other: 'x' })).toBeUndefined();
    expect(parseProof({ ...p, other: 'x' })).toBeUndefined();
  });
});

describe('a client that is a successor', () => {
  it("a backup connects as the primary's id to a server with the authority, and a message round-trips", async () => {
    const w = await world();
    const s = await server({ self: 'gw-other', signer: w.other, keys: w.keys, successor: w.authority });
    const c = client({
      self: 'gw-origin',
      signer: w.backup,
      certificate: w.b1,
      keys: w.keys,
      peers: { 'gw-other': s.url },
    });
    await c.connect('gw-other');
    await roundTrip(c, 'gw-other');
    expect(s.connectionsOf('gw-origin')).toBe(1);
  });

  it('is refused by a server without an authority, or with a certificate not listed: 401 saying why', async () => {
    const w = await world();
    const without = await server({ self: 'gw-other', signer: w.other, keys: w.keys });
    expect(await upgrade(without.url, await proofFor(without.url, 'gw-origin', w.backup, w.b1))).toEqual({
      status: 401,
      detail: expect.stringMatching(/carries a certificate .* trusts no successors/),
    });
    const c = client({
      self: 'gw-origin',
      signer: w.backup,
      certificate: w.b1,
      keys: w.keys,
      peers: { 'gw-other': without.url },
    });
    await expect(c.connect('gw-other')).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });

    const s = await server({ self: 'gw-other', signer: w.other, keys: w.keys, successor: w.authority });
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.backup, w.unlisted))).toEqual({
      status: 401,
      detail: expect.stringMatching(/not a successor of gw-origin: not-authorized/),
    });
    // Listed, but the proof is signed with another key than the certificate's.
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.other, w.b1))).toEqual({
      status: 401,
      detail: 'the proof signature does not verify',
    });
    // Without x5c the backup's key is not gw-origin's: refused as before.
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.backup))).toEqual({
      status: 401,
      detail: 'the proof signature does not verify',
    });
    // The primary itself, without x5c, still connects; and the backup does with a good proof.
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.primary))).toEqual({ status: 101 });
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.backup, w.b1))).toEqual({ status: 101 });
  });

  it('a proof whose x5c was swapped for another certificate fails, even one the authority accepts', async () => {
    const w = await world();
    const s = await server({ self: 'gw-other', signer: w.other, keys: w.keys, successor: w.authority });
    // b2 is listed and certifies the same key as b1: only the signature's coverage of x5c refuses the swap.
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.backup, w.b1, w.b2))).toEqual({
      status: 401,
      detail: 'the proof signature does not verify',
    });
    expect(await upgrade(s.url, await proofFor(s.url, 'gw-origin', w.backup, w.b1, w.unlisted))).toMatchObject({
      status: 401,
    });
  });

  it('the challenge endpoint still refuses ids that are not configured peers', async () => {
    const w = await world();
    const s = await server({ self: 'gw-other', signer: w.other, keys: w.keys, successor: w.authority });
    expect((await fetch(challengeUrlOf(s.url, 'gw-origin-b1'))).status).toBe(403);
  });
});

describe('a server that is a successor', () => {
  it("a backup serving as the primary's id: a client with the authority connects, one without refuses", async () => {
    const w = await world();
    const s = await server({ self: 'gw-origin', signer: w.backup, certificate: w.b1, keys: w.keys });
    const trusting = client({
      self: 'gw-other',
      signer: w.other,
      keys: w.keys,
      successor: w.authority,
      peers: { 'gw-origin': s.url },
    });
    await trusting.connect('gw-origin');
    await roundTrip(trusting, 'gw-origin');

    const plain = client({ self: 'gw-other', signer: w.other, keys: w.keys, peers: { 'gw-origin': s.url } });
    await expect(plain.connect('gw-origin')).rejects.toMatchObject({
      code: 'PEER_REFUSED',
      message: expect.stringMatching(/carries a certificate .* no successor authority/),
    });
  });

  it('a client refuses a server whose certificate is not listed, or that signs with another key', async () => {
    const w = await world();
    const unlisted = await server({ self: 'gw-origin', signer: w.backup, certificate: w.unlisted, keys: w.keys });
    const c = (url: string) =>
      client({ self: 'gw-other', signer: w.other, keys: w.keys, successor: w.authority, peers: { 'gw-origin': url } });
    await expect(c(unlisted.url).connect('gw-origin')).rejects.toMatchObject({
      code: 'PEER_REFUSED',
      message: expect.stringMatching(/not a successor of gw-origin: not-authorized/),
    });
    const impostor = await server({ self: 'gw-origin', signer: w.other, certificate: w.b1, keys: w.keys });
    await expect(c(impostor.url).connect('gw-origin')).rejects.toMatchObject({
      code: 'PEER_REFUSED',
      message: expect.stringMatching(/signature does not verify/),
    });
  });
});

describe('the fetch-style servers (Deno, workerd) take the same options', () => {
  // No socket is opened here (a 101 Response exists only in workerd): the challenge and the refusals are enough
  // to show the options reach the gatekeeper, whose decisions the Node cases above cover.
  const noPair = class {} as unknown as WebSocketPairConstructor;
  const URL_WS = 'ws://gw.test/satp/ws';
  const fetchFrom =
    (s: WorkerdWsServer): typeof fetch =>
    async (input) =>
      (await s.fetch(new Request(String(input)))) ?? new Response(null, { status: 404 });
  const upgradeRequest = (protocols: string[]) =>
    new Request(URL_WS.replace(/^ws/, 'http'), {
      headers: { upgrade: 'websocket', 'sec-websocket-protocol': protocols.join(', ') },
    });

  it('a backup served by one: its challenge carries x5c, which a client with the authority accepts', async () => {
    const w = await world();
    const s = new WorkerdWsServer({
      self: 'gw-origin',
      signer: w.backup,
      certificate: w.b1,
      keys: w.keys,
      clock,
      WebSocketPair: noPair,
    });
    open.push(s);
    const handshake = {
      self: 'gw-other',
      signer: w.other,
      keys: w.keys,
      verifier: defaultVerifier(),
      fetch: fetchFrom(s),
      clock,
    };
    await expect(clientProtocols(handshake, 'gw-origin', URL_WS)).rejects.toMatchObject({ code: 'PEER_REFUSED' });
    const protocols = await clientProtocols({ ...handshake, successor: w.authority }, 'gw-origin', URL_WS);
    expect(await s.gatekeeper.decide(protocols.join(', '))).toMatchObject({ ok: true, peer: 'gw-other' });
  });

  it('one with an authority refuses a backup whose certificate is not listed, 401 saying why', async () => {
    const w = await world();
    const s = new WorkerdWsServer({
      self: 'gw-other',
      signer: w.other,
      keys: w.keys,
      successor: w.authority,
      clock,
      WebSocketPair: noPair,
    });
    open.push(s);
    const handshake = {
      self: 'gw-origin',
      signer: w.backup,
      keys: w.keys,
      verifier: defaultVerifier(),
      fetch: fetchFrom(s),
      clock,
    };
    const refused = await s.fetch(
      upgradeRequest(await clientProtocols({ ...handshake, certificate: w.unlisted }, 'gw-other', URL_WS)),
    );
    if (!refused) throw new Error('the server did not answer the upgrade');
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/not a successor of gw-origin/);
    const good = await clientProtocols({ ...handshake, certificate: w.b1 }, 'gw-other', URL_WS);
    expect(await s.gatekeeper.decide(good.join(', '))).toMatchObject({ ok: true, peer: 'gw-origin' });
  });
});
