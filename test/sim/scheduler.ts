// The step machinery both schedulers share: what can happen next, running it, letting its promises settle.
import type { Violation } from './invariants.ts';
import type { Work } from './io.ts';
import { NODES } from './names.ts';
import type { World } from './world.ts';

/**
 * Once faults stop, the world is stuck when no entry has landed on any disk, while it is not quiet, for more
 * than MAX_IDLE_STEPS steps and more than MAX_IDLE_MS of world time: messages and timers turn over and
 * nothing is made durable. A legitimate run waits at most for a restart (70 s), a lock expiry and its grace
 * (47 s) and a clock set back (offset and jumps, 127 s), about 4 minutes; the step count keeps a fast-turning
 * stuck run from being judged too early and bounds what one costs. test/sim/README.md has the measurements.
 */
export const MAX_IDLE_STEPS = 1_500;
export const MAX_IDLE_MS = 5 * 60_000;

export interface Idleness {
  steps: number;
  ms: number;
}

/** How long since an entry last landed, counted from no earlier than the end of the faults (`step`, `at`). */
export function idleness(world: World, step: number, at: number): Idleness {
  const steps = world.timeline.step - Math.max(step, world.lastLandedStep);
  return { steps, ms: world.clock.now - Math.max(at, world.lastLandedAt) };
}

/** Past both bounds (the sweep, with no skewed clocks and one transfer, judges by steps alone: `maxMs` 0). */
export const isStuck = (idle: Idleness, maxSteps = MAX_IDLE_STEPS, maxMs = MAX_IDLE_MS): boolean =>
  idle.steps > maxSteps && idle.ms > maxMs;

export function idleViolation(world: World, idle: Idleness, maxSteps = MAX_IDLE_STEPS, maxMs = MAX_IDLE_MS): Violation {
  const open = NODES.map((n) => `${n} [${world.openSessions(n).join(',')}]`).join(' ');
  const left = `${world.wire.size} message(s) in flight, ${world.work.length} I/O pending, open: ${open}`;
  const detail = `no entry landed in the last ${idle.steps} steps (${Math.round(idle.ms / 1000)} simulated s); ${left}`;
  const within = maxMs ? `${maxSteps} steps or ${maxMs / 60_000} simulated minutes` : `${maxSteps} steps`;
  return { invariant: `progress: once faults stop, an entry lands within every ${within} until quiet`, detail };
}

/** One thing that can happen next; the random scheduler weighs them, the sweep takes them in order. */
export interface Action {
  weight: number;
  run: () => void | Promise<void>;
}

// A macrotask runs after every queued microtask (all in-memory I/O here resolves by microtasks). setImmediate
// (Node, Deno) and a MessageChannel message (Chromium) are not clamped to 1 ms as a nested setTimeout(0) is;
// workerd has neither, and a setTimeout(0) there.
const hasImmediate = typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function';
const immediate: (fire: () => void) => void = hasImmediate
  ? (fire) => setImmediate(fire)
  : typeof MessageChannel === 'function'
    ? (() => {
        const channel = new MessageChannel();
        const queue: (() => void)[] = [];
        channel.port1.onmessage = () => queue.shift()?.();
        return (fire: () => void) => {
          queue.push(fire);
          channel.port2.postMessage(undefined);
        };
      })()
    : (fire) => setTimeout(fire, 0);
export const macrotask = (): Promise<void> => new Promise<void>((resolve) => immediate(resolve));

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

/** Whether queued I/O can complete now (a slow sync or a hung ledger call waits until its readyAt). */
export const isReady = (w: Work, now: number): boolean => w.readyAt === undefined || w.readyAt <= now;

/** Queued I/O that can complete now, oldest first. */
export const readyWork = (world: World): Work[] => world.work.filter((w) => isReady(w, world.clock.now));

/**
 * The next moment something is due, in world time: a timer (where its node's clock reaches it, or a world
 * event), a message on the wire, or queued I/O that is waiting.
 */
export function nextEventAt(world: World): number | undefined {
  let at = world.clock.earliest()?.at;
  const m = world.wire.nextAt();
  if (m !== undefined && (at === undefined || m < at)) at = m;
  for (const w of world.work) if (w.readyAt !== undefined && (at === undefined || w.readyAt < at)) at = w.readyAt;
  return at;
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
