// Node's (and Deno's) native SHA-256 for the kernel: `useNativeSha256()` once at startup makes every entry,
// payload and message hash about 6× cheaper than noble's JavaScript SHA-256. Browsers and workerd keep
// noble (WebCrypto's digest is asynchronous, and the reducers hash synchronously). It sits beside the
// storage drivers because, like the LevelDB driver, it is for server runtimes only; the kernel stays free
// of runtime APIs and only offers `useSha256` (docs/decisions.md).
import { createHash } from 'node:crypto';
import { type Sha256, type Sha256OfText, useSha256 } from '../kernel/hash.ts';

export const nativeSha256: Sha256 = (bytes) => createHash('sha256').update(bytes).digest();
/** Text hashed as UTF-8 inside node:crypto: about 3× cheaper for an entry than TextEncoder then the hash. */
export const nativeSha256OfText: Sha256OfText = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Makes the kernel hash with node:crypto; checked against a known answer first (useSha256). */
export function useNativeSha256(): void {
  useSha256(nativeSha256, nativeSha256OfText);
}
