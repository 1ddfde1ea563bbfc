// Events into the reducer and effects out of it (STYLE §3: effects are data with an order).
import type { EntryBody, EntryStep, ChainContext, ChainHead, LogEntry } from '../entry.ts';
import type { LogDiff } from '../log-diff.ts';
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import type { PublicJwk } from '../crypto/types.ts';
import type { SatpMessage } from './messages.ts';
import type { TransferRequest } from './payloads.ts';
import type { Outcome } from './state.ts';

export type TimerName = 'retransmit' | 'deadline' | 'ledger-retry' | 'recover';

/**
 * What the driver read or wrote for a recovery message before the reducer sees it (sans-I/O: the
 * reducer never touches the store). RECOVER: what this gateway's chain holds beyond the sender's
 * view of it. RECOVER-UPDATE: the outcome of verifying the peer's entries and appending them to
 * this gateway's copy of the peer's chain.
 */
export type RecoveryContext =
  | { kind: 'diff'; diff: LogDiff }
  | { kind: 'update'; ok: true; appended: LogEntry[]; head: ChainHead }
  | { kind: 'update'; ok: false; code: string; detail: string; seq?: number; ours?: string; theirs?: string };

/** Every event carries the time it happened: the kernel never reads a clock. */
export type GatewayEvent =
  | { kind: 'start'; now: number; request: TransferRequest }
  | { kind: 'message'; now: number; from: string; message: SatpMessage; hash: string; recovery?: RecoveryContext }
  | { kind: 'ledger-result'; now: number; opId: string; receipt: LedgerReceipt }
  /** execute() rejected: `code` is the SatpError code when there is one (OP_CONFLICT, LEDGER_UNAVAILABLE, ...). */
  | { kind: 'ledger-error'; now: number; opId: string; error: string; code?: string }
  | { kind: 'ledger-status'; now: number; ledger: 'own' | 'peer'; opId: string; receipt: LedgerReceipt | undefined }
  | { kind: 'timer'; now: number; timer: TimerName }
  | { kind: 'boot'; now: number }
  | { kind: 'abort'; now: number; reason: string };

export type Report =
  | { kind: 'ended'; outcome: Outcome; reason: string }
  | { kind: 'refused'; code: string; detail: string }
  | { kind: 'ignored'; detail: string }
  | { kind: 'needs-operator'; detail: string };

export type Effect =
  /** Make these entries durable before anything after it runs (write-ahead). */
  | { kind: 'append'; entries: EntryBody[] }
  /** logged: the message is in the chain (first send or resend); false: an unlogged refusal. */
  | { kind: 'send'; to: string; message: SatpMessage; logged: boolean }
  | { kind: 'ledger-execute'; op: LedgerOp }
  | { kind: 'ledger-query'; ledger: 'own' | 'peer'; opId: string }
  | { kind: 'set-timer'; timer: TimerName; at: number }
  | { kind: 'clear-timer'; timer: TimerName }
  | { kind: 'report'; report: Report };

/** What a decision adds: entry steps to log (in order), effects to run after they are durable. */
export interface Decision {
  steps: EntryStep[];
  effects: Effect[];
  /** For the first entry of a new chain: its fixed fields. */
  context?: ChainContext;
}

export const NOTHING: Decision = Object.freeze({ steps: [], effects: [] }) as Decision;

/** A gateway's own settings and what it knows of its peers. Pure data. */
export interface GatewayConfig {
  id: string;
  publicJwk: PublicJwk;
  /** The network (ledger) this gateway stands in front of. */
  networkId: string;
  peers: Record<string, { publicJwk: PublicJwk; networkId: string }>;
  /** Account that owns minted assets until they are assigned (3.2). Default: the gateway id. */
  escrowAccount?: string;
  /** Resend an unanswered message after this long. */
  retransmitMs: number;
  /** Destination: how long past the lock expiry to wait before asking the origin ledger (clock skew). */
  deadlineGraceMs: number;
  /** Origin: do not start the burn this close to the lock expiry. */
  burnMarginMs: number;
  minLockSeconds: number;
  maxLockSeconds: number;
  chain: Pick<ChainContext, 'resourceUrl' | 'developerUrn' | 'credentialProfile' | 'credentialBlock' | 'payloadProfile' | 'applicationProfile' | 'loggingProfile' | 'accessControlProfile'>;
}

export function gatewayConfig(c: Pick<GatewayConfig, 'id' | 'publicJwk' | 'networkId' | 'peers'> & Partial<GatewayConfig>): GatewayConfig {
  return {
    retransmitMs: 2_000,
    deadlineGraceMs: 2_000,
    burnMarginMs: 1_000,
    minLockSeconds: 5,
    maxLockSeconds: 24 * 3600,
    chain: {
      resourceUrl: '',
      developerUrn: 'urn:satp-recovery',
      credentialProfile: 'X.509',
      credentialBlock: '',
      payloadProfile: 'satp-recovery/1',
      applicationProfile: 'satp-recovery',
      loggingProfile: 'private-centralized',
      accessControlProfile: 'author-only',
    },
    ...c,
  };
}
