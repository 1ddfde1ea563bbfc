// Connection limits of the WebSocket servers (docs/transports.md, "Limits and close codes"): sockets per peer,
// sockets still in the handshake, slow or silent sockets, and the heartbeat. Each server runs in this process on
// 127.0.0.1: ws/node/server.ts on its own listener and attached to serveOnNode (on Node, or Deno's Node compat),
// and ws/deno/server.ts on Deno.serve under Deno. Timeouts are small; every wait is an event with a generous bound.
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { Verifier } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { Inbox, nonce } from '../../transports/conformance/inbox.ts';
import { conformanceValidator, ECHO_TYPE, serveEcho } from '../../transports/conformance/echo.ts';
import { craftProtocols, type Identity } from '../../transports/conformance/wire.ts';
import { DenoWsServer, type DenoWsServerOptions } from '../../transports/ws/deno/server.ts';
import { PROBLEM_TYPES } from '../../transports/error-msg.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { serveOnNode } from '../../http/node-serve.ts';
import { serveFetch } from '../support/serve.ts';
import type { Transport } from '../../transports/types.ts';
import { WsServerTransport, type WsServerOptions } from '../../transports/ws/node/server.ts';
import { closeCodeOf, type Frame, OPCODE, rawTcp, rawTcpUpgrade, type RawTcpWs } from '../support/raw-tcp-ws.ts';
import { until, within } from '../support/raw-tcp-ws.ts';
import { inDeno, wsClient } from '../support/transport-harnesses.ts';
import { quietErrors, TRANSPORT_IDS as ids, transportKeys } from '../support/transport-identities.ts';

/** The bound on every awaited event: generous, so a loaded machine is slow, not flaky. */
const WAIT_MS = 10_000;
/** Small timeouts under test. */
const HANDSHAKE_MS = 300;
const HEARTBEAT_MS = 100;
/** Long enough that a timer not under test never fires during a case. */
const NEVER_MS = 120_000;

type Kind = 'node' | 'node-attached' | 'deno';
// Deno.serve first: serveOnNode (@hono/node-server) replaces the global Response, which Deno.serve then refuses.
const KINDS: Kind[] = inDeno ? ['deno', 'node', 'node-attached'] : ['node', 'node-attached'];
const COMPAT = inDeno ? ' (Deno’s Node compat)' : '';
const NAMES: Record<Kind, string> = {
  node: `ws/node/server.ts on its own node:http listener${COMPAT}`,
  'node-attached': `ws/node/server.ts attached to serveOnNode, the gateway app's server${COMPAT}`,
  deno: 'ws/deno/server.ts on Deno.serve',
};

type LimitName = 'maxConnectionsPerPeer' | 'maxPendingHandshakes' | 'handshakeTimeoutMs';
type TimerName = 'heartbeatMs' | 'keepAliveTimeoutMs' | 'closeGraceMs';
type Limits = Pick<WsServerOptions, LimitName | TimerName | 'verifier'> &
  Pick<DenoWsServerOptions, 'idleTimeoutSeconds'>;

interface Started {
  /** The ws:// URL of the endpoint. */
  url: string;
  server: WsServerTransport | DenoWsServer;
  stop(): Promise<void>;
}

/** The echo gateway over one server kind, with `limits` (timers not under test are set far out). */
async function start(kind: Kind, limits: Limits = {}): Promise<Started> {
  const common = {
    self: ids.server.id,
    signer: ids.server.signer,
    keys: transportKeys,
    validate: conformanceValidator,
    onError: quietErrors().onError,
    ...limits,
  };
  if (kind === 'node') {
    const server = await WsServerTransport.listen({ heartbeatMs: NEVER_MS, ...common });
    serveEcho(server);
    return { url: server.url, server, stop: () => server.close() };
  }
  if (kind === 'node-attached') {
    const server = new WsServerTransport({ heartbeatMs: NEVER_MS, ...common });
    const http = new HttpTransport({ self: ids.server.id, signer: ids.server.signer, keys: transportKeys, peers: {} });
    const app = createGatewayApp({ transport: http, websocket: { path: server.path, gatekeeper: server.gatekeeper } });
    // serveOnNode's headersTimeout stands for the handshake timeout of the HTTP server the transport is attached to.
    const headersTimeoutMs = limits.handshakeTimeoutMs ?? NEVER_MS;
    const served = await serveOnNode(app.fetch, { headersTimeoutMs, keepAliveTimeoutMs: NEVER_MS });
    server.attach(served.server);
    serveEcho(server);
    return {
      url: `${served.url.replace(/^http/, 'ws')}${server.path}`,
      server,
      stop: async () => {
        await server.close();
        await http.close();
        await served.close();
      },
    };
  }
  const server = new DenoWsServer({ idleTimeoutSeconds: NEVER_MS / 1_000, ...common });
  serveEcho(server);
  // Under Deno, serveFetch serves on Deno.serve.
  const http = await serveFetch(async (req) => (await server.fetch(req)) ?? new Response(null, { status: 404 }));
  return {
    url: `${http.url.replace(/^http/, 'ws')}${server.path}`,
    server,
    stop: async () => {
      await server.close();
      await http.close();
    },
  };
}

/** A verifier that holds every check until `open()`: upgrades stay in the decision as long as a test needs. */
function gatedVerifier(): { verifier: Verifier; open: () => void } {
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const inner = defaultVerifier();
  const verify: Verifier['verify'] = async (key, data, signature) => {
    await gate;
    return inner.verify(key, data, signature);
  };
  return { open, verifier: { verify } };
}

const isClose = (f: Frame) => f.opcode === OPCODE.close;
const isPing = (f: Frame) => f.opcode === OPCODE.ping;

/** The subprotocols of a valid handshake of `who` with the server at `url`. */
const proofOf = (url: string, who: Identity) => craftProtocols(url, ids.server.id, who.id, who.id, who.signer);

/** A raw socket's message comes back as an echo on the same socket. */
async function echoesRaw(s: RawTcpWs): Promise<void> {
  const n = nonce();
  s.sendText(JSON.stringify({ nonce: n }));
  const frame = await s.frame((f) => f.opcode === OPCODE.text && f.payload.toString('utf8').includes(n), WAIT_MS);
  expect(JSON.parse(frame.payload.toString('utf8'))).toMatchObject({ messageType: ECHO_TYPE, message: { nonce: n } });
}

/** A client transport's message comes back as an echo. */
async function echoes(t: Transport, inbox: Inbox): Promise<void> {
  const n = nonce();
  await t.send(ids.server.id, { nonce: n });
  await inbox.echoOf(n, WAIT_MS);
}

/** The first answer on a raw HTTP socket: its status, or 'closed' if the connection ended without one. */
function firstAnswer(socket: Socket): Promise<number | 'closed'> {
  return within(
    new Promise((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      socket.once('close', () => resolve('closed'));
    }),
    WAIT_MS,
    'an answer or a close',
  );
}

// Everything a case opened, closed after it whatever happened (raw sockets first, so Deno.serve can shut down).
const sockets: Socket[] = [];
const transports: Transport[] = [];
const servers: Started[] = [];
const track = <T extends { socket: Socket }>(s: T): T => {
  sockets.push(s.socket);
  return s;
};
const client = async (url: string, who: Identity): Promise<{ t: Transport; inbox: Inbox }> => {
  const peers = { [ids.server.id]: url };
  const t = wsClient({ self: who.id, signer: who.signer, keys: transportKeys, peers, onError: () => {} });
  transports.push(t);
  const inbox = new Inbox(t);
  await t.connect(ids.server.id);
  return { t, inbox };
};
const started = async (kind: Kind, limits?: Limits): Promise<Started> => {
  const s = await start(kind, limits);
  servers.push(s);
  return s;
};

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const t of transports.splice(0)) await within(t.close(), WAIT_MS, 'closing a client');
  for (const s of servers.splice(0)) await within(s.stop(), WAIT_MS, 'stopping a server');
});

describe.each(KINDS)('%s', (kind) => {
  describe(NAMES[kind], () => {
    it('a peer reconnecting while its old socket seems alive (a crash) gets in; the old one gets 4000', async () => {
      const srv = await started(kind, { closeGraceMs: 200 });
      const old = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
      expect(old.status).toBe(101);
      const { t, inbox } = await client(srv.url, ids.c);
      expect(closeCodeOf(await old.frame(isClose, WAIT_MS))).toBe(4000);
      await echoes(t, inbox);
      // ws terminates a socket whose peer never answers the close frame; Deno cannot (docs/transports.md).
      if (kind !== 'deno') await within(old.closed, WAIT_MS, 'the old socket to be cut after closeGraceMs');
    });

    const cap = 3;
    const pastCap = kind === 'deno' ? 'the one past the cap is refused 503' : 'the oldest is terminated';
    it(`at most ${cap} sockets per peer: ${pastCap}; other peers are unaffected`, async () => {
      // closeGraceMs far out: the replaced sockets must stay closing until the cap, not ws's close timeout, acts.
      const srv = await started(kind, { maxConnectionsPerPeer: cap, closeGraceMs: NEVER_MS });
      const a = await client(srv.url, ids.a);
      // c opens sockets that never answer a close frame: each replaces the previous, which then stays closing.
      const held: RawTcpWs[] = [];
      for (let i = 0; i < cap; i++) {
        const s = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
        expect(s.status).toBe(101);
        if (held.length > 0) expect(closeCodeOf(await held.at(-1)!.frame(isClose, WAIT_MS))).toBe(4000);
        held.push(s);
      }
      expect(srv.server.connectionsOf(ids.c.id)).toBe(cap);
      const extra = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
      let live: RawTcpWs;
      if (kind === 'deno') {
        // Deno cannot abort a socket stuck in its closing handshake, so the newcomer waits for one to go.
        expect(extra.status).toBe(503);
        expect(JSON.parse(await extra.body())).toMatchObject({ status: 503, type: PROBLEM_TYPES.busy });
        held[0]!.socket.destroy();
        await until(() => srv.server.connectionsOf(ids.c.id) < cap, WAIT_MS, 'Deno reporting the gone socket closed');
        live = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
        expect(live.status).toBe(101);
      } else {
        // The newcomer is the live connection; the oldest (told 4000 long ago) is cut without more ado.
        expect(extra.status).toBe(101);
        await within(held[0]!.closed, WAIT_MS, 'the oldest socket of the peer to be terminated');
        live = extra;
      }
      expect(srv.server.connectionsOf(ids.c.id)).toBeLessThanOrEqual(cap);
      await echoesRaw(live);
      await echoes(a.t, a.inbox);
      expect(srv.server.peers().sort()).toEqual([ids.a.id, ids.c.id].sort());
    });

    if (kind === 'node') {
      it('on its own listener, sockets past maxPendingHandshakes are dropped unread until some go', async () => {
        const limits = { maxPendingHandshakes: 4, handshakeTimeoutMs: NEVER_MS, keepAliveTimeoutMs: NEVER_MS };
        const srv = await started(kind, limits);
        const raw = await Promise.all(Array.from({ length: 5 }, async () => track(await rawTcp(srv.url))));
        const answers = raw.map((r) => firstAnswer(r.socket));
        const request = `GET /satp/ws/challenge?client=${ids.a.id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
        for (const r of raw) r.socket.write(request);
        // Four are served a challenge (and kept alive); the fifth was closed when it connected.
        expect((await Promise.all(answers)).map(String).sort()).toEqual(['200', '200', '200', '200', 'closed']);
        expect(srv.server.pendingHandshakes).toBe(4);
        await expect(client(srv.url, ids.c)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
        for (const r of raw) r.socket.destroy();
        await until(() => srv.server.pendingHandshakes === 0, WAIT_MS, 'the server seeing the sockets go');
        const c = await client(srv.url, ids.c);
        await echoes(c.t, c.inbox);
      });

      it('a socket stops counting against maxPendingHandshakes once it is an authenticated WebSocket', async () => {
        // Kept-alive challenge connections close after 200 ms; only the WebSockets stay, and must not count.
        const srv = await started(kind, { maxPendingHandshakes: 2, keepAliveTimeoutMs: 200 });
        for (const who of [ids.a, ids.b, ids.c]) {
          const { t, inbox } = await client(srv.url, who);
          await echoes(t, inbox);
          await until(() => srv.server.pendingHandshakes === 0, WAIT_MS, `nothing pending once ${who.id} is connected`);
        }
        expect(srv.server.peers().sort()).toEqual([ids.a.id, ids.b.id, ids.c.id].sort());
      });
    } else {
      it('upgrades past maxPendingHandshakes are refused 503 while others are being decided', async () => {
        const gate = gatedVerifier();
        const srv = await started(kind, { maxPendingHandshakes: 2, verifier: gate.verifier });
        const proofs = await Promise.all([ids.a, ids.b, ids.c].map((who) => proofOf(srv.url, who)));
        const deciding = [rawTcpUpgrade(srv.url, proofs[0]!), rawTcpUpgrade(srv.url, proofs[1]!)];
        await until(() => srv.server.pendingHandshakes === 2, WAIT_MS, 'two upgrades in the decision');
        const third = track(await rawTcpUpgrade(srv.url, proofs[2]!));
        expect(third.status).toBe(503);
        expect(JSON.parse(await third.body())).toMatchObject({ status: 503, type: PROBLEM_TYPES.busy });
        gate.open();
        const decided = await Promise.all(deciding);
        decided.forEach(track);
        expect(decided.map((s) => s.status)).toEqual([101, 101]);
        await echoesRaw(decided[1]!);
      });
    }

    if (kind !== 'deno') {
      it('a socket that sends nothing, or trickles its request head, is closed by the server', async () => {
        const srv = await started(kind, { handshakeTimeoutMs: HANDSHAKE_MS });
        const silent = track(await rawTcp(srv.url));
        const slow = track(await rawTcp(srv.url));
        const rest = `lenge?client=${ids.a.id} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(150)}\r\n\r\n`;
        slow.socket.write('GET /satp/ws/chal');
        // One byte every 50 ms: the whole head would take about 10 s, far past the timeout under test.
        let sent = 0;
        const trickle = setInterval(() => {
          if (sent >= rest.length || slow.socket.destroyed) return clearInterval(trickle);
          slow.socket.write(rest[sent++]!);
        }, 50);
        try {
          await within(Promise.all([silent.closed, slow.closed]), WAIT_MS, 'the server closing both sockets');
        } finally {
          clearInterval(trickle);
        }
        expect(sent).toBeLessThan(rest.length);
        expect(slow.received()).not.toMatch(/^HTTP\/1\.1 200/);
        const c = await client(srv.url, ids.c);
        await echoes(c.t, c.inbox);
      });
    }

    const late = kind === 'deno' ? 'answered 503' : 'closed';
    it(`an upgrade not decided within handshakeTimeoutMs is ${late}`, async () => {
      const gate = gatedVerifier();
      const srv = await started(kind, { handshakeTimeoutMs: HANDSHAKE_MS, verifier: gate.verifier });
      try {
        const s = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
        if (kind === 'deno') {
          expect(s.status).toBe(503);
          const problem = { status: 503, type: PROBLEM_TYPES.busy, detail: expect.stringMatching(/took over/) };
          expect(JSON.parse(await s.body())).toMatchObject(problem);
        } else {
          expect(s.status).toBe(0); // no answer: the socket was destroyed
          await within(s.closed, WAIT_MS, 'the stalled upgrade to be closed');
        }
        expect(srv.server.connectionsOf(ids.c.id)).toBe(0);
      } finally {
        gate.open();
      }
    });

    const heartbeat: Limits = kind === 'deno' ? { idleTimeoutSeconds: 1 } : { heartbeatMs: HEARTBEAT_MS };
    it('an idle WebSocket whose client stops answering pings is closed', async () => {
      const srv = await started(kind, heartbeat);
      const down = new Promise<void>((resolve) => {
        srv.server.onPeer((peer, up) => {
          if (peer === ids.c.id && !up) resolve();
        });
      });
      const s = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
      expect(s.status).toBe(101);
      await s.frame(isPing, WAIT_MS);
      await within(s.closed, WAIT_MS, 'the server closing a socket that answers no ping');
      await within(down, WAIT_MS, 'the server reporting the peer down');
      expect(srv.server.connectionsOf(ids.c.id)).toBe(0);
    });

    it('an idle WebSocket that answers pings stays open and usable', async () => {
      // The HTTP server's timeouts (HANDSHAKE_MS here) must not reach a socket once it is a WebSocket.
      const srv = await started(kind, { ...heartbeat, handshakeTimeoutMs: HANDSHAKE_MS });
      const s = track(await rawTcpUpgrade(srv.url, await proofOf(srv.url, ids.c)));
      expect(s.status).toBe(101);
      s.answerPings();
      // Six pings span five intervals: longer than the handshake deadline, and several missed-pong windows.
      await s.count(isPing, 6, WAIT_MS);
      await echoesRaw(s);
      expect(s.frames.filter(isClose)).toEqual([]);
      expect(srv.server.connectionsOf(ids.c.id)).toBe(1);
    });
  });
});
