// The one transport conformance suite (the crossws way): transportConformance(harness) registers vitest cases
// that drive a gateway under test, started by the harness in any runtime, only through its wire. docs/transports.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSatpError } from '../../kernel/errors.ts';
import type { Json } from '../../kernel/json.ts';
import { COMMAND_RESULT_TYPE, COMMAND_TYPE, ECHO_TYPE, REFUSE_MARK } from './echo.ts';
import type { Identity } from './wire.ts';
import { Inbox, isObject, nonce, type SuiteContext, WAIT_MS } from './inbox.ts';
import { registerHttpWireCases } from './http-cases.ts';
import { registerWsWireCases } from './ws-cases.ts';
import { ERROR_MSG_TYPE } from '../error-msg.ts';
import { MAX_MESSAGE_BYTES, type Transport } from '../types.ts';

export type { Identity } from './wire.ts';
export { Inbox, nonce } from './inbox.ts';
export { conformanceValidator, serveEcho } from './echo.ts';

export interface ConformanceHarness {
  /** Names the transport and where its server runs, e.g. "ws: ws/node/server.ts in Deno (node compat)". */
  name: string;
  wire: 'memory' | 'ws' | 'http';
  /** The server trusts a, b and c (and they trust it); the stranger has a good key nobody trusts. */
  identities: { server: Identity; a: Identity; b: Identity; c: Identity; stranger: Identity };
  /** ws: the close code of a text frame that is not UTF-8 (1007; Deno.upgradeWebSocket aborts instead: 1006). */
  invalidUtf8Close?: number;
  /** ws: how long the server may take to drop a peer that stopped answering pings. */
  deadPeerWithinMs?: number;
  /**
   * Starts the gateway under test: serveEcho over its transport, conformanceValidator plugged in,
   * the identities above. Cases talk to it only through clients and raw wire probes.
   */
  start(): Promise<HarnessServer>;
}

export interface HarnessServer {
  /** ws: the endpoint URL (ws://…/satp/ws); http: the gateway app's base URL. */
  url?: string;
  /** ws over TLS (wss://): the root (PEM) the server's certificate chains to, which the raw wire probes trust. */
  ca?: string;
  /** A transport for `who`, connected to the server where the wire has connections; rejects if refused. */
  client(who: Identity): Promise<Transport>;
  stop(): Promise<void>;
}

export function transportConformance(harness: ConformanceHarness): void {
  describe(`transport conformance: ${harness.name}`, () => {
    let server: HarnessServer;
    let a: Inbox;
    let b: Inbox;
    const { identities: ids } = harness;

    beforeAll(async () => {
      server = await harness.start();
      a = new Inbox(await server.client(ids.a));
      b = new Inbox(await server.client(ids.b));
    });
    afterAll(async () => {
      await a?.transport.close();
      await b?.transport.close();
      await server?.stop();
    });

    const ctx: SuiteContext = {
      harness,
      server: () => server,
      a: () => a,
      b: () => b,
      stillServes: async () => {
        const n = nonce();
        await b.transport.send(ids.server.id, { nonce: n });
        expect((await b.echoOf(n)).from).toBe(ids.b.id);
      },
      command: async (from, body) => {
        const id = nonce();
        await from.transport.send(ids.server.id, { messageType: COMMAND_TYPE, id, ...body });
        const r = await from.take((m) => m.messageType === COMMAND_RESULT_TYPE && m.id === id, 35_000);
        return String(r.result);
      },
    };

    it('delivers a message to the server and its echo back, intact', async () => {
      const message = {
        nonce: nonce(),
        text: 'grüße ✓ 🚀',
        n: -12.5,
        big: Number.MAX_SAFE_INTEGER,
        list: [null, true, { deep: ['x'] }],
      };
      await a.transport.send(ids.server.id, message);
      const echo = await a.echoOf(message.nonce);
      expect(echo.message).toEqual(message);
    });

    it('the receiver sees the authenticated sender id, never a claimed one', async () => {
      const n = nonce();
      await a.transport.send(ids.server.id, { nonce: n, from: ids.b.id, sender: ids.b.id, author: ids.b.id });
      expect((await a.echoOf(n)).from).toBe(ids.a.id);
      await ctx.stillServes();
    });

    it('send refuses values that are not plain bounded JSON before anything leaves (INVALID_INPUT)', async () => {
      const deep: Json = JSON.parse('['.repeat(40) + ']'.repeat(40)) as Json;
      const bad: unknown[] = [
        JSON.parse('{"__proto__": 1}'),
        { n: 2 ** 53 + 2 },
        { n: Number.NaN },
        deep,
        { f: () => 1 },
        new Date(0),
      ];
      for (const value of bad)
        await expect(a.transport.send(ids.server.id, value as Json)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    });

    it(
      'send refuses a message ' +
        `over ${MAX_MESSAGE_BYTES} bytes ` +
        '(INVALID_INPUT), ' +
        'and one just under it arrives',
      async () => {
        await expect(a.transport.send(ids.server.id, { pad: 'x'.repeat(MAX_MESSAGE_BYTES) })).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
        const n = nonce();
        const message = { nonce: n, pad: '' };
        message.pad = 'y'.repeat(MAX_MESSAGE_BYTES - JSON.stringify(message).length);
        expect(JSON.stringify(message).length).toBe(MAX_MESSAGE_BYTES);
        await a.transport.send(ids.server.id, message);
        expect((await a.echoOf(n)).message).toEqual({ nonce: n, bytes: MAX_MESSAGE_BYTES });
      },
    );

    it('a message the validator refuses never reaches the server, and the sender is told', async () => {
      const refused = nonce();
      const after = nonce();
      if (harness.wire === 'http') {
        const err = await a.transport
          .send(ids.server.id, { nonce: refused, [REFUSE_MARK]: true })
          .catch((e: unknown) => e);
        expect(isSatpError(err, 'PEER_REFUSED')).toBe(true);
        expect((err as { detail?: { status?: number } }).detail?.status).toBe(422);
      } else {
        await a.transport.send(ids.server.id, { nonce: refused, [REFUSE_MARK]: true });
        const error = await a.take((m) => m.messageType === ERROR_MSG_TYPE && m.status === 422);
        expect(error.type).toBe('urn:ietf:params:satp:core:error:err_0.1.3');
      }
      await a.transport.send(ids.server.id, { nonce: after });
      await a.echoOf(after);
      // One connection delivers in order, so had the refused message been delivered its echo would be here by now.
      expect(
        a.all().some((s) => isObject(s.message) && isObject(s.message.message) && s.message.message.nonce === refused),
      ).toBe(false);
    });

    it('send to a peer that is not reachable rejects PEER_UNAVAILABLE', async () => {
      await expect(a.transport.send('gw-nowhere', { nonce: nonce() })).rejects.toMatchObject({
        code: 'PEER_UNAVAILABLE',
      });
    });

    it(
      'a closed client: its sends reject TRANSPORT_CLOSED, and the server, ' +
        'once it sees it gone, cannot send to it (PEER_UNAVAILABLE)',
      async () => {
        const c = new Inbox(await server.client(ids.c));
        const n = nonce();
        await c.transport.send(ids.server.id, { nonce: n });
        await c.echoOf(n);
        await c.transport.close();
        await c.transport.close(); // idempotent
        await expect(c.transport.send(ids.server.id, { nonce: nonce() })).rejects.toMatchObject({
          code: 'TRANSPORT_CLOSED',
        });
        if (c.transport.capabilities.connections)
          expect(await ctx.command(a, { command: 'await-down', peer: ids.c.id, timeoutMs: WAIT_MS })).toBe('down');
        expect(await ctx.command(a, { command: 'send-to', peer: ids.c.id, message: { nonce: nonce() } })).toBe(
          'PEER_UNAVAILABLE',
        );
        await ctx.stillServes();
      },
    );

    if (harness.wire !== 'http') {
      // HTTP gives no order across requests (each is its own exchange), so this applies to connections only.
      it('one connection delivers in send order', async () => {
        const ns = Array.from({ length: 30 }, () => nonce());
        for (const n of ns) await a.transport.send(ids.server.id, { nonce: n, ordered: true });
        const echoed: Json[] = [];
        // take() returns the oldest match, so this reads the echoes in arrival order.
        for (let i = 0; i < ns.length; i++) {
          const e = await a.take(
            (m) => m.messageType === ECHO_TYPE && isObject(m.message) && m.message.ordered === true,
          );
          echoed.push((e.message as Record<string, Json>).nonce!);
        }
        expect(echoed).toEqual(ns);
      });
    }

    if (harness.wire === 'ws') registerWsWireCases(ctx);
    if (harness.wire === 'http') registerHttpWireCases(ctx);
  });
}
