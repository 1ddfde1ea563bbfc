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

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Each 6-bit value's character, as its ASCII code. */
const B64URL_CODES = Uint8Array.from(B64URL, (c) => c.charCodeAt(0));
/** Character code → 6-bit value, -1 outside the alphabet. */
const B64URL_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < B64URL.length; i++) B64URL_VALUES[B64URL.charCodeAt(i)] = i;

/**
 * The base64url text of `bytes` (no padding) as its ASCII bytes. A signature over the text (JWS) takes these bytes
 * as they are, so a large payload is not encoded once to text and then again to bytes.
 */
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
 * Decoded from bytes in one go, the text is flat: built by concatenation, a large one would be a rope that every
 * later reader (encoding, hashing, sending) pays to flatten. ASCII is UTF-8 as it is.
 */
export const toBase64Url = (bytes: Uint8Array): string => decoder.decode(base64UrlBytes(bytes));

function sextet(text: string, at: number): number {
  const c = text.charCodeAt(at);
  const v = c < 128 ? B64URL_VALUES[c]! : -1;
  if (v < 0) throw new RangeError('not base64url');
  return v;
}

export function fromBase64Url(text: string): Uint8Array {
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
  // Reject non-canonical encodings (leftover bits must be zero) so one signature has one spelling.
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
