// A schedule's shape, drawn from its seed: which transfers, how hostile the network, how often gateways crash.
import { mulberry32 } from '../support/prng.ts';
import { CLOCK_NODES, type ClockModel, type ClockName, EXACT, SIM_EPOCH } from './clock.ts';
import { type FaultClass, type FaultSet, faultsFromEnv } from './fault-classes.ts';
import { Hazards } from './hazards.ts';
import { FORGERIES, type Forgery } from './liar.ts';
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
  /** The clock, storage and ledger faults of this seed (switchable classes). */
  swarm: Swarm;
  /** The misbehaving peer of this seed: which forgeries it sends, and its own random stream. */
  liar: LiarPlan;
}

type PeerClass = Extract<FaultClass, `peer-${string}`>;

export interface LiarPlan {
  rng: () => number;
  classes: PeerClass[];
  weights: Record<Forgery, number>;
}

/**
 * The misbehaving peer of one seed, from a stream of its own (so it changes nothing else of the schedule): each
 * kind of forgery is on with some chance, and weighs about as much as a dropped message when it is.
 */
export function liarFor(seed: number, selected: FaultSet): LiarPlan {
  const rng = mulberry32((Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0);
  const classes: PeerClass[] = [];
  const weights = {} as Record<Forgery, number>;
  for (const kind of FORGERIES) {
    const c = `peer-${kind}` as PeerClass;
    const on = rng() < 0.2 && selected.has(c);
    const w = 0.1 + rng() * 0.6;
    weights[kind] = on ? w : 0;
    if (on) classes.push(c);
  }
  return { rng, classes, weights };
}

/**
 * The switchable fault classes of one seed, drawn from a stream of their own (`rng`, also used for their
 * decisions during the run), so switching classes off leaves the rest of the schedule as it was: with none
 * on, a seed runs exactly as it did before these classes existed.
 */
export interface Swarm {
  rng: () => number;
  /** Classes this seed turned on (each with some chance, among those selected). */
  classes: FaultClass[];
  clocks: Record<ClockName, ClockModel>;
  /** Action weights (0: off): a node's clock jump, append failures, outages, slow syncs, ledger faults. */
  weights: {
    clockJump: number;
    failLanded: number;
    failLost: number;
    storeOutage: number;
    slowSync: number;
    ledgerTimeout: number;
    ledgerRead: number;
    ledgerOutage: number;
  };
  /** Chance that one store read fails. */
  readFailRate: number;
}

/** Chance that a seed turns a class on (if selected); the misbehaving peer's classes are drawn in liarFor. */
const SWARM_ODDS: Record<Exclude<FaultClass, PeerClass>, number> = {
  'clock-offset': 0.4,
  'clock-drift': 0.35,
  'clock-jump': 0.3,
  'storage-fail-landed': 0.25,
  'storage-fail-lost': 0.25,
  'storage-read': 0.2,
  'storage-outage': 0.2,
  'storage-slow': 0.25,
  'ledger-timeout': 0.3,
  'ledger-read': 0.3,
  'ledger-outage': 0.25,
};

/** Draws a seed's switchable faults. Every draw is made whatever is selected, so each class's draws stay put. */
export function swarmFor(seed: number, selected: FaultSet): Swarm {
  const rng = mulberry32((Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995) >>> 0);
  const on = {} as Record<FaultClass, boolean>;
  for (const c of Object.keys(SWARM_ODDS) as Exclude<FaultClass, PeerClass>[])
    on[c] = rng() < SWARM_ODDS[c] && selected.has(c);
  const clocks = {} as Record<ClockName, ClockModel>;
  for (const n of CLOCK_NODES) {
    // Offsets: half within a few seconds (around the destination's grace), half up to ±30 s.
    const skewed = rng() < 0.8;
    const small = rng() < 0.5;
    const offset = Math.round((rng() * 2 - 1) * (small ? 2_500 : 30_000));
    const drifting = rng() < 0.8;
    const drift = Math.round((rng() * 2 - 1) * 1_000);
    clocks[n] = {
      offsetMs: on['clock-offset'] && skewed ? offset : 0,
      driftPpm: on['clock-drift'] && drifting ? drift : 0,
    };
  }
  const weight = (c: FaultClass, lo: number, hi: number): number => {
    const w = lo + rng() * (hi - lo);
    return on[c] ? w : 0;
  };
  const weights = {
    clockJump: weight('clock-jump', 0.05, 0.3),
    failLanded: weight('storage-fail-landed', 0.1, 0.6),
    failLost: weight('storage-fail-lost', 0.1, 0.6),
    storeOutage: weight('storage-outage', 0.02, 0.1),
    slowSync: weight('storage-slow', 0.2, 1),
    ledgerTimeout: weight('ledger-timeout', 0.2, 1),
    // Reads are rare (a settling step, a deadline): weighed up so that a failed one is no rarity.
    ledgerRead: weight('ledger-read', 1, 6),
    ledgerOutage: weight('ledger-outage', 0.02, 0.1),
  };
  const readFailRate = weight('storage-read', 0.01, 0.08);
  const classes = (Object.keys(on) as FaultClass[]).filter((c) => on[c]);
  return { rng, classes, clocks, weights, readFailRate };
}

/** Clocks as the world takes them: only the nodes whose clock is not exact. */
const skewedClocks = (s: Swarm): Partial<Record<ClockName, ClockModel>> => {
  const exact = (m: ClockModel) => m.offsetMs === EXACT.offsetMs && m.driftPpm === EXACT.driftPpm;
  const skewed = CLOCK_NODES.filter((n) => !exact(s.clocks[n]));
  return Object.fromEntries(skewed.map((n) => [n, s.clocks[n]]));
};

const pickOf = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const between = (rng: () => number, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

export function planFor(seed: number, faults: FaultSet = faultsFromEnv()): Plan {
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
    swarm: swarmFor(seed, faults),
    liar: liarFor(seed, faults),
  };
}

export function worldOptions(plan: Plan): WorldOptions {
  const [lo, hi] = plan.latency;
  const hazards = new Hazards(plan.swarm.rng);
  hazards.readFailRate = plan.swarm.readFailRate;
  return {
    latency: () => lo + Math.floor(plan.rng() * (hi - lo + 1)),
    assets: plan.transfers.map((t) => ({ node: t.origin, assetId: t.assetId, owner: t.owner })),
    ...(plan.minLockSecondsB ? { nodeConfig: { B: { minLockSeconds: plan.minLockSecondsB } } } : {}),
    clocks: skewedClocks(plan.swarm),
    hazards,
    // Every other seed forgets each session the moment it ends, so duplicates and late events about ended sessions
    // are answered from the log (read, verified, replayed) under the same faults; the others keep them in memory.
    ...(plan.seed % 2 === 0 ? { keepEnded: 0 } : {}),
  };
}

/** How long a crashed gateway stays down: mostly short, sometimes past the lock expiry. */
export function restartDelay(plan: Plan): number {
  const r = plan.rng();
  if (r < 0.4) return between(plan.rng, 20, 1_000);
  if (r < 0.8) return between(plan.rng, 1_000, 8_000);
  return between(plan.rng, 10_000, 70_000);
}
