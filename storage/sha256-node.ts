// Node's (and Deno's) native SHA-256 for the kernel: `useNativeSha256()` once at startup makes every entry,
// payload and message hash about 6× cheaper than noble's JavaScript SHA-256. Browsers and workerd keep
// noble (WebCrypto's digest is asynchronous, and the reducers hash synchronously). It sits beside the
// storage drivers because, like the LevelDB driver, it is for server runtimes only; the kernel stays free
// of runtime APIs and only offers `useSha256` (docs/decisions.md).
import { createHash, hash } from 'node:crypto';
import { type Sha256, type Sha256OfText, useSha256 } from '../kernel/hash.ts';

/**
 * node:crypto's one-shot `hash` (Node 20.12 on, Deno), which builds no Hash object: for an entry's text it takes about
 * two thirds of the time createHash, update and digest take (BENCHMARKS.md).
 */
export const nativeSha256: Sha256 = (bytes) => hash('sha256', bytes, 'buffer');
/**
 * Text hashed as UTF-8 inside node:crypto: about 3× cheaper for an entry than TextEncoder then the hash. A long text (a
 * recovery page, half a megabyte) is fed in slices: node:crypto encodes each update into a buffer of its own, and a
 * buffer that large is fresh memory each time, whose page faults cost more than the hash (BENCHMARKS.md).
 */
export const nativeSha256OfText: Sha256OfText = (text) => {
  if (text.length <= SLICE) return hash('sha256', text, 'hex');
  const h = createHash('sha256');
  let at = 0;
  while (text.length - at > SLICE) {
    // A slice never ends between the two halves of a surrogate pair, which alone would be encoded as U+FFFD.
    const end = isHighSurrogate(text.charCodeAt(at + SLICE - 1)) ? at + SLICE - 1 : at + SLICE;
    h.update(text.slice(at, end), 'utf8');
    at = end;
  }
  return h.update(text.slice(at), 'utf8').digest('hex');
};
const SLICE = 16 * 1024;
const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

/** Makes the kernel hash with node:crypto; checked against a known answer first (useSha256). */
export function useNativeSha256(): void {
  useSha256(nativeSha256, nativeSha256OfText);
}
