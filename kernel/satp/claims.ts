// Ledger proofs as the reducer checks them: a receipt proves an operation only if its ledger's signature
// verified (done before the reducer, kernel/satp/proofs.ts), it says the operation applied, and it is bound to
// this session's operation: its ledger, opId, kind, asset and, where the whole op is known, every field (opHash).
import { hashJson } from '../hash.ts';
import type { Json } from '../json.ts';
import type { LedgerAttestation, LedgerOp, LedgerOpKind, LedgerReceipt } from '../ledger.ts';
import { opHashOf } from '../ledger-receipt.ts';
import { ledgerReceiptSchema } from '../ledger-schema.ts';
import { MSG } from './messages.ts';
import { burnOpId, compensationOp, lockOpId } from './ops.ts';
import type { Compensation, SessionState } from './state.ts';

/** The identity of a receipt or attestation as the proof check saw it: the hash of its whole JSON. */
export const proofId = (value: unknown): string => hashJson(value as Json);

/** The receipt a SATP claim carries (`{ receipt }`), if any; its shape is checked by checkReceipt. */
export const claimReceipt = (claim: unknown): LedgerReceipt | undefined =>
  claim !== null && typeof claim === 'object' && !Array.isArray(claim)
    ? ((claim as { receipt?: LedgerReceipt }).receipt ?? undefined)
    : undefined;

/**
 * The message that carries the claim of each forward operation a gateway performs itself (SATP core §7, the
 * "assertion" claims): its step, its type and the two fields it uses. One table for the four claim messages.
 */
export const CLAIM_MESSAGE = {
  lock: {
    step: '2.2',
    messageType: MSG.lockAssert,
    formatField: 'lockAssertionClaimFormat',
    format: 'LOCK_ASSERTION_CLAIM_FORMAT_1',
    claimField: 'lockAssertionClaim',
  },
  mint: {
    step: '3.3',
    messageType: MSG.commitReady,
    formatField: 'mintAssertionFormat',
    format: 'MINT_ASSERTION_CLAIM_FORMAT_1',
    claimField: 'mintAssertionClaim',
  },
  burn: {
    step: '3.5',
    messageType: MSG.commitFinal,
    formatField: 'burnAssertionClaimFormat',
    format: 'BURN_ASSERTION_CLAIM_FORMAT_1',
    claimField: 'burnAssertionClaim',
  },
  assign: {
    step: '3.7',
    messageType: MSG.ackCommitFinal,
    formatField: 'assignmentAssertionClaimFormat',
    format: 'ASSIGNMENT_ASSERTION_CLAIM_FORMAT_1',
    claimField: 'assignmentAssertionClaim',
  },
} as const;

export type ClaimedKind = keyof typeof CLAIM_MESSAGE;

export interface Expected {
  ledgerId: string;
  opId: string;
  kind: LedgerOpKind;
  assetId: string;
  /** The whole op, when this gateway knows every field of it: then the receipt's opHash must match too. */
  op?: LedgerOp;
}

export type ClaimCheck = { ok: true; receipt: LedgerReceipt } | { ok: false; unsigned: boolean; detail: string };

/** Whether `value` proves the expected operation applied. `verified`: ids of the proofs whose signature checked out. */
export function checkReceipt(value: unknown, verified: readonly string[], want: Expected): ClaimCheck {
  const parsed = ledgerReceiptSchema.safeParse(value);
  if (!parsed.success) return { ok: false, unsigned: false, detail: `no well-formed receipt for ${want.opId}` };
  const r = parsed.data;
  if (!verified.includes(proofId(value)))
    return { ok: false, unsigned: true, detail: `the receipt of ${r.opId} is not signed by ledger ${want.ledgerId}` };
  if (!r.ok) return { ok: false, unsigned: false, detail: `the receipt of ${r.opId} says the ledger refused it` };
  if (r.ledgerId !== want.ledgerId)
    return { ok: false, unsigned: false, detail: `the receipt is from ledger ${r.ledgerId}, not ${want.ledgerId}` };
  if (r.opId !== want.opId || r.kind !== want.kind || r.assetId !== want.assetId) {
    return {
      ok: false,
      unsigned: false,
      detail:
        `the receipt is for ${r.kind} ${r.opId} of ${r.assetId}, ` + `not ${want.kind} ${want.opId} of ${want.assetId}`,
    };
  }
  if (want.op && r.opHash !== opHashOf(want.op))
    return { ok: false, unsigned: false, detail: `the receipt of ${r.opId} is for an op with other fields` };
  return { ok: true, receipt: r };
}

export const assetOf = (s: SessionState): string => s.claim?.digitalAssetId ?? s.transfer?.assetId ?? '';

const KIND: Record<Compensation, LedgerOpKind> = { UNLOCK: 'unlock', BURN: 'burn' };

/**
 * The peer's ROLLBACK or ROLLBACK-ACK (recovery-04 §5.3.4–5): each proof must be a verified, applied receipt
 * of one of the peer's own compensations for this session, listed in actionsPerformed; and a compensation
 * this gateway knows the peer owes (it proved a lock, or a mint) must be among them. Undefined when they hold.
 */
export function compensationProblem(
  s: SessionState,
  peerLedgerId: string,
  actions: readonly string[],
  proofs: readonly unknown[],
  verified: readonly string[],
): string | undefined {
  if (actions.length !== proofs.length) return `${actions.length} actions performed but ${proofs.length} proofs`;
  const owed: Compensation[] =
    s.role === 'destination' ? (s.peerOps.lock ? ['UNLOCK'] : []) : s.peerOps.mint ? ['BURN'] : [];
  const expected: Compensation = s.role === 'destination' ? 'UNLOCK' : 'BURN';
  const proven = new Set<Compensation>();
  for (const [i, action] of actions.entries()) {
    if (action !== expected) return `the peer cannot have performed ${action} as a compensation`;
    const op = compensationOp(s.sessionId, assetOf(s), expected);
    const c = checkReceipt(proofs[i], verified, {
      ledgerId: peerLedgerId,
      opId: op.opId,
      kind: KIND[expected],
      assetId: assetOf(s),
      op,
    });
    if (!c.ok) return c.detail;
    proven.add(action);
  }
  const missing = owed.filter((c) => !proven.has(c));
  return missing.length
    ? `no proof of the peer's ${missing.join(', ')}, which it owes: ` +
        `it proved a ${s.role === 'destination' ? 'lock' : 'mint'}`
    : undefined;
}

/** What the origin ledger's attestation settles for a destination past the point of no return. */
export type Verdict =
  | { kind: 'burned' }
  /** The burn never happened and never can: the lock lapsed by the ledger's own clock, or no longer holds the asset. */
  | { kind: 'never'; why: string }
  /** The lock still holds by the ledger's clock: ask again once `lockExpiresAt` has passed there. */
  | { kind: 'wait'; ledgerTime: number; lockExpiresAt: number }
  | { kind: 'operator'; detail: string }
  | { kind: 'invalid'; detail: string };

export function judgeAttestation(
  s: SessionState,
  a: LedgerAttestation,
  verified: boolean,
  peerLedgerId: string,
): Verdict {
  if (!verified) return { kind: 'invalid', detail: `the attestation is not signed by ledger ${peerLedgerId}` };
  const assetId = assetOf(s);
  if (a.ledgerId !== peerLedgerId || a.assetId !== assetId)
    return { kind: 'invalid', detail: `the attestation is of ${a.assetId} on ${a.ledgerId}` };
  if (a.ops.some((o) => o.opId === burnOpId(s.sessionId) && o.ok)) return { kind: 'burned' };
  const asset = a.asset;
  if (!asset) return { kind: 'operator', detail: `the origin ledger has no asset ${assetId}` };
  if (asset.state === 'burned')
    return { kind: 'operator', detail: `${assetId} was burned on the origin ledger by another operation` };
  if (asset.state === 'locked' && asset.lockOpId === lockOpId(s.sessionId)) {
    if (asset.lockExpiresAt === undefined)
      return { kind: 'operator', detail: `this session's lock of ${assetId} has no expiry` };
    if (a.ledgerTime >= asset.lockExpiresAt)
      return {
        kind: 'never',
        why: `the lock lapsed at ${asset.lockExpiresAt} by the origin ledger's clock (${a.ledgerTime})`,
      };
    return { kind: 'wait', ledgerTime: a.ledgerTime, lockExpiresAt: asset.lockExpiresAt };
  }
  return {
    kind: 'never',
    why:
      `this session's lock no longer holds ${assetId} ` +
      `(${asset.state}${asset.lockOpId ? ` by ${asset.lockOpId}` : ''})`,
  };
}
