// reduce(state, event) → { state, entries, effects }: decide, chain the new entries, fold them in.
import type { ChainContext, EntryBody } from '../entry.ts';
import { chainBody } from '../seal.ts';
import { decide } from './decide.ts';
import type { Effect, GatewayConfig, GatewayEvent } from './effects.ts';
import { evolve, isEnded, type SessionState } from './state.ts';
import { RMSG } from './recovery-messages.ts';

/**
 * What one event leads to. `entries` are appended, durably, before any of `effects` runs (write-ahead): the
 * shape says it, so a driver cannot run an effect of a step whose entries are not yet on disk.
 */
export interface Reduction {
  state: SessionState | undefined;
  /** The new entries of this gateway's chain, in order (empty when nothing is logged). */
  entries: EntryBody[];
  /** In order, after the entries are durable. */
  effects: Effect[];
}

export function reduce(state: SessionState | undefined, event: GatewayEvent, cfg: GatewayConfig): Reduction {
  const d = decide(state, event, cfg);
  if (d.steps.length === 0) return { state, entries: [], effects: heldDuringRecovery(state, settling(d.effects)) };
  const ctx: ChainContext | undefined = state?.chain ?? d.context;
  if (!ctx) throw new TypeError('a decision logged steps for a session without a chain context');
  let head = state?.head ?? { seq: 0, hash: '0'.repeat(64) };
  let next = state;
  const entries: EntryBody[] = [];
  for (const step of d.steps) {
    const { body, hash } = chainBody(ctx, head, step);
    entries.push(body);
    next = evolve(next, { ...body, entryHash: hash, messageSignature: '' });
    head = { seq: body.seqNumber, hash };
  }
  const effects: Effect[] = settling(d.effects);
  // Retransmission follows the wait: armed while a reply is awaited, cleared otherwise.
  const before = state?.lastSent?.hash;
  if (next!.wait.kind === 'message' && next!.lastSent && next!.lastSent.hash !== before) {
    effects.push({ kind: 'set-timer', timer: 'retransmit', at: event.now + cfg.retransmitMs });
  } else if (next!.wait.kind !== 'message') {
    effects.push({ kind: 'clear-timer', timer: 'retransmit' });
  }
  if (isEnded(next!))
    effects.push(
      { kind: 'clear-timer', timer: 'deadline' },
      { kind: 'clear-timer', timer: 'ledger-retry' },
      { kind: 'clear-timer', timer: 'recover' },
    );
  return { state: next, entries, effects: heldDuringRecovery(next, effects) };
}

/**
 * A ledger call made now supersedes any pending retry: a status query armed for an earlier call must not ask
 * about this one while it is in flight (unknown yet), or it would be executed a second time, blind.
 */
function settling(effects: Effect[]): Effect[] {
  return effects.some((e) => e.kind === 'ledger-execute')
    ? [{ kind: 'clear-timer', timer: 'ledger-retry' }, ...effects]
    : effects;
}

const HANDSHAKE: ReadonlySet<string> = new Set([
  RMSG.recover,
  RMSG.recoverUpdate,
  RMSG.recoverUpdateAck,
  RMSG.recoverSuccess,
  RMSG.recoverDispute,
]);

/**
 * recovery-04 §5.1: a recovered gateway resumes SATP only once the recovery is confirmed (RECOVER-SUCCESS).
 * Until then it may settle its own ledger calls and log what it receives, but the transfer and rollback
 * messages it logs are not sent yet: they stay in its chain, and resume() sends the one awaiting a reply at
 * RECOVER-SUCCESS (the peer's retransmissions bring the answers to the rest). The recovery handshake
 * itself, and unlogged refusals, always go out. A session that ended meanwhile sends as usual.
 */
function heldDuringRecovery(s: SessionState | undefined, effects: Effect[]): Effect[] {
  if (!s || isEnded(s) || s.recovery?.status !== 'recovering') return effects;
  return effects.filter((e) => !(e.kind === 'send' && e.logged && !HANDSHAKE.has(e.message.messageType)));
}
