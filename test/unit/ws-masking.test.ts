// A WebSocket client masks every frame it sends and the server unmasks it (RFC 6455 §5.3). ws does that in a
// JavaScript loop unless the optional `bufferutil` addon loads: for a recovery page of about a megabyte sent by a
// gateway that dialled its peer, the loop cost each side about a millisecond a page (BENCHMARKS.md). The package
// depends on bufferutil (optionalDependencies); these tests hold that ws, as this package resolves it, masks and
// unmasks large frames with it, and that a message still arrives intact.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);
// bufferutil as ws loads it: resolved from ws's own directory.
const fromWs = createRequire(require.resolve('ws'));
type Native = { mask: (...a: unknown[]) => void; unmask: (...a: unknown[]) => void };

describe('WebSocket masking through bufferutil', () => {
  const restore: (() => void)[] = [];
  afterEach(() => {
    for (const r of restore.splice(0)) r();
  });

  it('masks and unmasks like the JavaScript loop', () => {
    const addon = fromWs('bufferutil') as Native;
    const data = randomBytes(1 << 20);
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const out = Buffer.alloc(data.length + 3);
    addon.mask(data, key, out, 3, data.length);
    for (let i = 0; i < data.length; i += 4099) expect(out[3 + i]).toBe(data[i]! ^ key[i & 3]!);
    const back = Buffer.from(out.subarray(3));
    addon.unmask(back, key);
    expect(back.equals(data)).toBe(true);
  });

  it('is what ws uses for a large message a client sends, which arrives intact', async () => {
    const addon = fromWs('bufferutil') as Native;
    const calls = { mask: 0, unmask: 0 };
    for (const name of ['mask', 'unmask'] as const) {
      const original = addon[name];
      addon[name] = (...a: unknown[]) => {
        calls[name]++;
        return original(...a);
      };
      restore.push(() => {
        addon[name] = original;
      });
    }
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.once('listening', () => r()));
    restore.push(() => server.close());
    const received = new Promise<string>((resolve) =>
      server.once('connection', (ws) => ws.once('message', (data: Buffer) => resolve(data.toString('utf8')))),
    );
    const { port } = server.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    restore.push(() => client.terminate());
    await new Promise<void>((r, j) => {
      client.once('open', () => r());
      client.once('error', j);
    });
    const text = randomBytes(600_000).toString('base64url');
    client.send(text);
    expect(await received).toBe(text);
    expect(calls.mask).toBeGreaterThanOrEqual(1);
    expect(calls.unmask).toBeGreaterThanOrEqual(1);
  });
});
