// The gateway process's shutdown, bounded: every acknowledged append is durable before it is acknowledged, so a close
// that never finishes (a runtime waiting on a socket, a driver on a stuck call) must not keep the process alive. The
// closes run under names; past `slowMs` the ones still running are named, past `boundMs` the shutdown gives up on them.

export interface ShutdownOutcome {
  /** True when every close settled within the bound. */
  inTime: boolean;
  /** The closes still running when the bound passed (empty when inTime). */
  unclosed: string[];
}

export class Closer {
  readonly #running = new Map<string, Promise<void>>();

  /** Runs `close` under `label` until it settles. Never rejects: a close that fails has still ended. */
  run(label: string, close: () => Promise<unknown>): Promise<void> {
    const done = close()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.#running.delete(label));
    this.#running.set(label, done);
    return done;
  }

  /** Makes `o.close` run under `label`, so a slow shutdown names it. */
  watch<T extends { close(): Promise<void> }>(label: string, o: T): T {
    const close = o.close.bind(o);
    o.close = () => this.run(label, close);
    return o;
  }

  /** The closes running now, oldest first. */
  get running(): string[] {
    return [...this.#running.keys()];
  }

  /** Runs `work` (the closes, in order); names the running closes past `slowMs`, gives up past `boundMs`. */
  async within(
    work: () => Promise<void>,
    o: { slowMs: number; boundMs: number; onSlow: (running: string[]) => void },
  ): Promise<ShutdownOutcome> {
    let slow: ReturnType<typeof setTimeout> | undefined;
    let bound: ReturnType<typeof setTimeout> | undefined;
    try {
      slow = setTimeout(() => o.onSlow(this.running), o.slowMs);
      const inTime = await Promise.race([
        work().then(() => true),
        new Promise<false>((resolve) => (bound = setTimeout(resolve, o.boundMs, false))),
      ]);
      return { inTime, unclosed: inTime ? [] : this.running };
    } finally {
      clearTimeout(slow);
      clearTimeout(bound);
    }
  }
}
