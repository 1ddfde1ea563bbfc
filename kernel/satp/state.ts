// A session's state and `evolve`, the fold of one log entry into it: state = replay(own chain).
import type { ChainContext, ChainHead, LogEntry, EntryBody } from '../entry.ts';
import type { PublicJwk } from '../crypto/types.ts';
import { EMPTY_HEAD } from '../entry.ts';
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { claimOf, MSG, type MessageType, type SatpMessage, type TransferInitClaim } from './messages.ts';
import { RMSG, type RecoveryMessage } from './recovery-messages.ts';
import type { Payload, Purpose } from './payloads.ts';
import { claimReceipt } from './claims.ts';

export type Role = 'origin' | 'destination';
export type Outcome = 'committed' | 'rolled-back' | 'rejected';
export type Compensation = 'UNLOCK' | 'BURN';

/**
 * Where the session stands: exactly one of four. What it waits for (`wait`) and a recovery handshake under way
 * (`recovery`) are orthogonal to it: a running or rolling-back session waits for a message or a ledger call, and
 * either can be mid-handshake after a restart. `committed` and `promised` are facts its log proves, not a status.
 */
export type Status =
  | { kind: 'running' }
  /** A rollback is decided: why, whether the peer still has to be told (ROLLBACK), the peer's ROLLBACK to answer. */
  | { kind: 'rolling-back'; reason: string; notify: boolean; ackTo?: string }
  | { kind: 'ended'; outcome: Outcome; reason: string }
  /** RECOVER-DISPUTE: frozen for an operator, both chains kept. */
  | { kind: 'disputed'; detail: string };

export type RollingBack = Extract<Status, { kind: 'rolling-back' }>;

/** What the session waits for next. */
export type Wait = { kind: 'message'; types: MessageType[] } | { kind: 'ledger'; opId: string } | { kind: 'none' };

export interface SentMessage {
  message: SatpMessage;
  hash: string;
  to: string;
}

/** A ledger operation logged as exec whose done or fail is not logged yet, with why and under which step. */
export interface PendingOp {
  op: LedgerOp;
  purpose: Purpose;
  step: string;
}

/** The peer's ledger operations this gateway accepted as proven (verified receipts in its claims). */
export interface PeerOps {
  lock?: LedgerReceipt;
  mint?: LedgerReceipt;
  burn?: LedgerReceipt;
  assign?: LedgerReceipt;
}

export interface SessionState {
  sessionId: string;
  contextId: string;
  role: Role;
  self: string;
  peer: string;
  /** The fixed fields of this gateway's chain, taken from its first entry. */
  chain: ChainContext;
  head: ChainHead;
  /** Timestamp of the chain's first entry: when this gateway started (origin) or accepted (destination) the session. */
  startedAt: number;
  claim?: TransferInitClaim;
  /** Origin: beneficiary and originator accounts, lock duration (from the start request). */
  transfer?: { assetId: string; originator: string; beneficiary: string; lockSeconds: number };
  wait: Wait;
  lastSent?: SentMessage;
  /** Hashes of every message this gateway logged as sent in the session (transfer and recovery), with its type. */
  sent: Record<string, MessageType>;
  /** Hashes of every accepted peer message, with this gateway's answer to it once sent. */
  received: Record<string, SentMessage | null>;
  hashes: { initClaim?: string; commence?: string };
  pending?: PendingOp;
  receipts: Record<string, LedgerReceipt>;
  /** The compensations this gateway performed (ok receipts of rollback operations), in order. */
  compensations: LedgerReceipt[];
  /**
   * recovery-04 §5.2.3: the compensations this gateway owes if the session rolls back. At most one: the origin
   * can only undo its lock (UNLOCK) and the destination its mint (BURN); see `owing`.
   */
  rollbackList: Compensation[];
  /** Epoch ms at which the lock on the origin ledger expires. */
  lockExpiry?: number;
  /** The peer's ledger operations proven to this gateway by verified receipts. */
  peerOps: PeerOps;
  /** Origin: the burn is logged (3.4 exec) and not refused. Destination: it learned of the burn. */
  committed: boolean;
  /** Destination: it sent commit-ready, after which the origin may burn at any moment. */
  promised: boolean;
  status: Status;
  /** recovery-04 §5.1: set at boot by RECOVER, until RECOVER-SUCCESS. */
  recovery?: {
    status: 'recovering' | 'synced';
    recoverHash?: string;
    /** The recovery message to resend until answered. */
    last?: RecoveryMessage;
    /**
     * Hashes of the RECOVER-UPDATE-ACKs sent while this recovery lasts: the RECOVER-SUCCESS must name one of them.
     * Not only the last: over a slow network a resend starts a new round before the previous round's
     * RECOVER-SUCCESS arrives, and that answer confirms a copy this gateway still holds (it only grows).
     */
    acks?: string[];
    /** How much of the peer's chain the pending RECOVER said this gateway holds (its peerSeqNumber). */
    view?: number;
  };
  /** Set by a takeover entry: a backup acts in this gateway's place, signing with this key (kernel/takeover.ts). */
  successor?: { name: string; key: PublicJwk };
  /** Head of this gateway's copy of the peer's chain (what RECOVER-UPDATE brought). */
  peerCopy: ChainHead;
  /** The peer's chain shows it rolled back (§5.4.3: then this gateway rolls back too). */
  peerRolledBack: boolean;
  phase: string;
  lastTimestamp: number;
  /** Hash of the last peer message accepted. */
  lastReceived?: string;
  /**
   * Hash of the last SATP transfer message accepted from the peer that its sender surely logged (not an error-msg
   * or session-abort, which may be unlogged refusals): what a ROLLBACK names so the peer knows it.
   */
  lastPeerMessage?: string;
  lastReceivedType?: MessageType;
}

/** The reply each message expects (SATP core Figure 2); [] for messages that end an exchange. */
export const EXPECTED_REPLY: Partial<Record<MessageType, MessageType[]>> = {
  [MSG.transferProposal]: [MSG.proposalReceipt, MSG.proposalReject],
  [MSG.proposalReceipt]: [MSG.transferCommence],
  [MSG.transferCommence]: [MSG.ackCommence],
  [MSG.ackCommence]: [MSG.lockAssert],
  [MSG.lockAssert]: [MSG.assertionReceipt],
  [MSG.assertionReceipt]: [MSG.commitPrepare],
  [MSG.commitPrepare]: [MSG.commitReady, MSG.ackPrepare],
  [MSG.commitReady]: [MSG.commitFinal],
  [MSG.ackPrepare]: [MSG.commitFinal],
  [MSG.commitFinal]: [MSG.ackCommitFinal],
  [MSG.ackCommitFinal]: [MSG.transferComplete],
  [RMSG.rollback]: [RMSG.rollbackAck],
};

export const isEnded = (s: SessionState): boolean => s.status.kind === 'ended';

/** The outcome of an ended session. */
export const outcomeOf = (s: SessionState | undefined): Outcome | undefined =>
  s?.status.kind === 'ended' ? s.status.outcome : undefined;

/** The rollback under way, if the session is rolling back. */
export const rollingBack = (s: SessionState): RollingBack | undefined =>
  s.status.kind === 'rolling-back' ? s.status : undefined;

/** Rolling back, or ended rolled back: whether the session took the rollback path. */
export const rolledBackOrRollingBack = (s: SessionState | undefined): boolean =>
  s?.status.kind === 'rolling-back' || outcomeOf(s) === 'rolled-back';

/** The status after a rollback is decided (or the peer's ROLLBACK arrives): an earlier ROLLBACK to answer is kept. */
export function toRollingBack(s: SessionState, reason: string, notify: boolean, ackTo?: string): Status {
  // Ended and disputed are final: nothing logs a rollback after them, and a fold never leaves them.
  if (s.status.kind === 'ended' || s.status.kind === 'disputed') return s.status;
  const prior = rollingBack(s);
  const answer = ackTo ?? prior?.ackTo;
  return { kind: 'rolling-back', reason, notify, ...(answer ? { ackTo: answer } : {}) };
}

/**
 * The point of no return (SATP core §9.6), the one predicate every abort, error, session-abort and
 * ROLLBACK path asks: the origin logged its burn (3.4 exec) and the ledger has not refused it; the
 * destination promised (commit-ready), after which the origin may burn at any moment, or learned of the
 * burn. Past it, the peer's word cannot undo the transfer: only the ledgers' own evidence can.
 */
export const pastNoReturn = (s: SessionState): boolean => s.committed || s.promised;

/**
 * Whether the session's deadline still governs it: it runs forward (not rolling back, ended or disputed) and has
 * not committed. Rollbacks and committed sessions finish on the ledgers' evidence, whatever the time.
 */
export const deadlineApplies = (s: SessionState): boolean => s.status.kind === 'running' && !s.committed;

/** The state before any entry: built from the first entry's fixed fields. */
function initial(e: EntryBody, role: Role): SessionState {
  const chain: ChainContext = {
    version: e.version,
    sessionId: e.sessionId,
    contextId: e.contextId,
    author: e.author,
    resourceUrl: e.resourceUrl,
    developerUrn: e.developerUrn,
    credentialProfile: e.credentialProfile,
    credentialBlock: e.credentialBlock,
    payloadProfile: e.payloadProfile,
    applicationProfile: e.applicationProfile,
    originGatewayPubkey: e.originGatewayPubkey,
    originGatewaySystem: e.originGatewaySystem,
    destinationGatewayPubkey: e.destinationGatewayPubkey,
    destinationGatewaySystem: e.destinationGatewaySystem,
    loggingProfile: e.loggingProfile,
    accessControlProfile: e.accessControlProfile,
  };
  return {
    sessionId: e.sessionId,
    contextId: e.contextId,
    role,
    self: e.author,
    peer: '',
    chain,
    head: EMPTY_HEAD,
    startedAt: e.timestamp,
    status: { kind: 'running' },
    wait: { kind: 'none' },
    sent: {},
    received: {},
    hashes: {},
    receipts: {},
    compensations: [],
    rollbackList: [],
    peerOps: {},
    committed: false,
    promised: false,
    peerCopy: EMPTY_HEAD,
    peerRolledBack: false,
    phase: e.phase,
    lastTimestamp: e.timestamp,
  };
}

/** The rollback list of a side that owes its one compensation: the origin its UNLOCK, the destination its BURN. */
const owing = (s: SessionState): Compensation[] => [s.role === 'origin' ? 'UNLOCK' : 'BURN'];

/** The peer operation a received message proves, by the claim it carries (already checked when it was accepted). */
function provenBy(m: SatpMessage): { key: keyof PeerOps; receipt: LedgerReceipt } | undefined {
  switch (m.messageType) {
    case MSG.lockAssert:
      return { key: 'lock', receipt: claimReceipt(m.lockAssertionClaim)! };
    case MSG.commitReady:
    case MSG.ackPrepare:
      return { key: 'mint', receipt: claimReceipt(m.mintAssertionClaim)! };
    case MSG.commitFinal:
      return { key: 'burn', receipt: claimReceipt(m.burnAssertionClaim)! };
    case MSG.ackCommitFinal:
      return { key: 'assign', receipt: claimReceipt(m.assignmentAssertionClaim)! };
    default:
      return undefined;
  }
}

/** Folds one entry of this gateway's own chain into the state. Pure; total over well-formed entries. */
export function evolve(state: SessionState | undefined, entry: EntryBody | LogEntry): SessionState {
  const p = entry.payload as unknown as Payload;
  let s: SessionState = state ?? initial(entry, p.kind === 'request' ? 'origin' : 'destination');
  s = {
    ...s,
    head: { seq: entry.seqNumber, hash: (entry as LogEntry).entryHash ?? s.head.hash },
    phase: entry.phase,
    lastTimestamp: entry.timestamp,
  };
  switch (p.kind) {
    case 'request':
      return {
        ...s,
        peer: p.request.peer,
        transfer: {
          assetId: p.request.assetId,
          originator: p.request.originator,
          beneficiary: p.request.beneficiary,
          lockSeconds: p.request.lockSeconds,
        },
      };
    case 'send': {
      const sent: SentMessage = { message: p.message, hash: p.hash, to: p.to };
      const received = p.inReplyTo ? { ...s.received, [p.inReplyTo]: sent } : s.received;
      const type = p.message.messageType;
      const replies = EXPECTED_REPLY[type] ?? [];
      let next: SessionState = {
        ...s,
        lastSent: sent,
        sent: { ...s.sent, [p.hash]: type },
        received,
        wait: replies.length ? { kind: 'message', types: replies } : { kind: 'none' },
      };
      if (type === MSG.transferProposal)
        next = { ...next, claim: claimOf(p.message), hashes: { ...next.hashes, initClaim: p.claimHash } };
      if (type === MSG.transferCommence) next = { ...next, hashes: { ...next.hashes, commence: p.hash } };
      if (type === MSG.commitReady || type === MSG.ackPrepare) next = { ...next, promised: true };
      return next;
    }
    case 'receive': {
      let next: SessionState = {
        ...s,
        received: { ...s.received, [p.hash]: null },
        lastReceived: p.hash,
        lastReceivedType: p.message.messageType,
        wait: { kind: 'none' },
      };
      const m = p.message;
      if (
        m.messageType !== MSG.error &&
        m.messageType !== MSG.sessionAbort &&
        Object.values(MSG).includes(m.messageType as never)
      )
        next = { ...next, lastPeerMessage: p.hash };
      if (m.messageType === MSG.transferProposal) {
        next = {
          ...next,
          peer: p.from,
          claim: claimOf(m),
          hashes: { ...next.hashes, initClaim: p.claimHash },
        };
      }
      if (m.messageType === MSG.transferCommence) next = { ...next, hashes: { ...next.hashes, commence: p.hash } };
      if (m.messageType === MSG.lockAssert) next = { ...next, lockExpiry: Date.parse(m.lockAssertionExpiration) };
      const proven = provenBy(m);
      if (proven) next = { ...next, peerOps: { ...next.peerOps, [proven.key]: proven.receipt } };
      if (m.messageType === MSG.commitFinal) next = { ...next, committed: true, rollbackList: [] };
      // A ROLLBACK from the peer: answer it with ROLLBACK-ACK once this side's compensations are done.
      if (m.messageType === RMSG.rollback) {
        const prior = rollingBack(s);
        next = {
          ...next,
          status: toRollingBack(s, prior?.reason ?? `peer rolled back: ${m.reason}`, prior?.notify ?? false, p.hash),
        };
      }
      return next;
    }
    case 'ledger-op': {
      const op = p.op;
      // A lock (origin) or a mint (destination) is owed back from the moment it may happen.
      const list = op.kind === 'lock' || op.kind === 'mint' ? owing(s) : s.rollbackList;
      const committed = s.committed || (s.role === 'origin' && op.kind === 'burn' && p.purpose === 'forward');
      const lockExpiry = op.kind === 'lock' && p.expiresAt !== undefined ? p.expiresAt : s.lockExpiry;
      return {
        ...s,
        pending: { op, purpose: p.purpose, step: entry.step },
        rollbackList: committed ? [] : list,
        committed,
        lockExpiry,
        wait: { kind: 'ledger', opId: op.opId },
      };
    }
    case 'ledger-done': {
      const op = p.op;
      // A compensation done (an unlock at the origin, a burn at the destination) is owed no more.
      const rollback = p.purpose === 'rollback';
      return {
        ...s,
        pending: undefined,
        receipts: { ...s.receipts, [op.opId]: p.receipt },
        compensations: rollback ? [...s.compensations, p.receipt] : s.compensations,
        rollbackList: rollback ? [] : s.rollbackList,
        wait: { kind: 'none' },
      };
    }
    case 'ledger-failed': {
      const op = p.op;
      // A refused lock or mint changed nothing, so there is nothing to compensate; a refused compensation means
      // there was nothing left to undo (e.g. never locked): it is settled.
      const settled = op.kind === 'lock' || op.kind === 'mint' || p.purpose === 'rollback';
      const list = settled ? [] : s.rollbackList;
      const receipts = p.receipt ? { ...s.receipts, [op.opId]: p.receipt } : s.receipts;
      // The origin's burn refused (the lock expired first): the asset is still locked, so the transfer
      // is not past the point of no return after all, and the lock is owed back.
      if (s.role === 'origin' && op.kind === 'burn' && p.purpose === 'forward') {
        return {
          ...s,
          pending: undefined,
          receipts,
          committed: false,
          rollbackList: owing(s),
          wait: { kind: 'none' },
        };
      }
      return { ...s, pending: undefined, receipts, rollbackList: list, wait: { kind: 'none' } };
    }
    case 'burn-evidence':
      return p.burned
        ? { ...s, committed: true, rollbackList: [], wait: { kind: 'none' } }
        : { ...s, wait: { kind: 'none' } };
    case 'record':
      return s;
    case 'rollback':
      return { ...s, status: toRollingBack(s, p.reason, p.notify) };
    case 'recovery-send': {
      const sent = { ...s.sent, [p.hash]: p.messageType as MessageType };
      if (p.messageType === RMSG.recover && p.message) {
        const view = (p.message as { peerSeqNumber?: number }).peerSeqNumber ?? 0;
        const acks = s.recovery?.status === 'recovering' ? s.recovery.acks : undefined;
        return {
          ...s,
          sent,
          recovery: { status: 'recovering', recoverHash: p.hash, last: p.message, view, ...(acks ? { acks } : {}) },
        };
      }
      if (p.messageType === RMSG.recoverUpdateAck && p.message && s.recovery)
        return {
          ...s,
          sent,
          recovery: { ...s.recovery, last: p.message, acks: [...(s.recovery.acks ?? []), p.hash] },
        };
      return { ...s, sent };
    }
    case 'recovery-receive': {
      let next: SessionState = { ...s, received: { ...s.received, [p.hash]: null } };
      if (p.peerHead) next = { ...next, peerCopy: p.peerHead };
      if (p.peerRolledBack) next = { ...next, peerRolledBack: true };
      if (p.messageType === RMSG.recoverSuccess) next = { ...next, recovery: { status: 'synced' } };
      return next;
    }
    case 'dispute':
      return { ...s, status: { kind: 'disputed', detail: p.detail }, wait: { kind: 'none' } };
    case 'takeover':
      return { ...s, successor: { name: p.backup, key: p.publicKey } };
    case 'end':
      return {
        ...s,
        status: { kind: 'ended', outcome: p.outcome, reason: p.reason },
        wait: { kind: 'none' },
        pending: undefined,
      };
  }
}

/** replay(chain): the state after a chain of this gateway's own entries. */
export function replay(entries: readonly (EntryBody | LogEntry)[]): SessionState | undefined {
  let s: SessionState | undefined;
  for (const e of entries) s = evolve(s, e);
  return s;
}
