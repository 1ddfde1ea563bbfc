// The transports bound every message by its UTF-8 size, counted without encoding it: the count must be the encoder's.
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { admitText, inboundContext, utf8Length } from '../../transports/inbound.ts';
import { SocketPeers } from '../../transports/ws/peers.ts';

const encoded = (text: string) => new TextEncoder().encode(text).length;

describe('utf8Length', () => {
  it('counts what TextEncoder writes, for any text: ASCII runs, 2-, 3- and 4-byte characters, lone surrogates', () => {
    const unit = fc.oneof(
      fc.constantFrom('a', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '€', '\uffff', '😀', '\ud800', '\udc00'),
      fc.string({ unit: 'binary', maxLength: 3 }),
    );
    const text = fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.array(unit, { maxLength: 200 }));
    fc.assert(
      fc.property(text, ([ascii, units]) => {
        const t = 'x'.repeat(ascii) + units.join('');
        expect(utf8Length(t)).toBe(encoded(t));
      }),
      { numRuns: 400, seed: 9021 },
    );
  });

  it('a lone high surrogate before a wide character is 3 bytes, not half of a pair (bug: counted 4 for both)', () => {
    // Before the fix any character after a high surrogate was taken as its pair: "\ud800é" counted 4, not 3 + 2.
    for (const t of ['\ud800é', '\ud800€', '\udbff\ud800\udc00', '\ud800\ud800'])
      expect(utf8Length(t)).toBe(encoded(t));
  });

  it('counts characters that meet the end of its 64 KiB window: a pair is never split, a lone half is 3 bytes', () => {
    for (let pad = 65_530; pad <= 65_537; pad++)
      for (const c of ['😀', '€', 'é', '\ud800', '\udc00', '\ud800x', '😀😀'])
        expect(utf8Length(`${'x'.repeat(pad)}${c}${'y'.repeat(pad)}${c}`), `${pad} + ${c}`).toBe(
          encoded(`${'x'.repeat(pad)}${c}${'y'.repeat(pad)}${c}`),
        );
  });

  it('counts a JWS-sized ASCII message, with one wide character at either end', () => {
    const body = 'A'.repeat(400_000);
    for (const t of [body, `é${body}`, `${body}😀`, '']) expect(utf8Length(t)).toBe(encoded(t));
  });
});

describe('admitText: the size bound, counted once', () => {
  const ctx = inboundContext({ maxMessageBytes: 100 });
  const text = JSON.stringify({ m: '€'.repeat(30) }); // 38 characters, 98 bytes in UTF-8

  it('counts the UTF-8 of a text near the bound when the runtime gave no byte count', async () => {
    expect((await admitText('p', text, ctx)).ok).toBe(true);
    const over = JSON.stringify({ m: '€'.repeat(31) }); // 101 bytes, 39 characters
    const refused = await admitText('p', over, ctx);
    expect(refused.ok || refused.status).toBe(413);
  });

  it('takes the byte count a runtime read the frame with (the Node server): over the bound is refused', async () => {
    expect((await admitText('p', text, ctx, 98)).ok).toBe(true);
    const refused = await admitText('p', '{}', ctx, 101);
    expect(refused.ok || refused.status).toBe(413);
  });
});

describe('a WebSocket connection takes text only', () => {
  it('bytes handed over as a text frame are refused like a binary frame (1003); text is admitted', async () => {
    const peers = new SocketPeers({ self: 'gw-self' });
    const got: unknown[] = [];
    peers.onMessage((_from, message) => void got.push(message));
    const closes: number[] = [];
    const socket = { bufferedAmount: 0, sendText: () => undefined, close: (code: number) => void closes.push(code) };
    const text = peers.attach('gw-peer', socket);
    text.receive('{"a":1}', false);
    await vi.waitFor(() => expect(got).toEqual([{ a: 1 }]));
    expect(closes).toEqual([]);
    const bytes = peers.attach('gw-peer', socket);
    closes.length = 0;
    bytes.receive(new TextEncoder().encode('{"a":2}'), false);
    expect(closes).toEqual([1003]);
    bytes.receive('{"a":3}', false); // the connection is closed: nothing more is taken
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual([{ a: 1 }]);
  });
});
