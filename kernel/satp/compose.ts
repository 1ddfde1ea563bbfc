// Composing decisions: log some steps, then decide the rest from the state those steps lead to.
import type { EntryBody, EntryStep } from '../entry.ts';
import type { Decision } from './effects.ts';
import { SATP_VERSION, type SatpMessage } from './messages.ts';
import { evolve, type SessionState } from './state.ts';
import { send } from './steps.ts';

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
  return {
    steps: [...first.steps, ...rest.steps],
    effects: [...first.effects, ...rest.effects],
    ...(first.context ? { context: first.context } : {}),
  };
}

/** The fields every answer to the peer's last accepted message carries (SATP core §4.2: hashPrevMessage). */
export const replyTo = (s: SessionState) =>
  ({
    version: SATP_VERSION,
    sessionId: s.sessionId,
    transferContextId: s.contextId,
    hashPrevMessage: s.lastReceived!,
  }) as const;

/** Log and send `m` to the peer as step `step`, answering the peer's last accepted message. */
export const sendToPeer = (s: SessionState, step: string, now: number, m: SatpMessage): Decision => ({
  steps: send(step, now, s.peer, m, s.lastReceived),
  effects: [{ kind: 'send', to: s.peer, message: m, logged: true }],
});

/** Nothing logged, one report. */
export const reportOnly = (kind: 'ignored' | 'needs-operator', detail: string): Decision => ({
  steps: [],
  effects: [{ kind: 'report', report: { kind, detail } }],
});
