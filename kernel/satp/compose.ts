// Composing decisions: log some steps, then decide the rest from the state those steps lead to.
import type { EntryBody, EntryStep } from '../entry.ts';
import type { Decision } from './effects.ts';
import { evolve, type SessionState } from './state.ts';

/** The state after `steps`, for deciding what follows them within the same event. */
export function fold(s: SessionState, steps: readonly EntryStep[]): SessionState {
  let out = s;
  for (const [i, st] of steps.entries()) {
    out = evolve(out, { ...st, seqNumber: s.head.seq + i + 1 } as unknown as EntryBody);
  }
  return { ...out, head: s.head }; // the real head is set when the entries are sealed
}

export function andThen(s: SessionState, first: Decision, next: (after: SessionState) => Decision): Decision {
  const rest = next(fold(s, first.steps));
  return { steps: [...first.steps, ...rest.steps], effects: [...first.effects, ...rest.effects], ...(first.context ? { context: first.context } : {}) };
}
