// Self-healing (recovery-04 §5.1, §5.3): RECOVER → RECOVER-UPDATE → RECOVER-UPDATE-ACK → RECOVER-SUCCESS, or
// RECOVER-DISPUTE.
//
// Every recovery message is bound to what it answers: its sender must be the session's peer, RECOVER-UPDATE
// names the pending RECOVER, RECOVER-UPDATE-ACK a RECOVER-UPDATE this gateway sent, RECOVER-SUCCESS the ACK
// this gateway sent last, RECOVER-DISPUTE one of this gateway's recovery messages. Store work (reading a page
// of this gateway's chain, updating its copy of the peer's chain) is asked for as a `store` effect and decided
// on when its result comes back, so nothing reaches a store before the message was accepted.
import { sameKey } from '../crypto/types.ts';
import type { ChainHead, EntryStep } from '../entry.ts';
import { HASH_PATTERN as HASH, sha256HexOfText } from '../hash.ts';
import { canonicalJson, type Json } from '../json.ts';
import type { About, Decision, Effect, GatewayConfig, StoreResult } from './effects.ts';
import { messageHash, type SatpMessage } from './messages.ts';
import type { Payload } from './payloads.ts';
import {
  ENDED_PAGE_CHARS,
  RECOVER_PAGE_CHARS,
  RMSG,
  type RecoveryMessage,
  type RecoveryOf,
  shortType,
} from './recovery-messages.ts';
import { continueRollback, startRollback } from './rollback.ts';
import { deadlineApplies, isEnded, rollingBack, type SessionState } from './state.ts';
import { andThen, reportOnly } from './compose.ts';
import { refuse } from './refuse.ts';
import { SATP_ERRORS } from './error-codes.ts';

const base = (sessionId: string, contextId: string) => ({ version: '1.0' as const, sessionId, contextId });
const ignore = (detail: string): Decision => reportOnly('ignored', detail);
const live = (s: SessionState | undefined): s is SessionState =>
  s?.status.kind === 'running' || s?.status.kind === 'rolling-back';

function entry(
  now: number,
  operation: 'exec' | 'ack' | 'fail',
  payload: Payload,
  recoveryMessage: string,
  recoveryPayload: Json,
): EntryStep {
  return {
    phase: 'recovery',
    step: 'recovery',
    operation,
    actionResponse: recoveryMessage,
    payload: payload as unknown as Json,
    timestamp: now,
    recoveryMessage,
    recoveryPayload,
  };
}

/** How many times the resend interval of one recovery exchange doubles at most: up to 16 times the first. */
export const RECOVER_BACKOFF_DOUBLINGS = 4;

/**
 * When to resend a recovery message unanswered `attempt` times in a row. Each resend costs the peer a page read
 * and a logged answer, so a fixed interval shorter than the round trip (a loaded peer, a slow network) would feed
 * the load that delays the answers: the interval doubles instead.
 */
export function recoverResendAt(now: number, cfg: GatewayConfig, attempt: number): number {
  return now + cfg.retransmitMs * 2 ** Math.min(attempt, RECOVER_BACKOFF_DOUBLINGS);
}

/**
 * Sends a recovery message that must be answered, and arms the timer that resends it (or starts over) until then;
 * `attempt` counts the exchange's unanswered tries before this one.
 */
function sendAwaitingAnswer(
  s: SessionState,
  to: string,
  now: number,
  cfg: GatewayConfig,
  message: RecoveryMessage,
  attempt = 0,
): Decision {
  const d = sendRecovery(s, to, now, message);
  return {
    steps: d.steps,
    effects: [
      ...d.effects,
      { kind: 'set-timer', timer: 'recover', at: recoverResendAt(now, cfg, attempt), ...(attempt ? { attempt } : {}) },
    ],
  };
}

/**
 * Sends a recovery message: logged (exec, with §4's recovery fields) while the session is live, unlogged once it
 * ended.
 */
function sendRecovery(
  s: SessionState | undefined,
  to: string,
  now: number,
  message: RecoveryMessage,
  entryHashes?: string[],
): Decision {
  // Canonicalized once: the hash here, and for a page (whose text is large) the signed payload when the driver seals
  // it.
  const canonical = canonicalJson(message as unknown as Json);
  const hash = sha256HexOfText(canonical);
  const page = message.messageType === RMSG.recoverUpdate;
  const send = {
    kind: 'send' as const,
    to,
    message: message as SatpMessage,
    logged: live(s),
    ...(page && { canonical }),
  };
  const effects: Decision['effects'] = [send];
  if (!live(s)) return { steps: [], effects };
  const small = page ? undefined : message;
  const payload: Payload = {
    kind: 'recovery-send',
    to,
    messageType: message.messageType,
    hash,
    ...(small ? { message: small } : {}),
    ...(entryHashes ? { entryHashes } : {}),
  };
  return {
    steps: [
      entry(now, 'exec', payload, shortType(message.messageType), {
        hash,
        ...(entryHashes ? { entries: entryHashes.length } : {}),
      }),
    ],
    effects,
  };
}

const received = (
  now: number,
  from: string,
  m: RecoveryMessage,
  hash: string,
  extra: Partial<Extract<Payload, { kind: 'recovery-receive' }>> = {},
): EntryStep =>
  entry(
    now,
    'ack',
    { kind: 'recovery-receive', from, messageType: m.messageType, hash, ...extra },
    shortType(m.messageType),
    { hash, ...(extra.appended ? { appended: extra.appended } : {}) },
  );

/** Who may send a recovery message about a session: its peer, or, for a session unknown here, a configured gateway. */
function fromPeer(s: SessionState | undefined, from: string, cfg: GatewayConfig): boolean {
  return s ? from === s.peer : Object.hasOwn(cfg.peers, from);
}

/**
 * At boot: ask the peer for what this gateway lacks (§5.1 step 1); again for the next page, or after an exchange
 * went unanswered (`attempt` tries in a row so far).
 */
export function recover(s: SessionState, now: number, cfg: GatewayConfig, attempt = 0): Decision {
  return sendAwaitingAnswer(s, s.peer, now, cfg, recoverMessage(s, s.peerCopy), attempt);
}

/** A RECOVER naming `view` as how much of the peer's chain this gateway holds: its copy's head, or a page's end. */
function recoverMessage(s: SessionState, view: ChainHead): RecoveryOf<typeof RMSG.recover> {
  // A backup in the gateway's place says so; the primary that took its chain back (its own key, the one the chain
  // started with) speaks as the primary again.
  const primary = s.role === 'origin' ? s.chain.originGatewayPubkey : s.chain.destinationGatewayPubkey;
  const backup = s.successor && !sameKey(s.successor.key, primary) ? s.successor : undefined;
  return {
    ...base(s.sessionId, s.contextId),
    messageType: RMSG.recover,
    phase: s.phase,
    seqNumber: s.head.seq,
    lastEntryHash: s.head.hash,
    peerSeqNumber: view.seq,
    peerLastEntryHash: view.hash,
    lastEntryTimestamp: s.lastTimestamp,
    isBackup: backup !== undefined,
    ...(backup ? { newIdentityPublicKey: backup.key } : {}),
  };
}

/**
 * The pending RECOVER names more of the peer's chain than the copy holds: it was sent ahead of a page that was not
 * applied (the store failed, or the page was refused). Its answer would start past the copy, so it is not taken, and
 * its timer asks again from the copy's head.
 */
export const askedPastCopy = (s: SessionState): boolean => (s.recovery?.view ?? 0) > s.peerCopy.seq;

/** Where a page says it ends (its last entry's seqNumber and entryHash), unverified; undefined if it does not say. */
function claimedEnd(entries: readonly unknown[]): ChainHead | undefined {
  const last = entries[entries.length - 1] as { seqNumber?: unknown; entryHash?: unknown } | null | undefined;
  if (typeof last !== 'object' || last === null) return undefined;
  const { seqNumber: seq, entryHash: hash } = last;
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 && typeof hash === 'string' && HASH.test(hash)
    ? { seq, hash }
    : undefined;
}

/**
 * The counterparty's side of RECOVER: read a page of its own chain starting at the sender's view of it (the
 * entry at the view's seqNumber included, so the sender can compare it with its copy). It never disputes on
 * the view alone: a view that differs from this chain, or claims more of it, is answered with the entries
 * that show it, and the sender, which holds both verified copies, decides (onCopyUpdated).
 */
export function onRecover(
  s: SessionState | undefined,
  from: string,
  m: RecoveryOf<typeof RMSG.recover>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (!fromPeer(s, from, cfg))
    return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  const head = s?.head.seq ?? 0;
  if (head === 0) return answerRecover(s, { from, message: m as SatpMessage, hash }, [], false, now);
  const start = Math.max(1, Math.min(m.peerSeqNumber, head));
  const maxChars = live(s) ? RECOVER_PAGE_CHARS : ENDED_PAGE_CHARS;
  return {
    steps: [],
    effects: [
      {
        kind: 'store',
        request: { kind: 'read-page', from: start, maxChars },
        about: { from, message: m as SatpMessage, hash },
      },
    ],
  };
}

/** The page for a RECOVER was read: answer with it (a duplicate RECOVER, or one for an ended session, unlogged). */
export function onRecoverPage(s: SessionState | undefined, about: About, result: StoreResult, now: number): Decision {
  if (result.kind !== 'page')
    return ignore(`RECOVER not answered: ${result.kind === 'failed' ? result.detail : result.kind}`);
  return answerRecover(s, about, result.entries, result.more, now);
}

function answerRecover(
  s: SessionState | undefined,
  about: About,
  entries: readonly Json[] | readonly { entryHash: string }[],
  more: boolean,
  now: number,
): Decision {
  const m = about.message as RecoveryOf<typeof RMSG.recover>;
  const update: RecoveryOf<typeof RMSG.recoverUpdate> = {
    ...base(m.sessionId, m.contextId),
    messageType: RMSG.recoverUpdate,
    hashRecoverMessage: about.hash,
    recoveredLogs: entries as unknown as Json[],
    more,
  };
  // A live session logs every RECOVER-UPDATE it sends, a resent RECOVER's answer too (the page may have grown),
  // so the RECOVER-UPDATE-ACK that names it can be checked against the log.
  const ack = live(s) && !(about.hash in s.received) ? [received(now, about.from, m, about.hash)] : [];
  const d = sendRecovery(
    s,
    about.from,
    now,
    update,
    (entries as { entryHash: string }[]).map((e) => e.entryHash),
  );
  return { steps: [...ack, ...d.steps], effects: d.effects };
}

/**
 * The recovered gateway: a RECOVER-UPDATE for its pending RECOVER goes to its copy of the peer's chain. When the page
 * says more follows, the RECOVER for the next page goes out first, naming where this page says it ends: the peer
 * reads and seals the next page while this one is verified and appended, instead of after.
 */
export function onRecoverUpdate(
  s: SessionState,
  from: string,
  m: RecoveryOf<typeof RMSG.recoverUpdate>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (from !== s.peer)
    return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  if (s.recovery?.status !== 'recovering' || m.hashRecoverMessage !== s.recovery.recoverHash)
    return ignore('RECOVER-UPDATE for no pending RECOVER');
  // The session ended while its RECOVER was under way (the peer's resent ROLLBACK, say): nothing is left to
  // resume, but the peer's update is answered, unlogged like every recovery answer of an ended session.
  if (isEnded(s)) return sendRecovery(s, from, now, ackOf(s, hash, []));
  if (askedPastCopy(s))
    return ignore(`RECOVER-UPDATE for a RECOVER that named seq ${s.recovery.view}, past the copy's ${s.peerCopy.seq}`);
  const about: About = { from, message: m as SatpMessage, hash };
  const end = m.more ? claimedEnd(m.recoveredLogs) : undefined;
  const apply = (a: About): Effect => ({
    kind: 'store',
    request: { kind: 'update-copy', entries: m.recoveredLogs },
    about: a,
  });
  if (!end || end.seq <= s.peerCopy.seq) return { steps: [], effects: [apply(about)] };
  const next = recoverMessage(s, end);
  const ask = sendAwaitingAnswer(s, from, now, cfg, next);
  return { steps: ask.steps, effects: [...ask.effects, apply({ ...about, ahead: messageHash(next as SatpMessage) })] };
}

const ackOf = (s: SessionState, hash: string, appended: string[]): RecoveryOf<typeof RMSG.recoverUpdateAck> => ({
  ...base(s.sessionId, s.contextId),
  messageType: RMSG.recoverUpdateAck,
  hashRecoverUpdateMessage: hash,
  success: true,
  entriesChanged: appended,
});

/**
 * The copy of the peer's chain was brought up to date (or not): acknowledge and resume the handshake, refuse a
 * page that does not verify, dispute only when two verified chains disagree, and wait out a store failure.
 */
export function onCopyUpdated(
  s: SessionState,
  about: About,
  result: StoreResult,
  now: number,
  cfg: GatewayConfig,
): Decision {
  const m = about.message as RecoveryOf<typeof RMSG.recoverUpdate>;
  // Pending: the page's RECOVER, or the one sent ahead of the page (onRecoverUpdate).
  const pending = s.recovery?.status === 'recovering' ? s.recovery.recoverHash : undefined;
  if (pending === undefined || (m.hashRecoverMessage !== pending && about.ahead !== pending) || isEnded(s))
    return ignore('RECOVER-UPDATE no longer pending');
  // Decided on already: the append of that decision failed, yet landed, and the session was reloaded with it
  // before this result came round again. Its effects are the reload's to redo; logging it twice would act twice.
  if (about.hash in s.received) return ignore('RECOVER-UPDATE already applied');
  switch (result.kind) {
    case 'failed':
      // Nothing is decided on a store failure: the recover timer asks again (from the copy's head, when the pending
      // RECOVER was sent ahead of this page).
      return ignore(`RECOVER-UPDATE not applied, the store failed: ${result.detail}`);
    case 'refused': {
      const code =
        result.code === 'BAD_SIGNATURE' || result.code === 'UNKNOWN_AUTHOR'
          ? SATP_ERRORS.badSignature
          : SATP_ERRORS.invalidMessageType;
      return refuse(
        s,
        m as SatpMessage,
        about.hash,
        now,
        code,
        `recovered entries refused: ${result.code}: ${result.detail}`,
      );
    }
    case 'diverged':
      return dispute(
        s,
        about.from,
        now,
        about.hash,
        { seq: result.seq, ours: result.ours, theirs: result.theirs },
        `LOG_DIVERGED: ${result.detail}`,
      );
    case 'page':
      return ignore('RECOVER-UPDATE got a page instead of an update');
    case 'copy-updated':
      break;
  }
  if (!m.more && result.pageEnd < result.head.seq) {
    // The page ends before the copy's head. Before the view this gateway's RECOVER named, the author claims less
    // of its chain than this gateway already holds, verified: a real inconsistency. At or past the view, it is an
    // older answer to the same RECOVER, overtaken by a newer one already applied: nothing to do.
    if (result.pageEnd >= (s.recovery?.view ?? 0))
      return ignore(
        `a RECOVER-UPDATE older than the copy of the peer's chain (seq ${result.pageEnd} < ${result.head.seq})`,
      );
    return dispute(
      s,
      about.from,
      now,
      about.hash,
      { seq: result.head.seq },
      `the peer's chain ends at seq ${result.pageEnd}, ` +
        `before this gateway's verified copy of it (seq ${result.head.seq})`,
    );
  }
  const appended = result.appended.map((e) => e.entryHash);
  const peerRolledBack = result.appended.some(rolledBackEntry);
  const logged = received(now, about.from, m, about.hash, {
    appended,
    peerHead: result.head,
    ...(peerRolledBack ? { peerRolledBack } : {}),
  });
  // The RECOVER for the next page is out already, its timer armed.
  if (about.ahead !== undefined) return { steps: [logged], effects: [] };
  return andThen(s, { steps: [logged], effects: [{ kind: 'clear-timer', timer: 'recover' }] }, (after) => {
    // More than one page: ask again from the new view (the next RECOVER carries it).
    if (m.more) return recover(after, now, cfg);
    // Resent until RECOVER-SUCCESS arrives: a lost ACK, or a peer that crashed before answering it, would
    // otherwise leave this session recovering forever (the peer answers a duplicate ACK from its log).
    return sendAwaitingAnswer(after, about.from, now, cfg, ackOf(after, about.hash, appended));
  });
}

/** The counterparty confirms the recovered gateway is in sync (§5.1 step 3), for a RECOVER-UPDATE it sent. */
export function onRecoverUpdateAck(
  s: SessionState | undefined,
  from: string,
  m: RecoveryOf<typeof RMSG.recoverUpdateAck>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (!fromPeer(s, from, cfg))
    return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  const first = live(s) && !(hash in s.received);
  // A live session logged every RECOVER-UPDATE it sent; the ACK must name one of them. An ended session
  // answered unlogged, and its answer binds nothing: the recovered side checks the RECOVER-SUCCESS against its ACK.
  if (first && s.sent[m.hashRecoverUpdateMessage] !== RMSG.recoverUpdate) {
    return refuse(
      s,
      m as SatpMessage,
      hash,
      now,
      SATP_ERRORS.invalidMessageType,
      'RECOVER-UPDATE-ACK names no RECOVER-UPDATE this gateway sent',
    );
  }
  const success: RecoveryOf<typeof RMSG.recoverSuccess> = {
    ...base(m.sessionId, m.contextId),
    messageType: RMSG.recoverSuccess,
    hashRecoverUpdateAckMessage: hash,
    success: m.success,
  };
  const ack = first ? [received(now, from, m, hash)] : [];
  const d = sendRecovery(first ? s : undefined, from, now, success);
  return { steps: [...ack, ...d.steps], effects: d.effects };
}

/** Recovered and in sync: resume where the transfer stood, or roll back if the peer did (§5.4.3). */
export function onRecoverSuccess(
  s: SessionState,
  from: string,
  m: RecoveryOf<typeof RMSG.recoverSuccess>,
  hash: string,
  now: number,
  cfg: GatewayConfig,
): Decision {
  if (from !== s.peer)
    return refuse(s, m as SatpMessage, hash, now, SATP_ERRORS.forbidden, `${from} is not this session's peer`, from);
  if (isEnded(s) || s.recovery?.status !== 'recovering') return ignore('RECOVER-SUCCESS while not recovering');
  if (!s.recovery.acks?.includes(m.hashRecoverUpdateAckMessage))
    return ignore('RECOVER-SUCCESS for no RECOVER-UPDATE-ACK of this gateway');
  // The counterparty did not confirm the update: start over from this gateway's current view (a new RECOVER).
  if (!m.success) return recover(s, now, cfg);
  const logged = {
    steps: [received(now, from, m, hash)],
    effects: [{ kind: 'clear-timer' as const, timer: 'recover' as const }],
  };
  return andThen(s, logged, (after) => {
    if (after.peerRolledBack && deadlineApplies(after))
      return startRollback(after, now, 'the peer rolled back while this gateway was down', false);
    return resume(after, now, cfg);
  });
}

/**
 * Resend what is unanswered (duplicates are no-ops at the receiver), or go on with a rollback. For a session that
 * has not ended (both callers, RECOVER-SUCCESS and a reload, check that first).
 */
export function resume(s: SessionState, now: number, cfg: GatewayConfig): Decision {
  if (rollingBack(s) && !s.pending && s.wait.kind !== 'message') return continueRollback(s, now);
  if (s.wait.kind === 'message' && s.lastSent) {
    return {
      steps: [],
      effects: [
        { kind: 'send', to: s.lastSent.to, message: s.lastSent.message, logged: true },
        { kind: 'set-timer', timer: 'retransmit', at: now + cfg.retransmitMs },
      ],
    };
  }
  return { steps: [], effects: [] };
}

/** The peer disputes one of this gateway's recovery messages: the session freezes for an operator. */
export function onRecoverDispute(
  s: SessionState | undefined,
  from: string,
  m: RecoveryOf<typeof RMSG.recoverDispute>,
  hash: string,
  now: number,
): Decision {
  // A session already disputed never gets here: decide() answers everything about it with a reminder.
  if (!s || from !== s.peer) return ignore('RECOVER-DISPUTE for no session of this peer');
  const about = s.sent[m.hashPrevMessage];
  if (about !== RMSG.recover && about !== RMSG.recoverUpdate) {
    return refuse(
      s,
      m as SatpMessage,
      hash,
      now,
      SATP_ERRORS.invalidMessageType,
      'RECOVER-DISPUTE answers no recovery message of this gateway',
    );
  }
  const steps = isEnded(s)
    ? []
    : [
        entry(
          now,
          'fail',
          {
            kind: 'dispute',
            detail: `peer disputes: ${m.detail}`,
            seq: m.seqNumber,
            ...(m.ours ? { ours: m.ours } : {}),
            ...(m.theirs ? { theirs: m.theirs } : {}),
          },
          'recover-dispute-msg',
          { detail: m.detail },
        ),
      ];
  return {
    steps,
    effects: [
      { kind: 'clear-timer', timer: 'retransmit' },
      { kind: 'clear-timer', timer: 'recover' },
      { kind: 'report', report: { kind: 'needs-operator', detail: `dispute raised by the peer: ${m.detail}` } },
    ],
  };
}

function dispute(
  s: SessionState,
  to: string,
  now: number,
  hashPrev: string,
  at: { seq?: number; ours?: string; theirs?: string },
  detail: string,
): Decision {
  const msg: RecoveryOf<typeof RMSG.recoverDispute> = {
    ...base(s.sessionId, s.contextId),
    messageType: RMSG.recoverDispute,
    hashPrevMessage: hashPrev,
    seqNumber: at.seq ?? 0,
    ...(at.ours ? { ours: at.ours } : {}),
    ...(at.theirs ? { theirs: at.theirs } : {}),
    detail: detail.slice(0, 1024),
  };
  // Only a live session disputes (onCopyUpdated ignores an ended one, decide() a disputed one): always logged.
  return {
    steps: [entry(now, 'fail', { kind: 'dispute', detail, ...at }, 'recover-dispute-msg', { detail })],
    effects: [
      { kind: 'send', to, message: msg as SatpMessage, logged: true },
      { kind: 'clear-timer', timer: 'retransmit' },
      { kind: 'clear-timer', timer: 'recover' },
      { kind: 'report', report: { kind: 'needs-operator', detail: `dispute: ${detail}` } },
    ],
  };
}

/** A peer entry that shows it decided to roll back or ended rolled back. */
function rolledBackEntry(e: { payload: unknown }): boolean {
  const p = e.payload as { kind?: string; outcome?: string };
  return p?.kind === 'rollback' || (p?.kind === 'end' && p.outcome === 'rolled-back');
}
