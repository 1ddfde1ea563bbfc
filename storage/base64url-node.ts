// Node's (and Deno's) native base64url for the kernel: `useNativeBase64Url()` once at startup. Every message's
// payload is base64url (JWS), and a recovery page's is close to a megabyte: Buffer decodes it about 20× faster than
// the kernel's JavaScript, which stays for browsers and workerd. Buffer's decoding is lax (it skips characters
// outside the alphabet and takes base64's '+' and '/' too), so the strictness the kernel's own decoding has is
// checked here first; useBase64Url refuses a codec that lets through any of a list of bad texts.
import { Buffer } from 'node:buffer';
import { BASE64URL_ALPHABET, type Base64UrlCodec, useBase64Url } from '../kernel/encoding.ts';

export const nativeBase64Url: Base64UrlCodec = {
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url'),
  decode: (text) => {
    const n = text.length;
    // ASCII only (as many UTF-8 bytes as characters), none of base64's own two, and no length that leaves one char.
    if (n % 4 === 1 || Buffer.byteLength(text, 'utf8') !== n || text.includes('+') || text.includes('/'))
      throw new RangeError('not base64url');
    const bytes = Buffer.from(text, 'base64url');
    // Every character outside the alphabet (padding, spaces) is skipped, so fewer bytes than the length says.
    if (bytes.length !== Math.floor((n * 3) / 4)) throw new RangeError('not base64url');
    // The last character's leftover bits must be zero: one spelling of the bytes, as one signature has.
    const rest = n % 4;
    if (rest > 0 && (BASE64URL_ALPHABET.indexOf(text[n - 1]!) & (rest === 2 ? 0x0f : 0x03)) !== 0)
      throw new RangeError('non-canonical base64url');
    // A plain Uint8Array of its own: a small Buffer is a view of a shared pool, and a Buffer's slice() is a view. A
    // large one (a recovery page's payload) has its memory to itself already: viewed, not copied, since copying
    // half a megabyte of fresh memory cost as much as decoding it.
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? new Uint8Array(bytes.buffer)
      : new Uint8Array(bytes);
  },
};

/** Makes the kernel's base64url Buffer's; checked against the kernel's own first (useBase64Url). */
export function useNativeBase64Url(): void {
  useBase64Url(nativeBase64Url);
}
