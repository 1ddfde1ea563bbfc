// reduce(state, event) → { state, effects }: decide, chain the new entries, fold them in (STYLE §2–§3).
import { type ChainContext, type EntryBody, entryHashOf, nextEntryBody } from '../entry.ts';
import { decide } from './decide.ts';
import type { Effect, GatewayConfig, GatewayEvent } from './effects.ts';
import { evolve, type SessionState } from './state.ts';

export interface Reduction {
  state: SessionState | undefined;
  /** In order; an `append` (when anything is logged) always comes first. */
  effects: Effect[];
}

export function reduce(state: SessionState | undefined, event: GatewayEvent, cfg: GatewayConfig): Reduction {
  const d = decide(state, event, cfg);
  if (d.steps.length === 0) return { state, effects: d.effects };
  const ctx: ChainContext | undefined = state?.chain ?? d.context;
  if (!ctx) throw new TypeError('a decision logged steps for a session without a chain context');
  let head = state?.head ?? { seq: 0, hash: '0'.repeat(64) };
  let next = state;
  const entries: EntryBody[] = [];
  for (const step of d.steps) {
    const body = nextEntryBody(ctx, head, step);
    const hash = entryHashOf(body);
    entries.push(body);
    next = evolve(next, { ...body, entryHash: hash, messageSignature: '' });
    head = { seq: body.seqNumber, hash };
  }
  const effects: Effect[] = [{ kind: 'append', entries }, ...d.effects];
  // Retransmission follows the wait: armed while a reply is awaited, cleared otherwise.
  const before = state?.lastSent?.hash;
  if (next!.wait.kind === 'message' && next!.lastSent && next!.lastSent.hash !== before) {
    effects.push({ kind: 'set-timer', timer: 'retransmit', at: event.now + cfg.retransmitMs });
  } else if (next!.wait.kind !== 'message') {
    effects.push({ kind: 'clear-timer', timer: 'retransmit' });
  }
  if (next!.outcome) effects.push({ kind: 'clear-timer', timer: 'deadline' }, { kind: 'clear-timer', timer: 'ledger-retry' });
  return { state: next, effects };
}
