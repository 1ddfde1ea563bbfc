// Byte encodings used on the wire and in the log: UTF-8, lowercase hex, base64url without padding.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (text: string): Uint8Array => encoder.encode(text);
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);
/** Writes the UTF-8 of `text` into `into` as far as it fits (TextEncoder.encodeInto): what was read and written. */
export const encodeInto = (text: string, into: Uint8Array): { read: number; written: number } => {
  const r = encoder.encodeInto(text, into);
  return { read: r.read ?? 0, written: r.written ?? 0 };
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new RangeError('not lowercase hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The base64url alphabet (RFC 4648 §5), in the order of the 6-bit values. */
export const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Each 6-bit value's character, as its ASCII code. */
const B64URL_CODES = Uint8Array.from(BASE64URL_ALPHABET, (c) => c.charCodeAt(0));
/** Character code → 6-bit value, -1 outside the alphabet. */
const B64URL_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < BASE64URL_ALPHABET.length; i++) B64URL_VALUES[BASE64URL_ALPHABET.charCodeAt(i)] = i;

/** The base64url text of `bytes` (no padding) as its ASCII bytes, in JavaScript (the runtime's codec is not used). */
export function base64UrlBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil((n * 4) / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = B64URL_CODES[v >> 18]!;
    out[o++] = B64URL_CODES[(v >> 12) & 63]!;
    out[o++] = B64URL_CODES[(v >> 6) & 63]!;
    out[o++] = B64URL_CODES[v & 63]!;
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16;
    out[o++] = B64URL_CODES[v >> 18]!;
    out[o++] = B64URL_CODES[(v >> 12) & 63]!;
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out[o++] = B64URL_CODES[v >> 18]!;
    out[o++] = B64URL_CODES[(v >> 12) & 63]!;
    out[o++] = B64URL_CODES[(v >> 6) & 63]!;
  }
  return out;
}

/**
 * The base64url text of `bytes` (no padding): the runtime's codec if one is installed (useBase64Url), else decoded
 * from the ASCII bytes in one go, so the text is flat: built by concatenation, a large one would be a rope that every
 * later reader (encoding, hashing, sending) pays to flatten. ASCII is UTF-8 as it is.
 */
export const toBase64Url = (bytes: Uint8Array): string =>
  runtimeCodec ? runtimeCodec.encode(bytes) : decoder.decode(base64UrlBytes(bytes));

function sextet(text: string, at: number): number {
  const c = text.charCodeAt(at);
  const v = c < 128 ? B64URL_VALUES[c]! : -1;
  if (v < 0) throw new RangeError('not base64url');
  return v;
}

/**
 * The bytes of a base64url text (no padding). Refuses any other text, and any text that is not the one spelling of
 * its bytes (leftover bits set), so one signature has one spelling.
 */
export function fromBase64Url(text: string): Uint8Array {
  if (runtimeCodec) return runtimeCodec.decode(text);
  const length = text.length;
  if (length % 4 === 1) throw new RangeError('bad base64url length');
  const out = new Uint8Array(Math.floor((length * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  // Reject non-canonical encodings (leftover bits must be zero).
  if (length - i === 2) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12);
    if ((n & 0xffff) !== 0) throw new RangeError('non-canonical base64url');
    out[o++] = n >> 16;
  } else if (length - i === 3) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6);
    if ((n & 0xff) !== 0) throw new RangeError('non-canonical base64url');
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
  }
  return out;
}

/**
 * A runtime's own base64url codec (Node's and Deno's Buffer: storage/base64url-node.ts), installed with
 * useBase64Url. The kernel's is JavaScript, one character at a time: a recovery page of 900 kB took it 7 to 9 ms to
 * decode and 3 to 5 ms to encode, against under 1.5 ms each for Buffer.
 */
export interface Base64UrlCodec {
  /** The base64url text of `bytes`, without padding. */
  encode(bytes: Uint8Array): string;
  /**
   * The bytes of `text`, as a plain Uint8Array of their own. Throws a RangeError for any text that is not unpadded
   * base64url in its one spelling (leftover bits zero), as the kernel's own decoding does.
   */
  decode(text: string): Uint8Array;
}

let runtimeCodec: Base64UrlCodec | undefined;

/** Texts every decoder must refuse: padding, the other alphabet, spaces, leftover bits, a bad length, non-ASCII. */
const NOT_BASE64URL = ['AA==', 'AAA=', 'A+AA', 'A/AA', 'AA AA', 'AB', 'AAB', 'AAAAA', '\u0141AAA', 'AAA\u00c1'];

/**
 * Makes toBase64Url and fromBase64Url use `codec` (nothing: the kernel's own again). It is checked first against the
 * kernel's own, on every byte value and every length remainder, and on texts it must refuse; a TypeError if it fails.
 */
export function useBase64Url(codec?: Base64UrlCodec): void {
  runtimeCodec = undefined;
  if (!codec) return;
  const refuses = (text: string): boolean => {
    try {
      codec.decode(text);
      return false;
    } catch (err) {
      return err instanceof RangeError;
    }
  };
  const lax = NOT_BASE64URL.find((text) => !refuses(text));
  if (lax !== undefined) throw new TypeError(`useBase64Url: the codec does not refuse ${JSON.stringify(lax)}`);
  const probe = Uint8Array.from({ length: 258 }, (_, i) => (i * 167) & 0xff);
  for (const n of [0, 1, 2, 3, 256, 257, 258]) {
    const bytes = probe.subarray(0, n);
    const text = toBase64Url(bytes);
    const back = codec.decode(text);
    if (
      codec.encode(bytes) !== text ||
      !(back instanceof Uint8Array) ||
      back.length !== n ||
      back.some((b, i) => b !== bytes[i])
    )
      throw new TypeError('useBase64Url: the codec does not encode and decode base64url without padding');
  }
  runtimeCodec = codec;
}
