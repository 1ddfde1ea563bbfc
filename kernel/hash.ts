// SHA-256 over canonical JSON, synchronous (noble) so reducers can hash without awaiting.
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './encoding.ts';
import { canonicalJson, type Json } from './json.ts';

/** A synchronous SHA-256: bytes in, the 32-byte digest out. */
export type Sha256 = (bytes: Uint8Array) => Uint8Array;

/**
 * A synchronous SHA-256 of a text's UTF-8 bytes, as 64 lowercase hex digits. A native hash that takes the text as
 * it is (node:crypto's) skips encoding it to bytes in JavaScript, which costs more than the hash itself here.
 */
export type Sha256OfText = (text: string) => string;

let digest: Sha256 = sha256;
let digestText: Sha256OfText | undefined;

/**
 * Replaces the SHA-256 the kernel uses (noble's, in JavaScript, by default) with another synchronous one,
 * such as Node's native `crypto.createHash('sha256')`, about 6× faster on an entry here. SHA-256 is
 * SHA-256: every hash, and so every chain and signature, is the same whichever computes it; the new one
 * is checked against a known answer before it is taken. The kernel never picks one itself, since it may
 * not touch a runtime API (the same idea as noble's own `etc.sha256Sync`); `test/unit/kernel-log.test.ts` shows
 * the Node wiring.
 */
export function useSha256(impl: Sha256, ofText?: Sha256OfText): void {
  const probe = utf8('abc');
  const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  const got = impl(probe);
  if (!(got instanceof Uint8Array) || got.length !== 32 || toHex(got) !== expected)
    throw new TypeError('useSha256: the implementation does not compute SHA-256');
  if (ofText) {
    // Text with characters of every UTF-8 length, so an implementation that hashes another encoding is caught.
    const text = 'abc é € 😀';
    if (ofText('abc') !== expected || ofText(text) !== toHex(impl(utf8(text))))
      throw new TypeError('useSha256: the text implementation does not compute SHA-256 of UTF-8');
  }
  digest = impl;
  digestText = ofText;
}

export const sha256Hex = (bytes: Uint8Array): string => toHex(digest(bytes));

/**
 * Hashes of recently hashed texts. The same canonical text is hashed more than once on the way to the
 * log (the reducer hashes each body it chains, sealEntry hashes it again, and the payload hash is
 * checked once more), and SHA-256 in JavaScript costs far more than looking a string up in a Map.
 * A cache of a pure function, in two generations (the older is dropped whole when the newer fills up,
 * which costs nothing per entry, unlike evicting one by one from a Map); texts over 64 Ki characters are
 * not kept, so it holds at most 2 × 512 texts and 2 × 2 Mi characters.
 */
const GENERATION_TEXTS = 512;
const GENERATION_CHARS = 2 * 1024 * 1024;
const LARGEST_KEPT = 64 * 1024;
let young = new Map<string, string>();
let old = new Map<string, string>();
let youngChars = 0;

/**
 * SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex digits. `bytes`: those bytes, when the caller has them
 * already.
 */
export function sha256HexOfText(text: string, bytes?: Uint8Array): string {
  const hit = young.get(text) ?? old.get(text);
  if (hit !== undefined) return hit;
  const hash = bytes ? sha256Hex(bytes) : digestText ? digestText(text) : sha256Hex(utf8(text));
  if (text.length <= LARGEST_KEPT) {
    if (young.size >= GENERATION_TEXTS || youngChars + text.length > GENERATION_CHARS) {
      old = young;
      young = new Map();
      youngChars = 0;
    }
    young.set(text, hash);
    youngChars += text.length;
  }
  return hash;
}

/**
 * SHA-256 of a text not hashed before and not to be hashed again here (an entry that arrived from elsewhere): with
 * a native text hash, looking it up in the cache would cost about what hashing it does, and keeping it would cost
 * memory, so it bypasses the cache. The gateway's own texts, hashed several times on their way to the log, go
 * through sha256HexOfText.
 */
export const sha256HexOfNewText = (text: string): string => (digestText ? digestText(text) : sha256HexOfText(text));

/** SHA-256 of the value's RFC 8785 canonical JSON, as 64 lowercase hex digits. */
export const hashJson = (value: Json): string => sha256HexOfText(canonicalJson(value));

export const HASH_PATTERN = /^[0-9a-f]{64}$/;
