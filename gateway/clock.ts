// The production clock the driver runs on (kernel/ports.ts Clock): the wall clock and setTimeout. The kernel
// takes time as a port so the simulator can run it (test/sim/); a deployed gateway hands it this one.
import type { Clock } from '../kernel/driver.ts';

/** setTimeout holds at most 2^31−1 ms; a later deadline is reached in hops. */
const MAX_TIMEOUT = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(at, fire) {
    const handle: { t?: ReturnType<typeof setTimeout> } = {};
    const arm = () => {
      const wait = at - Date.now();
      handle.t = setTimeout(wait > MAX_TIMEOUT ? arm : fire, Math.max(0, Math.min(wait, MAX_TIMEOUT)));
    };
    arm();
    return handle;
  },
  clearTimer: (handle) => clearTimeout((handle as { t?: ReturnType<typeof setTimeout> }).t),
};
