// The payloads this implementation logs, one kind per kind of step (recovery-04 §3: init, exec, done, ack, fail).
import type { LedgerAttestation, LedgerOp, LedgerReceipt } from '../ledger.ts';
import type { ChainHead } from '../entry.ts';
import type { SatpMessage } from './messages.ts';
import type { RecoveryMessage } from './recovery-messages.ts';
import type { Outcome } from './state.ts';
import type { TakeoverPayload } from '../takeover.ts';

/** What the origin's application asks for: one unidirectional transfer of one asset. */
export interface TransferRequest {
  sessionId: string;
  contextId: string;
  /** The destination gateway's id. */
  peer: string;
  assetId: string;
  assetProfileId: string;
  /** Account owning the asset on the origin ledger. */
  originator: string;
  /** Account that receives the asset on the destination ledger. */
  beneficiary: string;
  /** How long the lock holds (SATP assetLockExpirationTime), in seconds. */
  lockSeconds: number;
}

/** Why a ledger operation is called: the transfer itself, or a compensation of a rollback (recovery-04 §5.2.3). */
export type Purpose = 'forward' | 'rollback';

export type Payload =
  /** init 1.1 (origin): the request, logged before anything is sent. */
  | { kind: 'request'; request: TransferRequest }
  /** exec: a message about to be sent, with its hash; inReplyTo names the message it answers. */
  | { kind: 'send'; to: string; message: SatpMessage; hash: string; inReplyTo?: string; claimHash?: string }
  /** ack: a peer message accepted. */
  | { kind: 'receive'; from: string; message: SatpMessage; hash: string; claimHash?: string }
  /** exec: a ledger operation about to be called; purpose tells a rollback burn from the forward one. */
  | { kind: 'ledger-op'; op: LedgerOp; purpose: Purpose; expiresAt?: number }
  /** done: the ledger applied it; the receipt is the proof. */
  | { kind: 'ledger-done'; op: LedgerOp; purpose: Purpose; receipt: LedgerReceipt }
  /** fail: the ledger refused it (receipt ok:false). */
  | { kind: 'ledger-failed'; op: LedgerOp; purpose: Purpose; receipt?: LedgerReceipt; reason: string }
  /**
   * done (destination, past the point of no return and its deadline): the origin ledger's signed
   * attestation, and what it settles: the burn happened, or it never can (the lock lapsed by the
   * ledger's own clock, or no longer holds the asset).
   */
  | { kind: 'burn-evidence'; burned: boolean; attestation: LedgerAttestation }
  /** done 2.3 / 3.8: a step that records without calling anything. */
  | { kind: 'record'; what: string }
  /** init rollback: the decision to roll back, and why. */
  | { kind: 'rollback'; reason: string; notify: boolean }
  /** exec (recovery-04 §5.3): a recovery message sent; RECOVER-UPDATE's entries are named by hash only. */
  | {
      kind: 'recovery-send';
      to: string;
      messageType: string;
      hash: string;
      message?: RecoveryMessage;
      entryHashes?: string[];
    }
  /** ack: a recovery message accepted; for RECOVER-UPDATE, what was appended to the copy of the peer's chain. */
  | {
      kind: 'recovery-receive';
      from: string;
      messageType: string;
      hash: string;
      appended?: string[];
      peerHead?: ChainHead;
      peerRolledBack?: boolean;
    }
  /** fail (RECOVER-DISPUTE): two views of one chain disagree; the session is frozen for an operator. */
  | { kind: 'dispute'; detail: string; seq?: number; ours?: string; theirs?: string }
  /** exec (recovery-04 §5.1, §6.1): a backup took this gateway's place; from here on it signs the chain. */
  | TakeoverPayload
  /** done end: the session is over. */
  | { kind: 'end'; outcome: Outcome; reason: string };
