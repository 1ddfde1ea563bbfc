// Work the gateway object has in flight (store, ledger, signing, sends), so that its alarm handler can stay open
// until what the alarm set off has settled. The runtime may evict an object soon after its last event ends; work
// cut short that way is recovered at the next boot, but waiting for it costs less than a recovery.

export class Activity {
  #inFlight = 0;
  readonly #idle = new Set<() => void>();

  /** How many tracked calls are in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Counts `promise` as in flight until it settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight++;
    return promise.finally(() => {
      if (--this.#inFlight === 0) for (const wake of [...this.#idle]) wake();
    });
  }

  /** `target` with every method call that returns a promise tracked; everything else passes through. */
  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (t, prop) => {
        const v = Reflect.get(t, prop, t);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const r = v.apply(t, args);
          return r instanceof Promise ? this.track(r) : r;
        };
      },
    });
  }

  /**
   * Resolves true once nothing tracked is in flight and nothing new started within one macrotask after (a chain of
   * tracked calls goes from one to the next within microtasks), or false after `maxMs`.
   */
  quiet(maxMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (value: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(bound);
        this.#idle.delete(check);
        resolve(value);
      };
      const check = () => {
        if (this.#inFlight > 0) return;
        setTimeout(() => {
          if (this.#inFlight === 0) done(true);
        }, 0);
      };
      const bound = setTimeout(() => done(false), maxMs);
      this.#idle.add(check);
      check();
    });
  }
}
