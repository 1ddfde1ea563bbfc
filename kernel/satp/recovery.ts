// Self-healing (recovery-04 §5.1, §5.3): RECOVER → RECOVER-UPDATE → RECOVER-UPDATE-ACK → RECOVER-SUCCESS, or RECOVER-DISPUTE.
import { type ChainHead, type EntryStep, type LogEntry } from '../entry.ts';
import type { Json } from '../json.ts';
import type { Decision, GatewayConfig, RecoveryContext } from './effects.ts';
import { messageHash, type SatpMessage } from './messages.ts';
import type { Payload } from './payloads.ts';
import { RECOVER_PAGE, RMSG, type RecoveryMessage, type RecoveryOf, shortType } from './recovery-messages.ts';
import { continueRollback, startRollback } from './rollback.ts';
import { isEnded, type SessionState } from './state.ts';
import { andThen } from './compose.ts';

const base = (sessionId: string, contextId: string) => ({ version: '1.0' as const, sessionId, contextId });
const ignore = (detail: string): Decision => ({ steps: [], effects: [{ kind: 'report', report: { kind: 'ignored', detail } }] });

function entry(now: number, operation: 'exec' | 'ack' | 'fail', payload: Payload, recoveryMessage: string, recoveryPayload: Json): EntryStep {
  return { phase: 'recovery', step: 'recovery', operation, actionResponse: recoveryMessage, payload: payload as unknown as Json, timestamp: now, recoveryMessage, recoveryPayload };
}

/** Sends a recovery message: logged (exec, with §4's recovery fields) while the session is live, unlogged once it ended. */
function sendRecovery(s: SessionState | undefined, to: string, now: number, message: RecoveryMessage, entryHashes?: string[]): Decision {
  const hash = messageHash(message as SatpMessage);
  const effects: Decision['effects'] = [{ kind: 'send', to, message: message as SatpMessage, logged: !!s && !isEnded(s) }];
  if (!s || isEnded(s) || s.disputed) return { steps: [], effects };
  const small = message.messageType === RMSG.recoverUpdate ? undefined : message;
  const payload: Payload = { kind: 'recovery-send', to, messageType: message.messageType, hash, ...(small ? { message: small } : {}), ...(entryHashes ? { entryHashes } : {}) };
  return { steps: [entry(now, 'exec', payload, shortType(message.messageType), { hash, ...(entryHashes ? { entries: entryHashes.length } : {}) })], effects };
}

const received = (now: number, from: string, m: RecoveryMessage, hash: string, extra: Partial<Extract<Payload, { kind: 'recovery-receive' }>> = {}): EntryStep =>
  entry(now, 'ack', { kind: 'recovery-receive', from, messageType: m.messageType, hash, ...extra }, shortType(m.messageType), { hash, ...(extra.appended ? { appended: extra.appended } : {}) });

/** At boot: ask the peer for what this gateway lacks (§5.1 step 1). */
export function recover(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  const m: RecoveryOf<typeof RMSG.recover> = {
    ...base(s.sessionId, s.contextId),
    messageType: RMSG.recover,
    phase: s.phase,
    seqNumber: s.head.seq,
    lastEntryHash: s.head.hash,
    peerSeqNumber: s.peerCopy.seq,
    peerLastEntryHash: s.peerCopy.hash,
    lastEntryTimestamp: s.lastTimestamp,
    isBackup: false,
  };
  const d = sendRecovery(s, s.peer, now, m);
  return { steps: d.steps, effects: [...d.effects, { kind: 'set-timer', timer: 'recover', at: now + cfg.retransmitMs }] };
}

/** The counterparty's side of RECOVER: the entries of its chain after the sender's view (getLogDiff), or a dispute. */
export function onRecover(s: SessionState | undefined, from: string, m: RecoveryOf<typeof RMSG.recover>, hash: string, now: number, ctx: RecoveryContext | undefined): Decision {
  if (s && from !== s.peer) return ignore(`RECOVER from ${from}, not the peer`);
  if (ctx?.kind !== 'diff') return ignore('RECOVER without a diff');
  const diff = ctx.diff;
  if (diff.kind !== 'extends') {
    const detail = diff.kind === 'diverged' ? `your copy of my chain differs at seq ${diff.seq}` : `your copy of my chain is longer than my chain (${diff.length})`;
    return dispute(s, from, now, hash, m.sessionId, m.contextId, diff.kind === 'diverged' ? { seq: diff.seq, ours: diff.ours, theirs: diff.theirs } : { seq: m.peerSeqNumber }, detail);
  }
  const update: RecoveryOf<typeof RMSG.recoverUpdate> = {
    ...base(m.sessionId, m.contextId),
    messageType: RMSG.recoverUpdate,
    hashRecoverMessage: hash,
    recoveredLogs: diff.entries as unknown as Json[],
    more: diff.more,
  };
  const ack = s && !isEnded(s) && !s.disputed ? [received(now, from, m, hash)] : [];
  const d = sendRecovery(s, from, now, update, diff.entries.map((e) => e.entryHash));
  return { steps: [...ack, ...d.steps], effects: d.effects };
}

/** The recovered gateway: the driver verified the entries and appended them to its copy of the peer's chain. */
export function onRecoverUpdate(s: SessionState, from: string, m: RecoveryOf<typeof RMSG.recoverUpdate>, hash: string, now: number, ctx: RecoveryContext | undefined, cfg: GatewayConfig): Decision {
  if (s.recovery?.status !== 'recovering' || m.hashRecoverMessage !== s.recovery.recoverHash) return ignore('RECOVER-UPDATE for no pending RECOVER');
  if (ctx?.kind !== 'update') return ignore('RECOVER-UPDATE without its verification');
  if (!ctx.ok) {
    if (isEnded(s)) return ignore(`RECOVER-UPDATE for an ended session does not verify: ${ctx.code}`);
    return dispute(s, from, now, hash, s.sessionId, s.contextId, { ...(ctx.seq !== undefined ? { seq: ctx.seq } : {}), ...(ctx.ours ? { ours: ctx.ours } : {}), ...(ctx.theirs ? { theirs: ctx.theirs } : {}) }, `${ctx.code}: ${ctx.detail}`);
  }
  const appended = ctx.appended.map((e) => e.entryHash);
  const ack: RecoveryOf<typeof RMSG.recoverUpdateAck> = { ...base(s.sessionId, s.contextId), messageType: RMSG.recoverUpdateAck, hashRecoverUpdateMessage: hash, success: true, entriesChanged: appended };
  // The session ended while its RECOVER was under way (the peer's resent ROLLBACK, say): nothing is left to
  // resume, but the peer's update is answered, unlogged like every recovery answer of an ended session.
  if (isEnded(s)) return sendRecovery(s, from, now, ack);
  const peerRolledBack = ctx.appended.some(rolledBackEntry);
  const logged = received(now, from, m, hash, { appended, peerHead: ctx.head, ...(peerRolledBack ? { peerRolledBack } : {}) });
  return andThen(s, { steps: [logged], effects: [{ kind: 'clear-timer', timer: 'recover' }] }, (after) => {
    // More than one page: ask again from the new view (the next RECOVER carries it).
    if (m.more) return recover(after, now, cfg);
    // Resent until RECOVER-SUCCESS arrives: a lost ACK, or a peer that crashed before answering it, would
    // otherwise leave this session recovering forever (the peer answers a duplicate ACK from its log).
    const d = sendRecovery(after, from, now, ack);
    return { steps: d.steps, effects: [...d.effects, { kind: 'set-timer', timer: 'recover', at: now + cfg.retransmitMs }] };
  });
}

/** The counterparty confirms the recovered gateway is in sync (§5.1 step 3). */
export function onRecoverUpdateAck(s: SessionState | undefined, from: string, m: RecoveryOf<typeof RMSG.recoverUpdateAck>, hash: string, now: number): Decision {
  if (s && from !== s.peer) return ignore(`RECOVER-UPDATE-ACK from ${from}, not the peer`);
  const success: RecoveryOf<typeof RMSG.recoverSuccess> = { ...base(m.sessionId, m.contextId), messageType: RMSG.recoverSuccess, hashRecoverUpdateAckMessage: hash, success: m.success };
  const ack = s && !isEnded(s) && !s.disputed ? [received(now, from, m, hash)] : [];
  const d = sendRecovery(s, from, now, success);
  return { steps: [...ack, ...d.steps], effects: d.effects };
}

/** Recovered and in sync: resume where the transfer stood, or roll back if the peer did (§5.4.3). */
export function onRecoverSuccess(s: SessionState, from: string, m: RecoveryOf<typeof RMSG.recoverSuccess>, hash: string, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s) || s.recovery?.status !== 'recovering') return ignore('RECOVER-SUCCESS while not recovering');
  return andThen(s, { steps: [received(now, from, m, hash)], effects: [{ kind: 'clear-timer', timer: 'recover' }] }, (after) => {
    if (after.peerRolledBack && !after.committed && !after.rollingBack && !isEnded(after)) return startRollback(after, now, 'the peer rolled back while this gateway was down', false);
    return resume(after, now, cfg);
  });
}

/** Resend what is unanswered (duplicates are no-ops at the receiver), or go on with a rollback. */
export function resume(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  if (isEnded(s)) return { steps: [], effects: [] };
  if (s.rollingBack && !s.pendingOp && s.wait.kind !== 'message') return continueRollback(s, now);
  if (s.wait.kind === 'message' && s.lastSent) {
    return { steps: [], effects: [{ kind: 'send', to: s.lastSent.to, message: s.lastSent.message, logged: true }, { kind: 'set-timer', timer: 'retransmit', at: now + cfg.retransmitMs }] };
  }
  return { steps: [], effects: [] };
}

export function onRecoverDispute(s: SessionState | undefined, from: string, m: RecoveryOf<typeof RMSG.recoverDispute>, now: number): Decision {
  if (!s || from !== s.peer) return ignore('RECOVER-DISPUTE for no session of this peer');
  if (s.disputed) return ignore('already disputed');
  const steps = isEnded(s) ? [] : [entry(now, 'fail', { kind: 'dispute', detail: `peer disputes: ${m.detail}`, seq: m.seqNumber, ...(m.ours ? { ours: m.ours } : {}), ...(m.theirs ? { theirs: m.theirs } : {}) }, 'recover-dispute-msg', { detail: m.detail })];
  return { steps, effects: [{ kind: 'clear-timer', timer: 'retransmit' }, { kind: 'clear-timer', timer: 'recover' }, { kind: 'report', report: { kind: 'needs-operator', detail: `dispute raised by the peer: ${m.detail}` } }] };
}

function dispute(s: SessionState | undefined, to: string, now: number, hashPrev: string, sessionId: string, contextId: string, at: { seq?: number; ours?: string; theirs?: string }, detail: string): Decision {
  const msg: RecoveryOf<typeof RMSG.recoverDispute> = { ...base(sessionId, contextId), messageType: RMSG.recoverDispute, hashPrevMessage: hashPrev, seqNumber: at.seq ?? 0, ...(at.ours ? { ours: at.ours } : {}), ...(at.theirs ? { theirs: at.theirs } : {}), detail: detail.slice(0, 1024) };
  const steps = s && !isEnded(s) && !s.disputed ? [entry(now, 'fail', { kind: 'dispute', detail, ...at }, 'recover-dispute-msg', { detail })] : [];
  return {
    steps,
    effects: [
      { kind: 'send', to, message: msg as SatpMessage, logged: steps.length > 0 },
      { kind: 'clear-timer', timer: 'retransmit' },
      { kind: 'clear-timer', timer: 'recover' },
      { kind: 'report', report: { kind: 'needs-operator', detail: `dispute: ${detail}` } },
    ],
  };
}

/** A peer entry that shows it decided to roll back or ended rolled back. */
function rolledBackEntry(e: LogEntry): boolean {
  const p = e.payload as { kind?: string; outcome?: string };
  return p?.kind === 'rollback' || (p?.kind === 'end' && p.outcome === 'rolled-back');
}

export const isPeerHead = (h: ChainHead | undefined): h is ChainHead => h !== undefined;
