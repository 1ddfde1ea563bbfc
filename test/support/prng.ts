// A small seeded PRNG (mulberry32) for tests whose random choices must be replayable from a printed seed: the
// one the storage conformance suite ships, so the library and its tests draw the same sequences.
export { prng as mulberry32 } from '../../storage/conformance/prng.ts';
