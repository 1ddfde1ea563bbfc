// Simulated time: one world time, a local clock per node (offset, drift, jumps); timers fire when their node's clock
// reaches them, and only when the scheduler says so.
import type { Clock } from '../../kernel/driver.ts';

export const SIM_EPOCH = 1_700_000_000_000;

/** The nodes that read a clock: both gateways and both ledgers. */
export const CLOCK_NODES = ['A', 'B', 'ledger-a', 'ledger-b'] as const;
export type ClockName = (typeof CLOCK_NODES)[number];

/** How a node's clock differs from world time: a fixed offset and a rate error (parts per million). */
export interface ClockModel {
  offsetMs: number;
  driftPpm: number;
}

export const EXACT: ClockModel = Object.freeze({ offsetMs: 0, driftPpm: 0 });

/**
 * A node's local clock as a function of world time: linear from an anchor, re-anchored at each jump.
 * local(w) = anchorLocal + d + floor(d × drift / 10^6) with d = w − anchorWorld: whole milliseconds, integer
 * arithmetic only (the same on every runtime), and never decreasing between jumps (|drift| < 10^6).
 */
export class NodeClock {
  #anchorWorld: number;
  #anchorLocal: number;
  /** The sum of this clock's jumps so far (ms, signed). */
  jumped = 0;

  constructor(
    readonly name: ClockName,
    readonly model: ClockModel,
    world: number,
  ) {
    this.#anchorWorld = world;
    this.#anchorLocal = world + model.offsetMs;
  }

  /** The local time at world time `w`. */
  at(w: number): number {
    const d = w - this.#anchorWorld;
    return this.#anchorLocal + d + Math.floor((d * this.model.driftPpm) / 1e6);
  }

  /** The first world time at which this clock reads `local` or later (before the anchor for times already passed). */
  worldAt(local: number): number {
    if (this.model.driftPpm === 0) return this.#anchorWorld + (local - this.#anchorLocal);
    let w = this.#anchorWorld + Math.ceil(((local - this.#anchorLocal) * 1e6) / (1e6 + this.model.driftPpm));
    while (this.at(w) < local) w++;
    while (this.at(w - 1) >= local) w--;
    return w;
  }

  /** The clock jumps by `deltaMs` (either way) at world time `w`; only this node's clock moves. */
  jump(w: number, deltaMs: number): void {
    this.#anchorLocal = this.at(w) + deltaMs;
    this.#anchorWorld = w;
    this.jumped += deltaMs;
  }

  /** local − world at world time `w`: the offset plus what drift and jumps added so far. */
  skew(w: number): number {
    return this.at(w) - w;
  }
}

interface Timer {
  id: number;
  /** In the local time of `clock`, or world time for the world's own events. */
  at: number;
  clock: NodeClock | undefined;
  owner: string;
  fire: () => void;
}

/** World time and the nodes' clocks. Timers are tagged with their owner so a crash can discard exactly its own. */
export class SimClock {
  now = SIM_EPOCH;
  #next = 0;
  readonly #timers = new Map<number, Timer>();
  readonly nodes: Record<ClockName, NodeClock>;

  constructor(models: Partial<Record<ClockName, ClockModel>> = {}) {
    const make = (n: ClockName) => new NodeClock(n, models[n] ?? EXACT, SIM_EPOCH);
    this.nodes = { A: make('A'), B: make('B'), 'ledger-a': make('ledger-a'), 'ledger-b': make('ledger-b') };
  }

  /** What node `n`'s clock reads now. */
  local(n: ClockName): number {
    return this.nodes[n].at(this.now);
  }

  /** The Clock a gateway incarnation is handed: its node's local time, timers set in local time. */
  view(owner: string, n: ClockName): Clock {
    const clock = this.nodes[n];
    return {
      now: () => clock.at(this.now),
      setTimer: (at, fire) => this.#add(owner, at, clock, fire),
      clearTimer: (handle) => this.clear(handle as number),
    };
  }

  /** A world event (a transfer's start, a restart, the end of an outage) at world time `at`. */
  set(owner: string, at: number, fire: () => void): number {
    return this.#add(owner, at, undefined, fire);
  }

  #add(owner: string, at: number, clock: NodeClock | undefined, fire: () => void): number {
    const id = ++this.#next;
    this.#timers.set(id, { id, at, clock, owner, fire });
    return id;
  }

  /** Node `n`'s clock jumps by `deltaMs` now. */
  jump(n: ClockName, deltaMs: number): void {
    this.nodes[n].jump(this.now, deltaMs);
  }

  /** Forgets one timer (cleared before it fired). */
  clear(id: number): void {
    this.#timers.delete(id);
  }

  /** Forgets every timer of `owner` (a crashed process's timers die with it). */
  dropOwner(owner: string): void {
    for (const [id, t] of this.#timers) if (t.owner === owner) this.#timers.delete(id);
  }

  /** The world time at which a timer is (or became) due: where its node's clock reaches `at`. */
  dueAt(t: Timer): number {
    return t.clock ? t.clock.worldAt(t.at) : t.at;
  }

  #isDue(t: Timer): boolean {
    return (t.clock ? t.clock.at(this.now) : this.now) >= t.at;
  }

  /** The earliest timer in world time, ties broken by creation order (deterministic). */
  earliest(): { id: number; at: number } | undefined {
    let best: { id: number; at: number } | undefined;
    for (const t of this.#timers.values()) {
      const at = this.dueAt(t);
      if (!best || at < best.at || (at === best.at && t.id < best.id)) best = { id: t.id, at };
    }
    return best;
  }

  /** Timers due now, in firing order (when each became due in world time, then creation order). */
  due(): { id: number; at: number }[] {
    const out: { id: number; at: number }[] = [];
    for (const t of this.#timers.values()) if (this.#isDue(t)) out.push({ id: t.id, at: this.dueAt(t) });
    return out.sort((a, b) => a.at - b.at || a.id - b.id);
  }

  /** Removes and runs one timer; world time never goes backwards. */
  fire(id: number): void {
    const t = this.#timers.get(id);
    if (!t) return;
    this.#timers.delete(id);
    this.now = Math.max(this.now, this.dueAt(t));
    t.fire();
  }

  pendingOf(owner: string): number {
    let n = 0;
    for (const t of this.#timers.values()) if (t.owner === owner) n++;
    return n;
  }

  get size(): number {
    return this.#timers.size;
  }
}
