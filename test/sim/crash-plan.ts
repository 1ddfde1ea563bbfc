// When the random schedule crashes a gateway: armed at seeded steps, fired at a write point, a ledger call or at once.
import { NODES, other, type NodeName } from './names.ts';
import type { Plan } from './plan.ts';
import { restartDelay } from './plan.ts';
import type { Action } from './scheduler.ts';
import type { World } from './world.ts';

type Trigger = 'append' | 'ledger' | 'now';

interface Armed {
  node: NodeName;
  trigger: Trigger;
  /** Step after which it fires at once if its trigger never came (bounded wait). */
  until: number;
  why: string;
}

/**
 * Crashes are armed at steps drawn from the seed, and extra ones when a recovery starts (a crash
 * during recovery) or while one gateway is down (both down). An armed crash waits for its trigger:
 * an append of that gateway in flight (a write point: the seed decides landed or lost), a ledger
 * request in flight, or nothing.
 */
export class CrashPlan {
  readonly #armAt: number[];
  readonly #armed: Armed[] = [];
  #extra = 0;

  constructor(readonly plan: Plan) {
    const rng = plan.rng;
    this.#armAt = Array.from({ length: plan.maxCrashes }, () => Math.floor(rng() * plan.faultSteps)).sort(
      (a, b) => a - b,
    );
  }

  #trigger(): Trigger {
    const r = this.plan.rng();
    return r < 0.6 ? 'append' : r < 0.8 ? 'ledger' : 'now';
  }

  /** A gateway restarted with unfinished sessions: maybe crash one side again while it recovers. */
  onRecovery(step: number): void {
    if (this.#extra >= 3 || this.plan.rng() >= this.plan.recoveryCrash) return;
    this.#extra++;
    this.#armed.push({
      node: this.plan.rng() < 0.5 ? 'A' : 'B',
      trigger: 'append',
      until: step + 12,
      why: 'during recovery',
    });
  }

  /** The crash to run this step, if one is armed and due. */
  next(world: World, step: number): Action | undefined {
    while (this.#armAt.length && this.#armAt[0]! <= step) {
      this.#armAt.shift();
      this.#armed.push({
        node: this.plan.rng() < 0.5 ? 'A' : 'B',
        trigger: this.#trigger(),
        until: step + 40,
        why: 'seeded',
      });
      // While one side is down, sometimes take the other down too.
      const down = NODES.find((n) => !world.isUp(n));
      if (down && this.plan.rng() < this.plan.bothDown)
        this.#armed.push({ node: other(down), trigger: 'now', until: step, why: 'both down' });
    }
    for (const [i, a] of this.#armed.entries()) {
      if (!world.isUp(a.node)) {
        if (step >= a.until) this.#armed.splice(i, 1);
        continue;
      }
      const id = world.nodes[a.node].id;
      const hit =
        a.trigger === 'now' ||
        step >= a.until ||
        world.work.some(
          (w) =>
            w.inc.node === id &&
            (a.trigger === 'append' ? w.kind === 'append' : w.kind === 'ledger' && w.call === 'execute'),
        );
      if (!hit) continue;
      this.#armed.splice(i, 1);
      const rng = this.plan.rng;
      const restartAt = world.clock.now + restartDelay(this.plan);
      return { weight: 1, run: () => world.crash(a.node, () => rng() < 0.5, restartAt) };
    }
    return undefined;
  }
}
