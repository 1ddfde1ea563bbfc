// Rollback (recovery-04 §5.2.3, §5.4.3): compensate what the rollback list owes, tell the peer, end.
import type { Decision } from './effects.ts';
import { SATP_VERSION, type SatpMessage } from './messages.ts';
import { RMSG, type RecoveryOf } from './recovery-messages.ts';
import type { EntryStep } from '../entry.ts';
import type { Json } from '../json.ts';
import type { LedgerReceipt } from '../ledger.ts';
import { replyTo, sendToPeer } from './compose.ts';
import { type Compensation, rollingBack, type SessionState, toRollingBack } from './state.ts';
import { end, ledger, rollbackDecision, send } from './steps.ts';
import { GENESIS_HASH } from '../entry.ts';
import { assetOf, CLAIM_MESSAGE, type ClaimedKind } from './claims.ts';
import { compensationOp } from './ops.ts';

/**
 * Sends the claim of this gateway's own applied forward operation, in the message the table says carries it
 * (`extra`: that message's other fields).
 */
export function sendClaim(
  s: SessionState,
  now: number,
  kind: ClaimedKind,
  receipt: LedgerReceipt,
  extra: Record<string, Json> = {},
): Decision {
  const c = CLAIM_MESSAGE[kind];
  const m = {
    ...replyTo(s),
    messageType: c.messageType,
    [c.formatField]: c.format,
    [c.claimField]: { receipt } as unknown as Json,
    ...extra,
  };
  return sendToPeer(s, c.step, now, m as SatpMessage);
}

/**
 * After this gateway's own forward ledger call: an applied receipt goes to the peer as its claim; a refused one
 * ends the forward path, and the peer is told by the ROLLBACK.
 */
export function claimOrRollBack(
  s: SessionState,
  now: number,
  kind: ClaimedKind,
  receipt: LedgerReceipt,
  extra?: Record<string, Json>,
): Decision {
  if (!receipt.ok) return startRollback(s, now, `${kind} refused: ${receipt.error?.code ?? 'unknown'}`, true);
  return sendClaim(s, now, kind, receipt, extra);
}

/** Decide to roll back: logged first, so a crash in the middle resumes the rollback, never the transfer. */
export function startRollback(s: SessionState, now: number, reason: string, notify: boolean): Decision {
  const decided = rollbackDecision(now, reason, notify);
  const rest = continueRollback({ ...s, status: toRollingBack(s, reason, notify) }, now);
  return { steps: [decided, ...rest.steps], effects: rest.effects };
}

/**
 * The next rollback step from wherever the rollback stands: wait for an unsettled ledger call, else
 * compensate the next item (origin UNLOCK, destination BURN), else notify the peer and end.
 */
export function continueRollback(s: SessionState, now: number): Decision {
  const rb = rollingBack(s);
  if (!rb) return { steps: [], effects: [] };
  if (s.pending) return { steps: [], effects: [] }; // settle first; its result brings us back here
  const owed: Compensation | undefined =
    s.role === 'origin'
      ? s.rollbackList.includes('UNLOCK')
        ? 'UNLOCK'
        : undefined
      : s.rollbackList.includes('BURN')
        ? 'BURN'
        : undefined;
  if (owed) {
    const op = compensationOp(s.sessionId, assetOf(s), owed);
    return { steps: ledger('rollback', now, op, 'rollback'), effects: [{ kind: 'ledger-execute', op }] };
  }
  const actions = rollbackActions(s);
  // Answer the peer's ROLLBACK (recovery-04 §5.3.5) with what this side undid, and end.
  if (rb.ackTo) {
    const ack = rollbackAck(s, rb.ackTo, actions);
    return finish(
      [...send('rollback', now, s.peer, ack, rb.ackTo)],
      [{ kind: 'send', to: s.peer, message: ack, logged: true }],
      now,
      rb.reason,
    );
  }
  // Tell the peer (§5.3.4) and end when it acknowledges (its ROLLBACK-ACK, or its own ROLLBACK).
  if (rb.notify && s.peer) {
    if (s.lastSent?.message.messageType === RMSG.rollback) return { steps: [], effects: [] };
    const msg: RecoveryOf<typeof RMSG.rollback> = {
      version: SATP_VERSION,
      sessionId: s.sessionId,
      contextId: s.contextId,
      messageType: RMSG.rollback,
      hashPrevMessage: conversationAnchor(s),
      success: true,
      ...actions,
      reason: rb.reason.slice(0, 512),
    };
    return {
      steps: send('rollback', now, s.peer, msg as SatpMessage),
      effects: [{ kind: 'send', to: s.peer, message: msg as SatpMessage, logged: true }],
    };
  }
  return finish([], [], now, rb.reason);
}

/**
 * What a ROLLBACK names as its previous message: one the peer surely logged. The last transfer message accepted
 * from the peer that its sender logged (an error-msg or session-abort may be an unlogged refusal), else this
 * gateway's own last message, which the peer accepted if it has the session at all.
 */
function conversationAnchor(s: SessionState): string {
  return s.lastPeerMessage ?? s.lastSent?.hash ?? s.lastReceived ?? GENESIS_HASH;
}

function finish(steps: EntryStep[], effects: Decision['effects'], now: number, reason: string): Decision {
  return {
    steps: [...steps, end(now, 'rolled-back', reason)],
    effects: [...effects, { kind: 'report', report: { kind: 'ended', outcome: 'rolled-back', reason } }],
  };
}

/**
 * The one ROLLBACK-ACK (recovery-04 §5.3.5): names the ROLLBACK it answers and lists what this side undid, with
 * the receipts that prove it. Always `success: true`: a side that could not roll back does not acknowledge.
 */
export function rollbackAck(
  ids: { sessionId: string; contextId: string },
  hashRollbackMessage: string,
  actions: { actionsPerformed: Compensation[]; proofs: Json[] },
): SatpMessage {
  const ack: RecoveryOf<typeof RMSG.rollbackAck> = {
    version: SATP_VERSION,
    sessionId: ids.sessionId,
    contextId: ids.contextId,
    messageType: RMSG.rollbackAck,
    hashRollbackMessage,
    success: true,
    ...actions,
  };
  return ack as SatpMessage;
}

/** The compensations this gateway performed and their ledger receipts, for ROLLBACK and ROLLBACK-ACK. */
export function rollbackActions(s: SessionState): { actionsPerformed: Compensation[]; proofs: Json[] } {
  return {
    actionsPerformed: s.compensations.map((r) => (r.kind === 'unlock' ? 'UNLOCK' : 'BURN')),
    proofs: s.compensations as unknown as Json[],
  };
}
