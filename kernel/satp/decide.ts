// The dispatcher: checks an event against the session (peer, order, hashes, duplicates, proofs), then hands it to
// the role, the rollback, the recovery or the deadline logic.
import type { LedgerAttestation, LedgerReceipt } from '../ledger.ts';
import { receiptMatchesOp } from '../ledger-receipt.ts';
import { assertNever } from '../errors.ts';
import type { Json } from '../json.ts';
import { TAKEOVER_STEP } from '../takeover.ts';
import type { About, Decision, GatewayConfig, GatewayEvent, StoreResult, TimerName } from './effects.ts';
import { mismatch, SATP_ERRORS } from './error-codes.ts';
import { contextOf, MSG, type MessageType, type SatpMessage } from './messages.ts';
import { RMSG, type RecoveryOf } from './recovery-messages.ts';
import {
  askedPastCopy,
  onCopyUpdated,
  onRecover,
  onRecoverDispute,
  onRecoverPage,
  onRecoverSuccess,
  onRecoverUpdate,
  onRecoverUpdateAck,
  recover,
  recoverResendAt,
  resume,
} from './recovery.ts';
import { acceptProposal, assign, destinationAfterLedger, destinationOnMessage } from './destination.ts';
import { originAfterLedger, originOnMessage, startTransfer } from './origin.ts';
import { continueRollback, rollbackAck, rollbackActions, startRollback } from './rollback.ts';
import { refuse } from './refuse.ts';
import {
  deadlineApplies,
  isEnded,
  outcomeOf,
  pastNoReturn,
  rolledBackOrRollingBack,
  rollingBack,
  type SessionState,
} from './state.ts';
import { burnEvidence, end, ledgerDone, ledgerFailed, receive } from './steps.ts';
import { andThen, reportOnly } from './compose.ts';
import { assetOf, compensationProblem, judgeAttestation } from './claims.ts';
import { burnOpId } from './ops.ts';

const NONE: Decision = { steps: [], effects: [] };

/** The transfer messages of SATP core (not the recovery ones): what an error-msg or abort can be about. */
const TRANSFER_TYPES: ReadonlySet<string> = new Set(Object.values(MSG));
const isTransferMessage = (t: MessageType | undefined): boolean => t !== undefined && TRANSFER_TYPES.has(t);

export function decide(s: SessionState | undefined, ev: GatewayEvent, cfg: GatewayConfig): Decision {
  // RECOVER-DISPUTE froze the session: nothing happens until an operator steps in (both chains kept).
  if (s?.status.kind === 'disputed')
    return reportOnly('needs-operator', `session frozen by a dispute: ${s.status.detail}`);
  switch (ev.kind) {
    case 'start':
      return s
        ? reportOnly('ignored', `session ${ev.request.sessionId} exists`)
        : startTransfer(ev.request, ev.now, cfg);
    case 'message':
      return onMessage(s, ev.from, ev.message, ev.hash, ev.now, cfg, ev.proofs);
    case 'store-result':
      return onStoreResult(s, ev.about, ev.result, ev.now, cfg);
    case 'ledger-result':
      return s
        ? onLedgerReceipt(s, ev.opId, ev.receipt, ev.verified, ev.now, cfg)
        : reportOnly('ignored', 'receipt for no session');
    case 'ledger-status':
      if (!s?.pending || s.pending.op.opId !== ev.opId)
        return reportOnly('ignored', `status of ${ev.opId}, not pending`);
      // Settling an exec without its done: it happened → log it; the ledger never recorded it → do it now.
      return ev.receipt
        ? onLedgerReceipt(s, ev.opId, ev.receipt, ev.verified, ev.now, cfg)
        : { steps: [], effects: [{ kind: 'ledger-execute', op: s.pending.op }] };
    case 'ledger-status-failed':
      // Nothing is known: ask again later, never guess (a ledger that cannot answer is not one that said no).
      if (!s?.pending || s.pending.op.opId !== ev.opId)
        return reportOnly('ignored', `status of ${ev.opId} failed, not pending`);
      return { steps: [], effects: [{ kind: 'set-timer', timer: 'ledger-retry', at: ev.now + cfg.retransmitMs }] };
    case 'ledger-error':
      if (s?.pending?.op.opId !== ev.opId) return reportOnly('ignored', 'error for no pending op');
      // The ledger says the op itself is wrong (reused id, malformed): retrying cannot help.
      if (ev.code === 'OP_CONFLICT' || ev.code === 'INVALID_INPUT')
        return reportOnly('needs-operator', `ledger refused ${ev.opId} as ${ev.code}: ${ev.error}`);
      // Unavailable or unknown outcome: ask status(opId) later, never execute blind.
      return { steps: [], effects: [{ kind: 'set-timer', timer: 'ledger-retry', at: ev.now + cfg.retransmitMs }] };
    case 'attestation':
      if (!s) return reportOnly('ignored', 'attestation for no session');
      // No read access to the origin ledger at all: nothing can settle the deadline but an operator.
      if (ev.noAccess)
        return reportOnly('needs-operator', 'past the deadline with no read access to the origin ledger');
      return onAttestation(s, ev.attestation, ev.verified, ev.error, ev.now, cfg);
    case 'timer':
      return s ? onTimer(s, ev.timer, ev.now, cfg, ev.attempt ?? 0) : reportOnly('ignored', 'timer for no session');
    case 'boot':
      return s ? onBoot(s, ev.now, cfg) : reportOnly('ignored', 'boot with no session');
    case 'reload':
      return s ? onReload(s, ev.now, cfg) : reportOnly('ignored', 'reload of no session');
    case 'takeover':
      // A backup in this gateway's place: the takeover entry first, signed with its key; the boot that follows
      // recovers the session with the peer, RECOVER saying isBackup (recovery-04 §5.1).
      if (!s || isEnded(s)) return reportOnly('ignored', 'takeover of no open session');
      return {
        steps: [
          {
            phase: s.phase,
            step: TAKEOVER_STEP,
            operation: 'exec',
            payload: { kind: 'takeover', ...ev.takeover } as unknown as Json,
            timestamp: ev.now,
          },
        ],
        effects: [],
      };
    case 'abort':
      return s ? onAbort(s, ev.reason, ev.now) : reportOnly('ignored', 'abort of no session');
    default:
      return assertNever(ev, 'event');
  }
}

function onMessage(
  s: SessionState | undefined,
  from: string,
  m: SatpMessage,
  hash: string,
  now: number,
  cfg: GatewayConfig,
  proofs: readonly string[],
): Decision {
  // Recovery (recovery-04 §5.3): answered whatever the session's state, even ended or unknown.
  switch (m.messageType) {
    case RMSG.recover:
      return onRecover(s, from, m, hash, now, cfg);
    case RMSG.recoverUpdateAck:
      return onRecoverUpdateAck(s, from, m, hash, now, cfg);
    case RMSG.recoverUpdate:
      return s && !(hash in s.received)
        ? onRecoverUpdate(s, from, m, hash, now, cfg)
        : reportOnly('ignored', 'RECOVER-UPDATE already handled or for no session');
    case RMSG.recoverSuccess:
      return s && !(hash in s.received)
        ? onRecoverSuccess(s, from, m, hash, now, cfg)
        : reportOnly('ignored', 'RECOVER-SUCCESS already handled or for no session');
    case RMSG.recoverDispute:
      return onRecoverDispute(s, from, m, hash, now);
  }
  if (!s) return onMessageForNoSession(from, m, hash, now, cfg);
  if (from !== s.peer)
    return refuse(s, m, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  if (contextOf(m) !== s.contextId)
    return refuse(s, m, hash, now, mismatch(m.messageType, 'context'), 'transferContextId differs from the session');
  if (hash in s.received) return duplicate(s, m, hash, now);
  switch (m.messageType) {
    case RMSG.rollbackAck:
      return onRollbackAck(s, from, m, hash, now, cfg, proofs);
    case RMSG.rollback:
      return onRollback(s, from, m, hash, now, cfg, proofs);
    case MSG.error:
      return onError(s, from, m, hash, now);
    case MSG.sessionAbort:
      return onSessionAbort(s, from, m, hash, now);
  }
  if (s.status.kind === 'ended')
    return refuse(s, m, hash, now, mismatch(m.messageType, 'session'), `session ended: ${s.status.outcome}`);
  if (s.status.kind === 'rolling-back')
    return refuse(s, m, hash, now, mismatch(m.messageType, 'session'), 'session is rolling back');
  const expected = s.wait.kind === 'message' ? s.wait.types : [];
  // Destination assigned on burn evidence: the origin's commit-final is still to be answered.
  const late =
    s.role === 'destination' && s.committed && s.lastReceivedType !== MSG.commitFinal ? [MSG.commitFinal] : [];
  if (![...expected, ...late].includes(m.messageType))
    return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, `${m.messageType} is out of order`);
  // SATP core lists no hashPrevMessage for the proposal receipt: one without it is bound to the proposal by its
  // hashTransferInitClaim (checked by the origin); one with it must name the proposal, as every answer does.
  const unbound = m.messageType === MSG.proposalReceipt && m.hashPrevMessage === undefined;
  if (!unbound && (!('hashPrevMessage' in m) || m.hashPrevMessage !== s.lastSent?.hash))
    return refuse(
      s,
      m,
      hash,
      now,
      mismatch(m.messageType, 'prev'),
      'hashPrevMessage is not the hash of the last message sent',
    );
  return s.role === 'origin'
    ? originOnMessage(s, m, hash, now, cfg, proofs)
    : destinationOnMessage(s, m, hash, now, cfg, proofs);
}

function onMessageForNoSession(from: string, m: SatpMessage, hash: string, now: number, cfg: GatewayConfig): Decision {
  if (m.messageType === MSG.transferProposal) return acceptProposal(from, m, hash, now, cfg);
  if (!Object.hasOwn(cfg.peers, from))
    return refuse(undefined, m, hash, now, SATP_ERRORS.forbidden, `unknown gateway ${from}`, from);
  // A session this gateway never started has nothing to undo: acknowledge, so the peer can end.
  if (m.messageType === RMSG.rollback) {
    const ack = rollbackAck(m, hash, { actionsPerformed: [], proofs: [] });
    return { steps: [], effects: [{ kind: 'send', to: from, message: ack, logged: false }] };
  }
  if (m.messageType === MSG.error || m.messageType === MSG.sessionAbort || m.messageType === RMSG.rollbackAck)
    return reportOnly('ignored', `${m.messageType} for an unknown session`);
  return refuse(undefined, m, hash, now, mismatch(m.messageType, 'session'), `unknown session ${m.sessionId}`, from);
}

/**
 * A message already accepted: the same answer as the first time, nothing changed. Only the latest message of
 * the peer's is answered again (its answer may have been lost): an older one was answered already, as the
 * peer's later message proves, so replaying it cannot make the two gateways replay their conversation.
 */
function duplicate(s: SessionState, m: SatpMessage, hash: string, now: number): Decision {
  if (hash !== s.lastReceived) return reportOnly('ignored', 'a stale duplicate: the peer has moved on since');
  const answer = s.received[hash];
  if (!answer) return reportOnly('ignored', 'duplicate still being answered');
  // A session that rolled back (or is rolling back) does not answer with a step forward any more: the peer gets a
  // refusal instead, which before its point of no return makes it roll back too.
  if (rolledBackOrRollingBack(s) && isTransferMessage(answer.message.messageType)) {
    return refuse(s, m, hash, now, mismatch(m.messageType, 'session'), 'the session rolled back');
  }
  return { steps: [], effects: [{ kind: 'send', to: answer.to, message: answer.message, logged: true }] };
}

/**
 * Whether `hash` names a message of this session's conversation that the peer knows: one this gateway sent, else one it
 * accepted.
 */
const inConversation = (s: SessionState, hash: string): boolean =>
  isTransferMessage(s.sent[hash]) || hash in s.received;

function onRollbackAck(
  s: SessionState,
  from: string,
  m: RecoveryOf<typeof RMSG.rollbackAck>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
  proofs: readonly string[],
): Decision {
  if (isEnded(s) || s.lastSent?.message.messageType !== RMSG.rollback || m.hashRollbackMessage !== s.lastSent.hash)
    return reportOnly('ignored', 'ROLLBACK-ACK for no pending ROLLBACK');
  const problem = compensationProblem(s, cfg.peers[from]?.networkId ?? '', m.actionsPerformed, m.proofs, proofs);
  if (problem)
    return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.badSignature, `ROLLBACK-ACK refused: ${problem}`);
  const reason = rollingBack(s)?.reason ?? 'rolled back';
  return {
    steps: [receive('rollback', now, from, m as SatpMessage, hash), end(now, 'rolled-back', reason)],
    effects: [{ kind: 'report', report: { kind: 'ended', outcome: 'rolled-back', reason } }],
  };
}

/**
 * The peer rolled back (recovery-04 §5.3.4). Bound to this session's conversation (hashPrevMessage), with
 * proofs of the peer's compensations (every proof verified, and the ones this gateway knows the peer owes
 * present). Past the point of no return the peer's word is not enough: the origin that burned refuses it; the
 * destination that promised accepts it only with the origin ledger's receipt of the unlock of this session's
 * lock, after which the burn (bound to that lock) can never happen.
 */
function onRollback(
  s: SessionState,
  from: string,
  m: RecoveryOf<typeof RMSG.rollback>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
  proofs: readonly string[],
): Decision {
  if (isEnded(s)) {
    if (outcomeOf(s) === 'committed') return reportOnly('needs-operator', 'ROLLBACK after the session committed');
    // Ended rolled back before the peer's ROLLBACK arrived: acknowledge from the state, unlogged.
    const ack = rollbackAck(s, hash, rollbackActions(s));
    return { steps: [], effects: [{ kind: 'send', to: from, message: ack, logged: false }] };
  }
  if (!inConversation(s, m.hashPrevMessage))
    return refuse(
      s,
      m as SatpMessage,
      hash,
      now,
      SATP_ERRORS.invalidMessageType,
      'ROLLBACK names no message of this session',
    );
  const problem = compensationProblem(s, cfg.peers[from]?.networkId ?? '', m.actionsPerformed, m.proofs, proofs);
  if (problem) return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.badSignature, `ROLLBACK refused: ${problem}`);
  if (pastNoReturn(s) && (s.role === 'origin' || !m.actionsPerformed.includes('UNLOCK'))) {
    return refuse(
      s,
      m as SatpMessage,
      hash,
      now,
      SATP_ERRORS.invalidMessageType,
      'ROLLBACK past the point of no return without the ledger evidence that the burn cannot happen',
    );
  }
  return andThen(s, { steps: [receive('rollback', now, from, m as SatpMessage, hash)], effects: [] }, (r) =>
    rollingBack(s) ? continueRollback(r, now) : startRollback(r, now, `peer rolled back: ${m.reason}`, false),
  );
}

function onError(
  s: SessionState,
  from: string,
  m: Extract<SatpMessage, { messageType: typeof MSG.error }>,
  hash: string,
  now: number,
): Decision {
  // Act only on an error about a transfer message this gateway sent: a refusal of someone else's (forged)
  // message, or of a recovery message, is not ours to act on.
  if (!isTransferMessage(s.sent[m.hashPrevMessage]))
    return reportOnly('ignored', 'error-msg about no transfer message this gateway sent');
  if (isEnded(s)) return reportOnly('ignored', `peer error after the session ended: ${m.title}`);
  // A rollback under way was decided on the ledgers' evidence (or before the point of no return): an error
  // adds nothing to it, wherever the session stood.
  if (rollingBack(s)) return reportOnly('ignored', 'already rolling back');
  // Past the point of no return an error cannot undo anything: only the ledgers' evidence decides. A destination
  // that promised but holds no burn evidence yet gets that evidence without anyone's help: the origin's ROLLBACK
  // carries its unlock receipt, else the origin ledger attests at the deadline (an origin refuses a commit-ready
  // that arrives after its lock lapsed). A gateway that has committed has the evidence already, and a refusal
  // then contradicts it: that is for an operator.
  if (s.role === 'destination' && s.promised && !s.committed)
    return reportOnly('ignored', `peer error after the promise, left to the origin ledger's evidence: ${m.title}`);
  if (pastNoReturn(s)) return reportOnly('needs-operator', `peer error after the point of no return: ${m.title}`);
  return andThen(s, { steps: [receive('error', now, from, m, hash)], effects: [] }, (r) =>
    startRollback(r, now, `peer error ${m.type.split(':').pop()}: ${m.title}`, true),
  );
}

function onSessionAbort(
  s: SessionState,
  from: string,
  m: Extract<SatpMessage, { messageType: typeof MSG.sessionAbort }>,
  hash: string,
  now: number,
): Decision {
  if (s.status.kind !== 'running')
    return reportOnly('ignored', 'session-abort after the session ended or while rolling back');
  if (!inConversation(s, m.hashPrevMessage))
    return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, 'session-abort names no message of this session');
  // SATP core §9.6: an abort is effective only before the point of no return.
  if (pastNoReturn(s))
    return refuse(
      s,
      m,
      hash,
      now,
      SATP_ERRORS.invalidMessageType,
      'session-abort past the point of no return is not effective',
    );
  return andThen(s, { steps: [receive('abort', now, from, m, hash)], effects: [] }, (r) =>
    startRollback(r, now, `peer aborted: ${m.reason ?? 'no reason'}`, false),
  );
}

function onStoreResult(
  s: SessionState | undefined,
  about: About,
  result: StoreResult,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (about.message.messageType === RMSG.recover) return onRecoverPage(s, about, result, now);
  if (about.message.messageType === RMSG.recoverUpdate && s) return onCopyUpdated(s, about, result, now, cfg);
  return reportOnly('ignored', 'store result for nothing pending');
}

/** A ledger answer for the pending op: it must verify under this gateway's ledger key and answer exactly that op. */
function onLedgerReceipt(
  s: SessionState,
  opId: string,
  receipt: LedgerReceipt,
  verified: boolean,
  now: number,
  cfg: GatewayConfig,
): Decision {
  const pending = s.pending;
  if (!pending || pending.op.opId !== opId) return reportOnly('ignored', `receipt for ${opId}, not pending`);
  if (!verified || !receiptMatchesOp(receipt, pending.op)) {
    // Not an answer this gateway can rely on: settle by status(opId) later, as after a lost answer.
    return {
      steps: [],
      effects: [
        {
          kind: 'report',
          report: {
            kind: 'needs-operator',
            detail: `the ledger's receipt for ${opId} does not verify under its key or answers another op`,
          },
        },
        { kind: 'set-timer', timer: 'ledger-retry', at: now + cfg.retransmitMs },
      ],
    };
  }
  const { op, purpose, step } = pending;
  const logged = receipt.ok
    ? ledgerDone(step, now, op, purpose, receipt)
    : ledgerFailed(step, now, op, purpose, `${receipt.error?.code}: ${receipt.error?.message}`, receipt);
  return andThen(s, { steps: [logged], effects: [] }, (after) => {
    // A compensation is only ever executed while rolling back (a session leaves that state by ending, which clears
    // the pending op, or by a dispute, which freezes it); a forward op settled during a rollback (a burn refused
    // leaves the lock) goes on with the rollback too.
    if (rollingBack(after)) return continueRollback(after, now);
    return s.role === 'origin'
      ? originAfterLedger(after, op, receipt, now)
      : destinationAfterLedger(after, op, receipt, now);
  });
}

function onTimer(s: SessionState, timer: TimerName, now: number, cfg: GatewayConfig, attempt: number): Decision {
  if (isEnded(s)) return reportOnly('ignored', `${timer} after the end`);
  switch (timer) {
    case 'recover': {
      const last = s.recovery?.status === 'recovering' ? s.recovery.last : undefined;
      if (!last) return reportOnly('ignored', 'not recovering');
      // A RECOVER unanswered is resent as it is. An ACK unanswered starts the handshake over with a fresh RECOVER:
      // the ACK or its answer was lost, or the peer cannot bind it any more (it answered the RECOVER before it had
      // the session, unlogged); a new round binds every message again. So does a RECOVER sent ahead of a page that
      // was not applied: it names more of the peer's chain than the copy holds. Either way the next wait is longer.
      const next = attempt + 1;
      if (last.messageType === RMSG.recoverUpdateAck || askedPastCopy(s)) return recover(s, now, cfg, next);
      return {
        steps: [],
        effects: [
          { kind: 'send', to: s.peer, message: last as SatpMessage, logged: true },
          { kind: 'set-timer', timer: 'recover', at: recoverResendAt(now, cfg, next), attempt: next },
        ],
      };
    }
    case 'retransmit':
      if (s.wait.kind !== 'message' || !s.lastSent) return reportOnly('ignored', 'nothing to retransmit');
      return {
        steps: [],
        effects: [
          { kind: 'send', to: s.lastSent.to, message: s.lastSent.message, logged: true },
          { kind: 'set-timer', timer: 'retransmit', at: now + cfg.retransmitMs },
        ],
      };
    case 'ledger-retry':
      return s.pending
        ? { steps: [], effects: [{ kind: 'ledger-query', opId: s.pending.op.opId }] }
        : reportOnly('ignored', 'no pending op');
    case 'deadline':
      return onDeadline(s, now);
  }
}

/**
 * The deadline passed by this gateway's clock (recovery-04 §5.2.2: otherwise the rollback protocol applies).
 * Before the point of no return the gateway may roll back on its own: the origin has not burned, and the
 * destination has not promised. Past it (the destination promised), only the origin ledger can say whether the
 * burn happened or never can, by its own clock: the destination asks it for an attestation and decides on that.
 */
function onDeadline(s: SessionState, now: number): Decision {
  if (!deadlineApplies(s)) return reportOnly('ignored', 'deadline after the point of no return or during rollback');
  if (!pastNoReturn(s)) {
    const why =
      s.lockExpiry === undefined
        ? 'no lock within the lock time'
        : s.role === 'origin'
          ? 'lock expired before the burn'
          : 'lock expired before commit';
    return startRollback(s, now, why, true);
  }
  return {
    steps: [],
    effects: [{ kind: 'ledger-attest', peer: s.peer, assetId: assetOf(s), opIds: [burnOpId(s.sessionId)] }],
  };
}

function onAttestation(
  s: SessionState,
  a: LedgerAttestation | undefined,
  verified: boolean,
  error: string | undefined,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (s.role !== 'destination' || !deadlineApplies(s) || !s.promised)
    return reportOnly('ignored', 'attestation not needed');
  const later = (detail: string, at = now + cfg.retransmitMs): Decision => ({
    steps: [],
    effects: [
      { kind: 'report', report: { kind: 'ignored', detail } },
      { kind: 'set-timer', timer: 'deadline', at },
    ],
  });
  // No answer is no evidence: ask again, never read it as "no burn".
  if (!a) return later(`the origin ledger did not attest: ${error ?? 'no answer'}`);
  const v = judgeAttestation(s, a, verified, cfg.peers[s.peer]?.networkId ?? '');
  switch (v.kind) {
    case 'invalid':
      return later(`attestation refused: ${v.detail}`);
    case 'wait':
      // The lock still holds by the ledger's own clock: ask again once it has lapsed there.
      return later(
        `the lock holds until ${v.lockExpiresAt} by the origin ledger's clock (${v.ledgerTime})`,
        now + Math.max(cfg.retransmitMs, v.lockExpiresAt - v.ledgerTime),
      );
    case 'operator':
      return reportOnly('needs-operator', `past the deadline: ${v.detail}`);
    case 'burned':
      return andThen(s, { steps: [burnEvidence(now, true, a)], effects: [] }, (after) =>
        after.pending ? NONE : assign(after, now),
      );
    case 'never':
      return andThen(s, { steps: [burnEvidence(now, false, a)], effects: [] }, (after) =>
        startRollback(after, now, `the origin did not burn, and never can: ${v.why}`, true),
      );
  }
}

function onAbort(s: SessionState, reason: string, now: number): Decision {
  if (s.status.kind !== 'running') return reportOnly('ignored', 'abort: the session has ended or is rolling back');
  // SATP core §9.6: an abort is effective only before the point of no return.
  if (pastNoReturn(s))
    return reportOnly('needs-operator', 'abort is no longer effective: the transfer can only go forward');
  return startRollback(s, now, `aborted: ${reason}`, true);
}

/**
 * When the session's deadline falls, by this gateway's clock: the lock's expiry (plus grace at the destination), or the
 * time allowed to reach the lock.
 */
export function deadlineOf(s: SessionState, cfg: GatewayConfig): number {
  if (s.lockExpiry !== undefined) return s.role === 'origin' ? s.lockExpiry : s.lockExpiry + cfg.deadlineGraceMs;
  const lockSeconds = s.transfer?.lockSeconds ?? s.claim?.assetLockExpirationTime ?? 0;
  return s.startedAt + lockSeconds * 1000 + cfg.deadlineGraceMs;
}

/**
 * After a restart (replayed state): settle an unsettled ledger call, re-arm the deadline, go on with a
 * rollback's local compensations, and send RECOVER (recovery-04 §5.1); messaging resumes at RECOVER-SUCCESS.
 */
function onBoot(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s)) return NONE;
  const effects: Decision['effects'] = [];
  if (s.pending) effects.push({ kind: 'ledger-query', opId: s.pending.op.opId });
  if (deadlineApplies(s)) effects.push({ kind: 'set-timer', timer: 'deadline', at: deadlineOf(s, cfg) });
  // continueRollback does nothing for a session not rolling back, one with a ledger call to settle first (the query
  // above), or one whose ROLLBACK is already out (the recovery resends it).
  const local = continueRollback(s, now);
  return andThen(s, { steps: local.steps, effects: [...effects, ...local.effects] }, (after) =>
    isEnded(after) ? NONE : recover(after, now, cfg),
  );
}

/**
 * The chain was reloaded from the store mid-run (an append of unknown outcome had landed, its effects unrun):
 * do what those effects would have done. Settle the pending ledger call, re-arm the deadline, resend what
 * awaits an answer or go on with a rollback; a recovery in progress resends its last message.
 */
function onReload(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s)) return NONE;
  const effects: Decision['effects'] = [];
  if (s.pending) effects.push({ kind: 'ledger-query', opId: s.pending.op.opId });
  if (deadlineApplies(s)) effects.push({ kind: 'set-timer', timer: 'deadline', at: deadlineOf(s, cfg) });
  if (s.recovery?.status === 'recovering') effects.push({ kind: 'set-timer', timer: 'recover', at: now });
  const rest = s.recovery?.status === 'recovering' ? NONE : resume(s, now, cfg);
  return { steps: rest.steps, effects: [...effects, ...rest.effects] };
}

export { resume };
