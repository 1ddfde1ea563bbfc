// The dispatcher: checks an event against the session (order, peer, hashes, duplicates), then hands it to the role.
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { assertNever } from '../errors.ts';
import type { Decision, GatewayConfig, GatewayEvent } from './effects.ts';
import { mismatch, SATP_ERRORS } from './error-codes.ts';
import { contextOf, MSG, type SatpMessage } from './messages.ts';
import { RMSG } from './recovery-messages.ts';
import { onRecover, onRecoverDispute, onRecoverSuccess, onRecoverUpdate, onRecoverUpdateAck, recover, resume } from './recovery.ts';
import type { RecoveryContext, TimerName } from './effects.ts';
import { acceptProposal, assign, destinationAfterLedger, destinationOnMessage } from './destination.ts';
import { burnOpId, originAfterLedger, originOnMessage, startTransfer } from './origin.ts';
import { continueRollback, rollbackActions, startRollback } from './rollback.ts';
import { refuse } from './refuse.ts';
import { isEnded, type SessionState } from './state.ts';
import { burnEvidence, end, ledgerDone, ledgerFailed, receive } from './steps.ts';
import { andThen } from './compose.ts';

const report = (kind: 'ignored' | 'needs-operator', detail: string): Decision => ({ steps: [], effects: [{ kind: 'report', report: { kind, detail } }] });

export function decide(s: SessionState | undefined, ev: GatewayEvent, cfg: GatewayConfig): Decision {
  // RECOVER-DISPUTE froze the session: nothing happens until an operator steps in (both chains kept).
  if (s?.disputed) return report('needs-operator', `session frozen by a dispute: ${s.disputed}`);
  switch (ev.kind) {
    case 'start':
      return s ? report('ignored', `session ${ev.request.sessionId} exists`) : startTransfer(ev.request, ev.now, cfg);
    case 'message':
      return onMessage(s, ev.from, ev.message, ev.hash, ev.now, cfg, ev.recovery);
    case 'ledger-result':
      return s ? onLedgerReceipt(s, ev.opId, ev.receipt, ev.now) : report('ignored', 'receipt for no session');
    case 'ledger-status':
      if (!s) return report('ignored', 'status for no session');
      if (ev.ledger === 'peer') return onBurnEvidence(s, ev.opId, ev.receipt, ev.now);
      if (!s.pendingOp || s.pendingOp.opId !== ev.opId) return report('ignored', `status of ${ev.opId}, not pending`);
      // Settling an exec without its done (DESIGN §3): it happened → log it; it did not → do it now.
      return ev.receipt ? onLedgerReceipt(s, ev.opId, ev.receipt, ev.now) : { steps: [], effects: [{ kind: 'ledger-execute', op: s.pendingOp }] };
    case 'ledger-error':
      if (s?.pendingOp?.opId !== ev.opId) return report('ignored', 'error for no pending op');
      // The ledger says the op itself is wrong (reused id, malformed): retrying cannot help.
      if (ev.code === 'OP_CONFLICT' || ev.code === 'INVALID_INPUT') return report('needs-operator', `ledger refused ${ev.opId} as ${ev.code}: ${ev.error}`);
      // Unavailable or unknown outcome: ask status(opId) later, never execute blind (DESIGN §3).
      return { steps: [], effects: [{ kind: 'set-timer', timer: 'ledger-retry', at: ev.now + cfg.retransmitMs }] };
    case 'timer':
      return s ? onTimer(s, ev.timer, ev.now, cfg) : report('ignored', 'timer for no session');
    case 'boot':
      return s ? onBoot(s, ev.now, cfg) : report('ignored', 'boot with no session');
    case 'abort':
      return s ? onAbort(s, ev.reason, ev.now) : report('ignored', 'abort of no session');
    default:
      return assertNever(ev, 'event');
  }
}

function onMessage(s: SessionState | undefined, from: string, m: SatpMessage, hash: string, now: number, cfg: GatewayConfig, rctx?: RecoveryContext): Decision {
  // Recovery (recovery-04 §5.3): answered whatever the session's state, even ended or unknown.
  const dup = !!s && hash in s.received;
  switch (m.messageType) {
    case RMSG.recover:
      return onRecover(dup ? undefined : s, from, m, hash, now, rctx);
    case RMSG.recoverUpdateAck:
      return onRecoverUpdateAck(dup ? undefined : s, from, m, hash, now);
    case RMSG.recoverUpdate:
      return s && !dup ? onRecoverUpdate(s, from, m, hash, now, rctx, cfg) : report('ignored', 'RECOVER-UPDATE already handled or for no session');
    case RMSG.recoverSuccess:
      return s && !dup ? onRecoverSuccess(s, from, m, hash, now, cfg) : report('ignored', 'RECOVER-SUCCESS already handled or for no session');
    case RMSG.recoverDispute:
      return onRecoverDispute(s, from, m, now);
  }
  if (!s) {
    if (m.messageType === MSG.transferProposal) return acceptProposal(from, m, hash, now, cfg);
    // A session this gateway never started has nothing to undo: acknowledge, so the peer can end.
    if (m.messageType === RMSG.rollback) {
      const ack = { version: '1.0' as const, sessionId: m.sessionId, contextId: m.contextId, messageType: RMSG.rollbackAck, hashRollbackMessage: hash, success: true, actionsPerformed: [], proofs: [] };
      return { steps: [], effects: [{ kind: 'send', to: from, message: ack as SatpMessage, logged: false }] };
    }
    if (m.messageType === MSG.error || m.messageType === MSG.sessionAbort || m.messageType === RMSG.rollbackAck) return report('ignored', `${m.messageType} for an unknown session`);
    return refuse(undefined, m, hash, now, mismatch(m.messageType, 'session'), `unknown session ${m.sessionId}`, from);
  }
  if (from !== s.peer) return refuse(s, m, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  if (contextOf(m) !== s.contextId) return refuse(s, m, hash, now, mismatch(m.messageType, 'context'), 'transferContextId differs from the session');
  // A message already accepted: the same answer as the first time, nothing changed (duplicates are no-ops).
  if (dup) {
    const answer = s.received[hash];
    return answer ? { steps: [], effects: [{ kind: 'send', to: answer.to, message: answer.message, logged: true }] } : report('ignored', 'duplicate still being answered');
  }
  if (m.messageType === RMSG.rollbackAck) {
    if (isEnded(s) || s.lastSent?.message.messageType !== RMSG.rollback || m.hashRollbackMessage !== s.lastSent.hash) return report('ignored', 'ROLLBACK-ACK for no pending ROLLBACK');
    return {
      steps: [receive('rollback', now, from, m, hash), end(now, 'rolled-back', s.rollingBack?.reason ?? 'rolled back')],
      effects: [{ kind: 'report', report: { kind: 'ended', outcome: 'rolled-back', reason: s.rollingBack?.reason ?? 'rolled back' } }],
    };
  }
  if (m.messageType === RMSG.rollback) {
    if (isEnded(s)) {
      if (s.outcome !== 'rolled-back' && s.outcome !== 'rejected') return report('needs-operator', `ROLLBACK after the session ${s.outcome}`);
      // Ended rolled back before the peer's ROLLBACK arrived: acknowledge from the state, unlogged.
      const ack = { version: '1.0' as const, sessionId: s.sessionId, contextId: s.contextId, messageType: RMSG.rollbackAck, hashRollbackMessage: hash, success: true, ...rollbackActions(s) };
      return { steps: [], effects: [{ kind: 'send', to: from, message: ack as SatpMessage, logged: false }] };
    }
    if (s.committed) return report('needs-operator', 'ROLLBACK after the point of no return');
    return andThen(s, { steps: [receive('rollback', now, from, m, hash)], effects: [] }, (r) => (s.rollingBack ? continueRollback(r, now) : startRollback(r, now, `peer rolled back: ${m.reason}`, false)));
  }
  if (m.messageType === MSG.error) {
    // Act only on an error about a message this gateway sent: a refusal of someone else's message is not ours to act on.
    if (!(m.hashPrevMessage in s.sent)) return report('ignored', 'error-msg about a message this gateway did not send');
    // Past the point of no return an error cannot undo anything: the origin may have burned once the
    // destination promised (commit-ready), so only the origin's own session-abort or the ledger decides.
    if (isEnded(s) || pastNoReturn(s)) return report('needs-operator', `peer error after the point of no return: ${m.title}`);
    if (s.rollingBack) return report('ignored', 'already rolling back');
    return andThen(s, { steps: [receive('error', now, from, m, hash)], effects: [] }, (r) => startRollback(r, now, `peer error ${m.type.split(":").pop()}: ${m.title}`, true));
  }
  if (m.messageType === MSG.sessionAbort) {
    if (isEnded(s) || s.rollingBack) return report('ignored', 'session-abort after the session ended');
    // SATP core §9.6: an abort after the burn is not effective.
    if (s.committed) return report('ignored', 'session-abort after the burn is not effective');
    return andThen(s, { steps: [receive('abort', now, from, m, hash)], effects: [] }, (r) => startRollback(r, now, `peer aborted: ${m.reason ?? 'no reason'}`, false));
  }
  if (isEnded(s)) return refuse(s, m, hash, now, mismatch(m.messageType, 'session'), `session ended: ${s.outcome}`);
  if (s.rollingBack) return refuse(s, m, hash, now, mismatch(m.messageType, 'session'), 'session is rolling back');
  const expected = s.wait.kind === 'message' ? s.wait.types : [];
  // Destination assigned on burn evidence: the origin's commit-final is still to be answered.
  const late = s.role === 'destination' && s.committed && s.lastReceivedType !== MSG.commitFinal ? [MSG.commitFinal] : [];
  if (![...expected, ...late].includes(m.messageType)) return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, `${m.messageType} is out of order`);
  if (!('hashPrevMessage' in m) || m.hashPrevMessage !== s.lastSent?.hash) return refuse(s, m, hash, now, mismatch(m.messageType, 'prev'), 'hashPrevMessage is not the hash of the last message sent');
  return s.role === 'origin' ? originOnMessage(s, m, hash, now, cfg) : destinationOnMessage(s, m, hash, now, cfg);
}

function onLedgerReceipt(s: SessionState, opId: string, receipt: LedgerReceipt, now: number): Decision {
  const op = s.pendingOp;
  if (!op || op.opId !== opId || receipt.opId !== opId) return report('ignored', `receipt for ${opId}, not pending`);
  const purpose = op.opId.includes(':rollback:') ? 'rollback' : 'forward';
  const step = opId.split(':').at(-2)!;
  const logged = receipt.ok ? ledgerDone(step, now, op, purpose, receipt) : ledgerFailed(step, now, op, purpose, `${receipt.error?.code}: ${receipt.error?.message}`, receipt);
  return andThen(s, { steps: [logged], effects: [] }, (after) => afterLedger(after, op, receipt, now, purpose));
}

function afterLedger(s: SessionState, op: LedgerOp, receipt: LedgerReceipt, now: number, purpose: 'forward' | 'rollback'): Decision {
  if (purpose === 'rollback' || s.rollingBack) {
    // A forward burn refused during a rollback leaves the lock: continueRollback unlocks it.
    if (s.rollingBack) return continueRollback(s, now);
    return startRollback(s, now, 'ledger result during rollback', true);
  }
  return s.role === 'origin' ? originAfterLedger(s, op, receipt, now) : destinationAfterLedger(s, op, receipt, now);
}

function onTimer(s: SessionState, timer: TimerName, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s)) return report('ignored', `${timer} after the end`);
  if (timer === 'recover') {
    const last = s.recovery?.status === 'recovering' ? s.recovery.last : undefined;
    if (!last) return report('ignored', 'not recovering');
    return { steps: [], effects: [{ kind: 'send', to: s.peer, message: last as SatpMessage, logged: true }, { kind: 'set-timer', timer: 'recover', at: now + cfg.retransmitMs }] };
  }
  if (timer === 'retransmit') {
    if (s.wait.kind !== 'message' || !s.lastSent) return report('ignored', 'nothing to retransmit');
    return { steps: [], effects: [{ kind: 'send', to: s.lastSent.to, message: s.lastSent.message, logged: true }, { kind: 'set-timer', timer: 'retransmit', at: now + cfg.retransmitMs }] };
  }
  if (timer === 'ledger-retry') return s.pendingOp ? { steps: [], effects: [{ kind: 'ledger-query', ledger: 'own', opId: s.pendingOp.opId }] } : report('ignored', 'no pending op');
  return onDeadline(s, now);
}

/** The lock expiry passed (recovery-04 §5.2.2: otherwise the rollback protocol applies). */
function onDeadline(s: SessionState, now: number): Decision {
  if (s.committed || s.rollingBack) return report('ignored', 'deadline after the point of no return or during rollback');
  if (s.role === 'origin') return startRollback(s, now, 'lock expired before the burn', true);
  // Destination: nothing minted → nothing to lose. Minted → only the origin ledger can say whether
  // the burn happened; after the expiry it can no longer happen (TIME_LOCK), so its answer is final.
  const minted = s.rollbackList.includes('BURN') || s.pendingOp?.kind === 'mint';
  if (!minted) return startRollback(s, now, 'lock expired before commit', true);
  return { steps: [], effects: [{ kind: 'ledger-query', ledger: 'peer', opId: burnOpId(s.sessionId) }] };
}

function onBurnEvidence(s: SessionState, opId: string, receipt: LedgerReceipt | undefined, now: number): Decision {
  if (s.role !== 'destination' || isEnded(s) || s.committed || s.rollingBack || opId !== burnOpId(s.sessionId)) return report('ignored', 'burn evidence not needed');
  const burned = receipt?.ok === true;
  const evidence = { steps: [burnEvidence(now, opId, burned, receipt)], effects: [] };
  if (burned) return andThen(s, evidence, (after) => (after.pendingOp ? { steps: [], effects: [] } : assign(after, now)));
  return andThen(s, evidence, (after) => startRollback(after, now, 'lock expired and the origin did not burn', true));
}

/** Origin: the burn is logged. Destination: it answered commit-ready, after which the origin may burn at any moment. */
function pastNoReturn(s: SessionState): boolean {
  if (s.committed) return true;
  return s.role === 'destination' && Object.values(s.sent).some((t) => t === MSG.commitReady || t === MSG.ackPrepare);
}

function onAbort(s: SessionState, reason: string, now: number): Decision {
  if (isEnded(s) || s.rollingBack) return report('ignored', 'abort: the session has ended or is rolling back');
  // SATP core §9.6: an origin abort is effective before the burn; a destination abort only before it
  // answered commit-ready, since after that the origin may burn at any moment.
  if (pastNoReturn(s)) return report('needs-operator', 'abort is no longer effective: the transfer can only go forward');
  return startRollback(s, now, `aborted: ${reason}`, true);
}

/**
 * After a restart (replayed state): settle an unsettled ledger call, re-arm deadlines, go on with a
 * rollback's local compensations, and send RECOVER (recovery-04 §5.1); messaging resumes at
 * RECOVER-SUCCESS.
 */
function onBoot(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s)) return { steps: [], effects: [] };
  const effects: Decision['effects'] = [];
  if (s.pendingOp) effects.push({ kind: 'ledger-query', ledger: 'own', opId: s.pendingOp.opId });
  if (s.lockExpiry !== undefined && !s.committed && !s.rollingBack) {
    effects.push({ kind: 'set-timer', timer: 'deadline', at: s.role === 'origin' ? s.lockExpiry : s.lockExpiry + cfg.deadlineGraceMs });
  }
  const local = s.rollingBack && !s.pendingOp && s.wait.kind !== 'message' ? continueRollback(s, now) : { steps: [], effects: [] };
  return andThen(s, { steps: local.steps, effects: [...effects, ...local.effects] }, (after) => (isEnded(after) ? { steps: [], effects: [] } : recover(after, now, cfg)));
}

export { resume };
