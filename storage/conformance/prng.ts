// A seeded PRNG for the conformance suites (and the repository's tests), apart from the suites so it imports
// nothing: a simulator or a benchmark can draw from it without loading a test runner.

/** mulberry32: a seeded PRNG, so "random" flips are the same on every run and runtime. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
