// Buffer's base64url (storage/base64url-node.ts) stands in for the kernel's own on Node and Deno gateways, for every
// message's payload and signature: it must give the same bytes and text, and refuse every text the kernel's own
// refuses, though Buffer's decoding alone takes padding, spaces, base64's '+' and '/', and leftover bits.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type Base64UrlCodec, fromBase64Url, toBase64Url, useBase64Url } from '../../kernel/encoding.ts';
import { nativeBase64Url } from '../../storage/base64url-node.ts';

/** The kernel's own answer for `text`: its bytes, or that it refuses it. */
function kernelDecode(text: string): Uint8Array | 'refused' {
  useBase64Url();
  try {
    return fromBase64Url(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError);
    return 'refused';
  }
}

function nativeDecode(text: string): Uint8Array | 'refused' {
  try {
    return nativeBase64Url.decode(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError);
    return 'refused';
  }
}

/** Near-base64url texts: the alphabet, with now and then a character from base64, padding, space or beyond ASCII. */
const texts = fc
  .array(
    fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') },
      { weight: 1, arbitrary: fc.constantFrom('+', '/', '=', ' ', '\n', '\0', 'é', 'Ł', '\u0141', '😀', '\u00c1') },
    ),
    { maxLength: 40 },
  )
  .map((chars) => chars.join(''));

afterEach(() => useBase64Url());

describe('the native base64url codec', () => {
  it('decodes as the kernel does, and refuses what it refuses, on any near-base64url text', () => {
    let refused = 0;
    fc.assert(
      fc.property(texts, (text) => {
        const want = kernelDecode(text);
        if (want === 'refused') refused++;
        expect(nativeDecode(text)).toEqual(want);
      }),
      { numRuns: 5_000 },
    );
    expect(refused, 'the texts include bad ones').toBeGreaterThan(500);
  });

  it('refuses leftover bits, padding and base64 on texts the kernel would refuse too', () => {
    for (const text of ['AB', 'AAB', 'QR==', 'QQ==', 'A+/A', 'A-_A ', ' A-_A', 'AAAAA']) {
      expect(kernelDecode(text), text).toBe('refused');
      expect(nativeDecode(text), text).toBe('refused');
    }
  });

  it('encodes every byte string as the kernel does, and its decoding gives the bytes back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        useBase64Url();
        const text = toBase64Url(bytes);
        expect(nativeBase64Url.encode(bytes)).toBe(text);
        // A view into a larger buffer encodes only its own bytes.
        const padded = new Uint8Array(bytes.length + 8);
        padded.set(bytes, 4);
        expect(nativeBase64Url.encode(padded.subarray(4, 4 + bytes.length))).toBe(text);
        const back = nativeBase64Url.decode(text);
        expect(back).toEqual(bytes);
        expect(Buffer.isBuffer(back), 'a plain Uint8Array, not a Buffer').toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('decodes a large text into bytes of their own, not a view of memory another buffer shares', () => {
    // Small results are copied out of Buffer's shared pool; a large one (a recovery page) is Buffer's own memory,
    // taken as it is. Either way, writing to the bytes changes nothing else.
    for (const n of [1, 100, 4_095, 4_096, 8_193, 700_001]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      const text = Buffer.from(bytes).toString('base64url');
      const back = nativeBase64Url.decode(text);
      expect(back, `${n} bytes`).toEqual(bytes);
      expect(Buffer.isBuffer(back)).toBe(false);
      expect([back.byteOffset, back.buffer.byteLength], `${n} bytes own their memory`).toEqual([0, n]);
      const other = Buffer.from('AAAA', 'base64url'); // from the shared pool
      back.fill(0xff);
      expect([...other]).toEqual([0, 0, 0]);
    }
  });

  it('is what the kernel uses once installed, until uninstalled', () => {
    const calls: string[] = [];
    const counted: Base64UrlCodec = {
      encode: (b) => {
        calls.push('encode');
        return nativeBase64Url.encode(b);
      },
      decode: (t) => {
        calls.push('decode');
        return nativeBase64Url.decode(t);
      },
    };
    useBase64Url(counted);
    calls.length = 0;
    expect(fromBase64Url(toBase64Url(Uint8Array.of(1, 2, 3)))).toEqual(Uint8Array.of(1, 2, 3));
    expect(() => fromBase64Url('AB')).toThrow(RangeError);
    expect(calls).toEqual(['encode', 'decode', 'decode']);
    useBase64Url();
    calls.length = 0;
    expect(toBase64Url(Uint8Array.of(1))).toBe('AQ');
    expect(calls).toEqual([]);
  });
});

describe('useBase64Url', () => {
  it("refuses Buffer's decoding without the checks, naming a text it let through", () => {
    const lax: Base64UrlCodec = {
      encode: nativeBase64Url.encode,
      decode: (text) => new Uint8Array(Buffer.from(text, 'base64url')),
    };
    expect(() => useBase64Url(lax)).toThrow(/does not refuse "AA=="/);
    // Refused, it is not installed: the kernel's own still refuses padding.
    expect(() => fromBase64Url('AA==')).toThrow(RangeError);
  });

  it('refuses a codec that encodes otherwise, such as base64 with padding', () => {
    const padded: Base64UrlCodec = {
      encode: (b) => Buffer.from(b).toString('base64'),
      decode: nativeBase64Url.decode,
    };
    expect(() => useBase64Url(padded)).toThrow(TypeError);
  });
});
