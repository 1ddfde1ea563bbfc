// The step machinery both schedulers share: what can happen next, running it, letting its promises settle.
import { NODES } from './names.ts';
import type { World } from './world.ts';

/** One thing that can happen next; the random scheduler weighs them, the sweep takes them in order. */
export interface Action {
  weight: number;
  run: () => void | Promise<void>;
}

// setImmediate runs after every queued microtask (all in-memory I/O here resolves by microtasks),
// and unlike setTimeout(0) it is not clamped to 1 ms. Node and Deno both have it.
export const macrotask = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs one action, then lets every promise it set off settle before the next decision. */
export async function runStep(world: World, action: Action): Promise<void> {
  world.timeline.step++;
  await action.run();
  await macrotask();
}

export function pickWeighted(rng: () => number, actions: Action[]): Action | undefined {
  const total = actions.reduce((s, a) => s + a.weight, 0);
  if (total <= 0) return undefined;
  let x = rng() * total;
  for (const a of actions) {
    x -= a.weight;
    if (x < 0) return a;
  }
  return actions.at(-1);
}

/** The next moment something is due: a timer (gateway or world) or a message on the wire. */
export function nextEventAt(world: World): number | undefined {
  const t = world.clock.earliest()?.at;
  const m = world.wire.nextAt();
  if (t === undefined) return m;
  if (m === undefined) return t;
  return Math.min(t, m);
}

/** Moves the clock forward to the next due event; false when nothing is scheduled at all. */
export function advanceTime(world: World): boolean {
  const at = nextEventAt(world);
  if (at === undefined) return false;
  world.clock.now = Math.max(world.clock.now, at);
  return true;
}

/** Fires the earliest timer that is due (gateway timers and world events alike). */
export function fireDueTimer(world: World): boolean {
  const t = world.clock.due()[0];
  if (!t) return false;
  world.clock.fire(t.id);
  return true;
}

/** Nothing left to do: no I/O, no messages, every gateway up, every chain ended, every transfer tried. */
export function isQuiet(world: World): boolean {
  if (world.work.length || world.wire.size) return false;
  if (NODES.some((n) => !world.isUp(n))) return false;
  if (world.transfers.some((t) => !t.attempted)) return false;
  return NODES.every((n) => world.openSessions(n).length === 0);
}
