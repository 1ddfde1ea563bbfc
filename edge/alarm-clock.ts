// The driver's clock in a Durable Object (kernel/ports.ts Clock): timers kept in memory and multiplexed onto the
// object's one alarm. setTimer makes sure the stored alarm is no later than the earliest timer; alarm() fires what is
// due and sets the alarm for the next one. An evicted object loses its timers but not its alarm: the alarm wakes it,
// the object is rebuilt from storage, and the boot-time recovery arms again every timer its sessions need.
import type { Clock } from '../kernel/ports.ts';

/** The slice of a Durable Object's `state.storage` the clock uses. */
export interface AlarmStorage {
  /** Stores the object's one alarm, replacing any other: the runtime runs alarm() at `scheduledTime` or soon after. */
  setAlarm(scheduledTime: number): Promise<void>;
}

interface Timer {
  at: number;
  fire: () => void;
}

export class AlarmClock implements Clock {
  readonly #storage: AlarmStorage;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #timers = new Set<Timer>();
  /**
   * The alarm this instance has set and not yet seen run. Undefined in a new instance, even if the storage holds an
   * alarm: an alarm set before a restart may be stale (workerd 1.20250718 keeps its alarm schedule in memory, so
   * after a process restart a stored alarm never runs), so the first timer always sets the alarm afresh.
   */
  #armed: number | undefined;
  /** The alarm being written, so that writes are made one at a time and the last one stands. */
  #writing: Promise<void> = Promise.resolve();

  constructor(storage: AlarmStorage, options: { now?: () => number; onError?: (error: unknown) => void } = {}) {
    this.#storage = storage;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? ((error) => console.error('setAlarm failed', error));
  }

  now = (): number => this.#now();

  setTimer = (at: number, fire: () => void): unknown => {
    const timer: Timer = { at, fire };
    this.#timers.add(timer);
    this.#schedule();
    return timer;
  };

  // A cleared timer leaves the alarm where it is: an alarm that finds nothing due costs one wake-up and fires nothing.
  clearTimer = (handle: unknown): void => void this.#timers.delete(handle as Timer);

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the earliest timer is due, if any. */
  get earliest(): number | undefined {
    let at: number | undefined;
    for (const t of this.#timers) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /**
   * The object's alarm() ran: fires every timer due by now, earliest first, then sets the alarm for the next one.
   * Resolves with how many fired once the next alarm is stored (a new alarm must be stored before the handler ends).
   */
  async alarm(): Promise<number> {
    this.#armed = undefined;
    const now = this.#now();
    const due = [...this.#timers].filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    let fired = 0;
    for (const t of due) {
      // Cleared by an earlier one meanwhile: skip it.
      if (!this.#timers.delete(t)) continue;
      fired++;
      try {
        t.fire();
      } catch (err) {
        this.#onError(err);
      }
    }
    this.#schedule();
    await this.#writing;
    return fired;
  }

  /** Resolves once the alarm set by the latest setTimer is stored. */
  settled(): Promise<void> {
    return this.#writing;
  }

  #schedule(): void {
    const at = this.earliest;
    if (at === undefined || (this.#armed !== undefined && this.#armed <= at)) return;
    this.#armed = at;
    this.#writing = this.#writing.then(async () => {
      // An earlier timer may have been set while this write waited: the latest earliest is what gets stored.
      if (this.#armed !== at) return;
      try {
        await this.#storage.setAlarm(at);
      } catch (err) {
        // Not stored: let the next timer try again.
        if (this.#armed === at) this.#armed = undefined;
        this.#onError(err);
      }
    });
  }
}
