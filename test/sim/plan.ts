// A schedule's shape, drawn from its seed: which transfers, how hostile the network, how often gateways crash.
import { mulberry32 } from '../support/prng.ts';
import { SIM_EPOCH } from './clock.ts';
import type { NodeName } from './names.ts';
import type { WorldOptions } from './world.ts';

export interface PlannedTransfer {
  sessionId: string;
  origin: NodeName;
  assetId: string;
  owner: string;
  originator: string;
  beneficiary: string;
  lockSeconds: number;
  startAt: number;
}

export interface Plan {
  seed: number;
  rng: () => number;
  transfers: PlannedTransfer[];
  /** Steps during which faults may be injected; after them the world runs fault-free until quiet. */
  faultSteps: number;
  maxCrashes: number;
  /** Chance that a recovery gets a crash of either side armed while it runs. */
  recoveryCrash: number;
  /** Chance that, while one side is down, a seeded crash takes the other down too. */
  bothDown: number;
  weights: { drop: number; duplicate: number; delay: number; ledgerError: number; abort: number; jump: number };
  latency: [number, number];
  /** Rejection path: the destination gateway of node B refuses locks shorter than this. */
  minLockSecondsB?: number;
}

const pickOf = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const between = (rng: () => number, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

export function planFor(seed: number): Plan {
  const rng = mulberry32(seed);
  const count = pickOf(rng, [1, 1, 1, 1, 2, 2, 3]);
  const transfers: PlannedTransfer[] = [];
  for (let i = 0; i < count; i++) {
    // Mostly A→B; sometimes B→A, so each gateway also plays the other role in the same run.
    const origin: NodeName = rng() < 0.8 ? 'A' : 'B';
    const owner = origin === 'A' ? 'alice' : 'carol';
    transfers.push({
      sessionId: `s${seed}-${i}`,
      origin,
      assetId: `asset-${origin.toLowerCase()}${i}`,
      owner,
      // One in twenty tries to move an asset its originator does not own: the lock is refused (2.1).
      originator: rng() < 0.05 ? 'mallory' : owner,
      beneficiary: origin === 'A' ? 'bob' : 'dave',
      lockSeconds: pickOf(rng, [5, 6, 8, 12, 20, 45]),
      startAt: SIM_EPOCH + between(rng, 0, 3_000),
    });
  }
  const hostile = rng();
  return {
    seed,
    rng,
    transfers,
    faultSteps: between(rng, 20, 300),
    maxCrashes: pickOf(rng, [0, 1, 2, 2, 3, 4, 6]),
    recoveryCrash: rng() * 0.7,
    bothDown: rng() * 0.5,
    weights: {
      drop: hostile * 1.5,
      duplicate: rng() * 1.0,
      delay: rng() * 0.8,
      ledgerError: rng() < 0.3 ? rng() * 0.8 : 0,
      abort: rng() < 0.15 ? 0.05 : 0,
      jump: rng() < 0.35 ? 0.15 : 0,
    },
    latency: [between(rng, 0, 20), between(rng, 20, 400)],
    ...(rng() < 0.05 ? { minLockSecondsB: 15 } : {}),
  };
}

export function worldOptions(plan: Plan): WorldOptions {
  const [lo, hi] = plan.latency;
  return {
    latency: () => lo + Math.floor(plan.rng() * (hi - lo + 1)),
    assets: plan.transfers.map((t) => ({ node: t.origin, assetId: t.assetId, owner: t.owner })),
    ...(plan.minLockSecondsB ? { nodeConfig: { B: { minLockSeconds: plan.minLockSecondsB } } } : {}),
  };
}

/** How long a crashed gateway stays down: mostly short, sometimes past the lock expiry. */
export function restartDelay(plan: Plan): number {
  const r = plan.rng();
  if (r < 0.4) return between(plan.rng, 20, 1_000);
  if (r < 0.8) return between(plan.rng, 1_000, 8_000);
  return between(plan.rng, 10_000, 70_000);
}
