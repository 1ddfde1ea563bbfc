// What happened in one schedule, in order: the readable record `npm run simulate -- --seed N` prints.
import { SIM_EPOCH } from './clock.ts';

export type EventKind =
  | 'start'
  | 'abort'
  | 'send'
  | 'deliver'
  | 'drop'
  | 'duplicate'
  | 'append'
  | 'append-lost'
  | 'ledger'
  | 'ledger-lost'
  | 'ledger-error'
  | 'query'
  | 'timer'
  | 'crash'
  | 'restart'
  | 'jump'
  | 'outcome'
  | 'phase'
  | 'note'
  | 'store-error'
  | 'outage'
  | 'slow'
  | 'rejected'
  | 'livelock'
  | 'forge';

export interface TimelineEvent {
  step: number;
  /** World time. */
  t: number;
  actor: string;
  /** The acting node's own clock at that moment (gateways and ledgers; none for the network or the world). */
  local?: number;
  kind: EventKind;
  /** Formatted lazily: most schedules pass and are never printed. */
  detail: string | (() => string);
}

/** A lazily formatted detail; one that throws (say, a mutant's odd state in a mutation run) is shown, not fatal. */
function describe(detail: () => string): string {
  try {
    return detail();
  } catch (err) {
    return `(detail unavailable: ${String(err)})`;
  }
}

const secs = (t: number): string => `t+${((t - SIM_EPOCH) / 1000).toFixed(3).padStart(9)}s`;

export class Timeline {
  readonly events: TimelineEvent[] = [];
  step = 0;

  add(t: number, actor: string, kind: EventKind, detail: string | (() => string), local?: number): void {
    const e: TimelineEvent = { step: this.step, t, actor, kind, detail };
    this.events.push(local === undefined ? e : { ...e, local });
  }

  /** One line per event: step, world time, actor, the actor's local time, event (times in s since the epoch). */
  format(last = Infinity): string {
    const from = Number.isFinite(last) ? Math.max(0, this.events.length - last) : 0;
    return this.events
      .slice(from)
      .map((e) => {
        const detail = typeof e.detail === 'function' ? describe(e.detail) : e.detail;
        const local = e.local === undefined ? ''.padEnd(20) : `(local ${secs(e.local)})`;
        const head = `${String(e.step).padStart(5)}  ${secs(e.t)}  ${e.actor.padEnd(8)} ${local}`;
        return `${head}  ${e.kind.padEnd(12)} ${detail}`;
      })
      .join('\n');
  }

  /** A fingerprint of the whole timeline: two runs of one seed must give the same. */
  fingerprint(): string {
    let h = 0x811c9dc5;
    const text = this.format();
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return `${this.events.length}:${h.toString(16)}`;
  }
}
