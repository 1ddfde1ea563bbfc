// backoffDelay: capped exponential backoff with full jitter, pure and seeded, for the driver's reconnect loop.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../transports/backoff.ts';
import { mulberry32 } from '../support/prng.ts';

const opts = { base: 100, cap: 5_000 };

describe('backoffDelay', () => {
  it('stays below min(cap, base·2^attempt), reaching it as random() approaches 1', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(opts.cap, opts.base * 2 ** attempt);
      expect(backoffDelay(attempt, opts, () => 0)).toBe(0);
      expect(backoffDelay(attempt, opts, () => 0.999999)).toBe(Math.floor(0.999999 * ceiling));
    }
  });

  it('never exceeds the cap, even for a huge attempt count', () => {
    expect(backoffDelay(1_000_000, opts, () => 0.999999)).toBeLessThan(opts.cap);
    expect(Number.isFinite(backoffDelay(5_000, opts, () => 0.5))).toBe(true);
  });

  it('is a pure function of its inputs: the same seed gives the same schedule', () => {
    const schedule = (seed: number) => {
      const r = mulberry32(seed);
      return Array.from({ length: 10 }, (_, i) => backoffDelay(i, opts, r));
    };
    expect(schedule(3)).toEqual(schedule(3));
    expect(schedule(3)).not.toEqual(schedule(4));
  });

  it('throws RangeError for caller bugs: bad attempt, base, cap or random()', () => {
    expect(() => backoffDelay(-1, opts, () => 0)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, opts, () => 0)).toThrow(RangeError);
    expect(() => backoffDelay(0, { base: 0, cap: 1 }, () => 0)).toThrow(RangeError);
    expect(() => backoffDelay(0, { base: 10, cap: 5 }, () => 0)).toThrow(RangeError);
    expect(() => backoffDelay(0, opts, () => 1)).toThrow(RangeError);
  });
});
