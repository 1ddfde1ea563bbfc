// Builders for the entry steps a decision logs, so each decision reads like the SATP step it performs.
import type { EntryStep } from '../entry.ts';
import type { Json } from '../json.ts';
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { messageHash, type SatpMessage } from './messages.ts';
import type { LedgerAttestation } from '../ledger.ts';
import type { Payload, Purpose } from './payloads.ts';

export const PHASE: Record<string, string> = { '1': 'transfer-initiation', '2': 'lock-evidence', '3': 'commitment' };
const phaseOf = (step: string): string => PHASE[step[0] ?? ''] ?? (step === 'end' ? 'closure' : 'rollback');

const entry = (
  step: string,
  operation: EntryStep['operation'],
  now: number,
  payload: Payload,
  actionResponse = '',
): EntryStep => ({
  phase: phaseOf(step),
  step,
  operation,
  actionResponse,
  payload: payload as unknown as Json,
  timestamp: now,
});

export const intent = (step: string, now: number, what: string): EntryStep =>
  entry(step, 'init', now, { kind: 'record', what });
export const record = (step: string, now: number, what: string): EntryStep =>
  entry(step, 'done', now, { kind: 'record', what });

/** init + exec of a send (recovery-04 §3.2: the intent is logged before the message leaves). */
export function send(
  step: string,
  now: number,
  to: string,
  message: SatpMessage,
  inReplyTo?: string,
  claimHash?: string,
): EntryStep[] {
  const hash = messageHash(message);
  const payload: Payload = {
    kind: 'send',
    to,
    message,
    hash,
    ...(inReplyTo ? { inReplyTo } : {}),
    ...(claimHash ? { claimHash } : {}),
  };
  return [
    intent(step, now, `send ${short(message.messageType)}`),
    entry(step, 'exec', now, payload, `POST ${short(message.messageType)}`),
  ];
}

export const receive = (
  step: string,
  now: number,
  from: string,
  message: SatpMessage,
  hash: string,
  claimHash?: string,
): EntryStep =>
  entry(
    step,
    'ack',
    now,
    { kind: 'receive', from, message, hash, ...(claimHash ? { claimHash } : {}) },
    `accepted ${short(message.messageType)}`,
  );

/** init + exec of a ledger operation: durable before the ledger is called (write-ahead). */
export function ledger(step: string, now: number, op: LedgerOp, purpose: Purpose, expiresAt?: number): EntryStep[] {
  const payload: Payload = { kind: 'ledger-op', op, purpose, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  return [
    intent(step, now, `${op.kind} ${op.assetId}`),
    entry(step, 'exec', now, payload, `${op.kind.toUpperCase()} ${op.opId}`),
  ];
}

export const ledgerDone = (
  step: string,
  now: number,
  op: LedgerOp,
  purpose: Purpose,
  receipt: LedgerReceipt,
): EntryStep => entry(step, 'done', now, { kind: 'ledger-done', op, purpose, receipt }, `${op.kind.toUpperCase()} ok`);

export const ledgerFailed = (
  step: string,
  now: number,
  op: LedgerOp,
  purpose: Purpose,
  reason: string,
  receipt?: LedgerReceipt,
): EntryStep =>
  entry(
    step,
    'fail',
    now,
    { kind: 'ledger-failed', op, purpose, reason, ...(receipt ? { receipt } : {}) },
    `${op.kind.toUpperCase()} refused`,
  );

export const rollbackDecision = (now: number, reason: string, notify: boolean): EntryStep =>
  entry('rollback', 'init', now, { kind: 'rollback', reason, notify });
export const burnEvidence = (now: number, burned: boolean, attestation: LedgerAttestation): EntryStep =>
  entry(
    'deadline',
    'done',
    now,
    { kind: 'burn-evidence', burned, attestation },
    burned ? 'burn attested' : 'burn attested impossible',
  );
export const end = (now: number, outcome: 'committed' | 'rolled-back' | 'rejected', reason: string): EntryStep =>
  entry('end', 'done', now, { kind: 'end', outcome, reason });

const short = (urn: string): string => urn.slice(urn.lastIndexOf(':') + 1);

export const iso = (ms: number): string => new Date(ms).toISOString();
