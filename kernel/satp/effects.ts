// Events into the reducer and effects out of it: effects are data with an order, run by the driver.
import type { ChainContext, ChainHead, EntryStep, LogEntry } from '../entry.ts';
import type { LedgerAttestation, LedgerOp, LedgerReceipt } from '../ledger.ts';
import type { PublicJwk } from '../crypto/types.ts';
import type { TakeoverPayload } from '../takeover.ts';
import type { SatpMessage } from './messages.ts';
import type { TransferRequest } from './payloads.ts';
import type { Outcome } from './state.ts';

export type TimerName = 'retransmit' | 'deadline' | 'ledger-retry' | 'recover';

/**
 * Store work the reducer asks for (the reducer never touches a store): a page of this gateway's own
 * chain of the session, or bringing its copy of the peer's chain up to date with entries a peer sent.
 * The result comes back as a `store-result` event for the same message.
 */
export type StoreRequest =
  /** This gateway's chain from seqNumber `from` on: at most one page (RECOVER_PAGE entries, `maxChars` of text). */
  | { kind: 'read-page'; from: number; maxChars: number }
  /** Verify `entries` as part of the peer's chain of this session and append what this gateway's copy lacks. */
  | { kind: 'update-copy'; entries: readonly unknown[] };

export type StoreResult =
  | { kind: 'page'; entries: LogEntry[]; more: boolean }
  /**
   * The copy now holds the page. `pageEnd` is the seqNumber of the page's last entry (0 when empty) and
   * `head` the copy's head: a page that ends before the copy's head, with nothing more to come, means the
   * author holds fewer entries than this gateway's verified copy of its chain.
   */
  | { kind: 'copy-updated'; appended: LogEntry[]; head: ChainHead; pageEnd: number }
  /** The entries failed verification (shape, hash, link, signature, author): nothing was stored. */
  | { kind: 'refused'; code: string; detail: string }
  /** The page verified, and differs from what the copy already holds at `seq`: two verified chains disagree. */
  | { kind: 'diverged'; seq: number; ours: string; theirs: string; detail: string }
  /** The store failed (unknown outcome, unavailable): nothing is decided; the sender's retry comes back. */
  | { kind: 'failed'; detail: string };

/** The message a store request was made for, carried to its result. */
export interface About {
  from: string;
  message: SatpMessage;
  hash: string;
  /**
   * For a page of the peer's chain (a RECOVER-UPDATE): the hash of the RECOVER for the next page, sent before this
   * page was applied. The page's result is decided on while that RECOVER is pending.
   */
  ahead?: string;
}

/**
 * Every event carries the time it happened: the kernel never reads a clock. Receipts and attestations
 * arrive with the outcome of checking their ledger signature (kernel/satp/proofs.ts), done before the
 * reducer sees the event, since signature checks are asynchronous; what they must be bound to (session,
 * operation, asset, expiry) the reducer checks itself.
 */
export type GatewayEvent =
  | { kind: 'start'; now: number; request: TransferRequest }
  /**
   * `proofs`: hashes (hashJson) of the ledger receipts in the message whose signature verified under the sender's
   * ledger key.
   */
  | { kind: 'message'; now: number; from: string; message: SatpMessage; hash: string; proofs: readonly string[] }
  | { kind: 'store-result'; now: number; about: About; result: StoreResult }
  /** `verified`: the receipt's signature checked out under this gateway's own ledger key. */
  | { kind: 'ledger-result'; now: number; opId: string; receipt: LedgerReceipt; verified: boolean }
  /** execute() rejected: `code` is the SatpError code when there is one (OP_CONFLICT, LEDGER_UNAVAILABLE, ...). */
  | { kind: 'ledger-error'; now: number; opId: string; error: string; code?: string }
  /** status(opId) of this gateway's own ledger: the receipt, or undefined when the ledger never recorded the op. */
  | { kind: 'ledger-status'; now: number; opId: string; receipt: LedgerReceipt | undefined; verified: boolean }
  /** status(opId) could not be answered: nothing is known. */
  | { kind: 'ledger-status-failed'; now: number; opId: string; error: string }
  /** attest() of the peer's ledger: the attestation (signature checked under that ledger's key), or why none came. */
  | {
      kind: 'attestation';
      now: number;
      assetId: string;
      attestation?: LedgerAttestation;
      verified: boolean;
      error?: string;
      noAccess?: boolean;
    }
  /** A timer fired; `attempt` is what its set-timer carried (how many times in a row it fired unanswered). */
  | { kind: 'timer'; now: number; timer: TimerName; attempt?: number }
  | { kind: 'boot'; now: number }
  /**
   * A backup takes this gateway's place in the session (kernel/takeover.ts): it logs the takeover entry, signed
   * with its own key, then boots the session.
   */
  | { kind: 'takeover'; now: number; takeover: Omit<TakeoverPayload, 'kind'> }
  /** The session was reloaded from its store after an append of unknown outcome turned out to have landed. */
  | { kind: 'reload'; now: number }
  | { kind: 'abort'; now: number; reason: string };

export type Report =
  | { kind: 'ended'; outcome: Outcome; reason: string }
  /** `status`: the code's status from kernel/satp/error-codes.ts, the answer a local caller is given. */
  | { kind: 'refused'; code: string; status: number; detail: string }
  | { kind: 'ignored'; detail: string }
  | { kind: 'needs-operator'; detail: string };

export type Effect =
  /**
   * logged: the message is in the chain (first send or resend); false: an unlogged answer (refusal, ended session).
   * canonical: the message's canonical JSON, when the step that decided it made it already (a recovery page, whose
   * text is large): sealing then does not make it again.
   */
  | { kind: 'send'; to: string; message: SatpMessage; logged: boolean; canonical?: string }
  | { kind: 'ledger-execute'; op: LedgerOp }
  /** status(opId) on this gateway's own ledger. */
  | { kind: 'ledger-query'; opId: string }
  /** attest(assetId, opIds) on the ledger of `peer` (the destination's question to the origin ledger). */
  | { kind: 'ledger-attest'; peer: string; assetId: string; opIds: string[] }
  | { kind: 'store'; request: StoreRequest; about: About }
  | { kind: 'set-timer'; timer: TimerName; at: number; attempt?: number }
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

/** What this gateway knows of a peer gateway: its key, its network, and the key its network's ledger signs with. */
export interface PeerConfig {
  publicJwk: PublicJwk;
  /** The network (ledger) the peer stands in front of: receipts from it must name this ledger id. */
  networkId: string;
  /**
   * The key that ledger signs receipts and attestations with; the peer's claims are checked against it. Absent
   * for a ledger that is a chain: its claims are checked by reading the chain (GatewayOptions.ledgerCheckers).
   */
  ledgerKey?: PublicJwk;
}

/** A gateway's own settings and what it knows of its peers. Pure data. */
export interface GatewayConfig {
  id: string;
  publicJwk: PublicJwk;
  /** The network (ledger) this gateway stands in front of. */
  networkId: string;
  /** The key this gateway's own ledger signs receipts with: its answers are checked too (absent for a chain). */
  ledgerKey?: PublicJwk;
  peers: Record<string, PeerConfig>;
  /** Account that owns minted assets until they are assigned (3.2). Default: the gateway id. */
  escrowAccount?: string;
  /** Resend an unanswered message after this long. */
  retransmitMs: number;
  /**
   * Destination: how long past the lock expiry to wait before asking the origin ledger. Only the ledger's
   * own evidence decides a rollback (docs/assumptions.md); this just avoids asking too early.
   */
  deadlineGraceMs: number;
  /** Origin: do not start the burn this close to the lock expiry. */
  burnMarginMs: number;
  minLockSeconds: number;
  maxLockSeconds: number;
  chain: Pick<
    ChainContext,
    | 'resourceUrl'
    | 'developerUrn'
    | 'credentialProfile'
    | 'credentialBlock'
    | 'payloadProfile'
    | 'applicationProfile'
    | 'loggingProfile'
    | 'accessControlProfile'
  >;
}

export function gatewayConfig(
  c: Pick<GatewayConfig, 'id' | 'publicJwk' | 'networkId' | 'ledgerKey' | 'peers'> & Partial<GatewayConfig>,
): GatewayConfig {
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
