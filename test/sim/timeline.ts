// What happened in one schedule, in order: the readable record `npm run simulate -- --seed N` prints.
import { SIM_EPOCH } from './clock.ts';

export type EventKind =
  | 'start' | 'abort' | 'send' | 'deliver' | 'drop' | 'duplicate' | 'append' | 'append-lost'
  | 'ledger' | 'ledger-lost' | 'ledger-error' | 'query' | 'timer' | 'crash' | 'restart' | 'jump' | 'outcome' | 'phase' | 'note';

export interface TimelineEvent {
  step: number;
  t: number;
  actor: string;
  kind: EventKind;
  /** Formatted lazily: most schedules pass and are never printed. */
  detail: string | (() => string);
}

export class Timeline {
  readonly events: TimelineEvent[] = [];
  step = 0;

  add(t: number, actor: string, kind: EventKind, detail: string | (() => string)): void {
    this.events.push({ step: this.step, t, actor, kind, detail });
  }

  /** One line per event: step, simulated seconds since the epoch, actor, event. */
  format(last = Infinity): string {
    const from = Number.isFinite(last) ? Math.max(0, this.events.length - last) : 0;
    return this.events
      .slice(from)
      .map((e) => {
        const detail = typeof e.detail === 'function' ? e.detail() : e.detail;
        return `${String(e.step).padStart(5)}  t+${((e.t - SIM_EPOCH) / 1000).toFixed(3).padStart(9)}s  ${e.actor.padEnd(6)} ${e.kind.padEnd(11)} ${detail}`;
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
