// Rollback (recovery-04 §5.2.3, §5.4.3): compensate what the rollback list owes, tell the peer, end.
import { ledgerOp } from '../ledger.ts';
import type { Decision } from './effects.ts';
import { MSG, SATP_VERSION, type MessageOf } from './messages.ts';
import type { SessionState } from './state.ts';
import { end, ledger, opId, rollbackDecision, send } from './steps.ts';
import { GENESIS_HASH } from '../entry.ts';

/** Decide to roll back: logged first, so a crash in the middle resumes the rollback, never the transfer. */
export function startRollback(s: SessionState, now: number, reason: string, notify: boolean): Decision {
  const decided = rollbackDecision(now, reason, notify);
  const rest = continueRollback({ ...s, rollingBack: { reason, notify } }, now);
  return { steps: [decided, ...rest.steps], effects: rest.effects };
}

/**
 * The next rollback step from wherever the rollback stands: wait for an unsettled ledger call, else
 * compensate the next item (origin UNLOCK, destination BURN), else notify the peer and end.
 */
export function continueRollback(s: SessionState, now: number): Decision {
  const rb = s.rollingBack;
  if (!rb || s.outcome) return { steps: [], effects: [] };
  if (s.pendingOp) return { steps: [], effects: [] }; // settle first; its result brings us back here
  const assetId = s.claim?.digitalAssetId ?? s.transfer?.assetId ?? '';
  if (s.role === 'origin' && s.rollbackList.includes('UNLOCK')) {
    const op = ledgerOp.unlock(opId(s.sessionId, 'rollback', 'unlock'), assetId);
    return { steps: ledger('rollback', now, op, 'rollback'), effects: [{ kind: 'ledger-execute', op }] };
  }
  if (s.role === 'destination' && s.rollbackList.includes('BURN')) {
    const op = ledgerOp.burn(opId(s.sessionId, 'rollback', 'burn'), assetId);
    return { steps: ledger('rollback', now, op, 'rollback'), effects: [{ kind: 'ledger-execute', op }] };
  }
  const steps = [];
  const effects: Decision['effects'] = [];
  if (rb.notify && s.peer) {
    const abort: MessageOf<typeof MSG.sessionAbort> = {
      version: SATP_VERSION,
      messageType: MSG.sessionAbort,
      sessionId: s.sessionId,
      transferContextId: s.contextId,
      hashPrevMessage: s.lastSent?.hash ?? s.lastReceived ?? GENESIS_HASH,
      reason: rb.reason.slice(0, 512),
    };
    steps.push(...send('rollback', now, s.peer, abort));
    effects.push({ kind: 'send' as const, to: s.peer, message: abort, logged: true });
  }
  steps.push(end(now, 'rolled-back', rb.reason));
  effects.push({ kind: 'report', report: { kind: 'ended', outcome: 'rolled-back', reason: rb.reason } });
  return { steps, effects };
}
