// Capped exponential backoff with full jitter: a pure helper for the DRIVER's reconnect loop (transports never retry).

export interface BackoffOptions {
  /** Delay scale of the first retry, in milliseconds. */
  base: number;
  /** Largest delay, in milliseconds. */
  cap: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): uniform in [0, min(cap, base·2^attempt)).
 * Full jitter spreads reconnecting gateways apart after a shared outage; `random` is injected (a seeded
 * PRNG in the simulator, Math.random in a live driver) so the kernel's replay stays deterministic.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError('attempt must be a non-negative integer');
  const { base, cap } = options;
  if (!(Number.isFinite(base) && base > 0) || !(Number.isFinite(cap) && cap >= base)) {
    throw new RangeError('backoff needs 0 < base <= cap, both finite');
  }
  // 2^attempt overflows to Infinity past ~1023; min() keeps the result finite.
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 1023));
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError('random() must return a number in [0, 1)');
  return Math.floor(r * ceiling);
}
