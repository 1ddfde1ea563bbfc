import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../support/prng.ts';
import { chooseVictim } from '../support/storm-victims.ts';

type Role = 'origin' | 'destination';
const ROLES = ['origin', 'destination'] as const;

function storm(kills: number, coin: (k: number) => Role): Record<Role, number> {
  const tally: Record<Role, number> = { origin: 0, destination: 0 };
  for (let k = 0; k < kills; k++) tally[chooseVictim(coin(k), ROLES, tally, k, kills)]++;
  return tally;
}

describe('chooseVictim: who a SIGKILL storm kills next', () => {
  it('a storm whose coin always says destination still kills the origin (the Deno EVM storm that spared it)', () => {
    for (const kills of [2, 3, 6, 15]) {
      const tally = storm(kills, () => 'destination');
      expect(tally.origin, `${kills} kills`).toBeGreaterThanOrEqual(1);
      expect(tally.origin + tally.destination).toBe(kills);
    }
    expect(storm(6, () => 'origin').destination).toBe(1);
  });

  it('otherwise follows the coin: a seeded storm of 100 kills is the coin flips themselves', () => {
    const random = mulberry32(7);
    const flips = Array.from({ length: 100 }, (): Role => (random() < 0.5 ? 'origin' : 'destination'));
    const tally = storm(100, (k) => flips[k] as Role);
    expect(tally.origin).toBe(flips.filter((r) => r === 'origin').length);
  });

  it('every seed of a six-kill storm kills both gateways', () => {
    for (let seed = 0; seed < 200; seed++) {
      const random = mulberry32(seed);
      const tally = storm(6, () => (random() < 0.5 ? 'origin' : 'destination'));
      expect(Math.min(tally.origin, tally.destination), `seed ${seed}`).toBeGreaterThanOrEqual(1);
    }
  });
});
