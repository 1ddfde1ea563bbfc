// The Node log server cuts off a client that trickles its request head (headersTimeout), and keeps serving
// others: recovery-04 §9 assumes the Log API serves every request within a time bound.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/log-storage-fixtures.ts';
import { startNodeTarget, type Target } from '../support/log-storage-targets.ts';

const HEADERS_TIMEOUT_MS = 1_000;
/**
 * The server checks its timeouts every headersTimeout/4 (http/node-limits.ts); this bound leaves room for a
 * loaded machine.
 */
const CUT_OFF_WITHIN_MS = 6_000;
const TRICKLE_EVERY_MS = 100;
/** The trickle would take 100 × 100 ms = 10 s to finish the request: longer than the bound. */
const MAX_TRICKLES = 100;

describe('Node log server: slow clients', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startNodeTarget({ headersTimeoutMs: HEADERS_TIMEOUT_MS });
  });
  afterAll(async () => {
    await target?.stop();
  });

  it(
    'a client sending a partial request line, ' + 'then trickling its headers, is disconnected within the bound',
    async () => {
      const { hostname, port } = new URL(target.url);
      const socket = connect(Number(port), hostname);
      const started = Date.now();
      const rest = `on HTTP/1.1\r\nHost: ${hostname}\r\nX-Slow: ${'a'.repeat(MAX_TRICKLES)}\r\n\r\n`;
      let sent = 0;
      let received = '';
      socket.on('data', (d) => {
        received += d.toString();
      });
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
      socket.on('error', () => undefined); // a reset is also a cut-off
      socket.write('GET /openapi.js');
      const trickle = setInterval(() => {
        if (sent >= MAX_TRICKLES || socket.destroyed) return clearInterval(trickle);
        socket.write(rest[sent++]!);
      }, TRICKLE_EVERY_MS);
      const hardStop = setTimeout(() => socket.destroy(), CUT_OFF_WITHIN_MS * 2);
      const elapsed = await closed;
      clearInterval(trickle);
      clearTimeout(hardStop);
      expect(elapsed).toBeLessThan(CUT_OFF_WITHIN_MS);
      expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
      expect(sent).toBeLessThan(rest.length); // cut off before the head was complete
      expect(received).not.toMatch(/HTTP\/1\.1 200/);
      expect((await call(target.url, 'GET', '/openapi.json', { as: null })).status).toBe(200);
    },
  );
});
