// Simulated time: timers fire only when the scheduler says so; each gateway incarnation gets its own view.
import type { Clock } from '../../kernel/driver.ts';

export const SIM_EPOCH = 1_700_000_000_000;

interface Timer {
  id: number;
  at: number;
  owner: string;
  fire: () => void;
}

/** One clock for the world. Timers are tagged with their owner so a crash can discard exactly its own. */
export class SimClock {
  now = SIM_EPOCH;
  #next = 0;
  readonly #timers = new Map<number, Timer>();

  /** The Clock a gateway incarnation (or the world, owner "world") is handed. */
  view(owner: string): Clock {
    return {
      now: () => this.now,
      setTimer: (at, fire) => this.set(owner, at, fire),
      clearTimer: (handle) => void this.#timers.delete(handle as number),
    };
  }

  set(owner: string, at: number, fire: () => void): number {
    const id = ++this.#next;
    this.#timers.set(id, { id, at, owner, fire });
    return id;
  }

  /** Forgets every timer of `owner` (a crashed process's timers die with it). */
  dropOwner(owner: string): void {
    for (const [id, t] of this.#timers) if (t.owner === owner) this.#timers.delete(id);
  }

  /** The earliest timer, ties broken by creation order (deterministic). */
  earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }

  /** Timers due now, in firing order. */
  due(): Timer[] {
    return [...this.#timers.values()].filter((t) => t.at <= this.now).sort((a, b) => a.at - b.at || a.id - b.id);
  }

  /** Removes and runs one timer; time never goes backwards. */
  fire(id: number): void {
    const t = this.#timers.get(id);
    if (!t) return;
    this.#timers.delete(id);
    this.now = Math.max(this.now, t.at);
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
