// Builders for the entry steps a decision logs, so each decision reads like the SATP step it performs.
import type { EntryStep } from '../entry.ts';
import type { Json } from '../json.ts';
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { messageHash, type SatpMessage } from './messages.ts';
import type { Payload } from './payloads.ts';
import type { SessionState } from './state.ts';

export const PHASE: Record<string, string> = { '1': 'transfer-initiation', '2': 'lock-evidence', '3': 'commitment' };
const phaseOf = (step: string): string => PHASE[step[0] ?? ''] ?? (step === 'end' ? 'closure' : 'rollback');

const entry = (step: string, operation: EntryStep['operation'], now: number, payload: Payload, actionResponse = ''): EntryStep => ({
  phase: phaseOf(step),
  step,
  operation,
  actionResponse,
  payload: payload as unknown as Json,
  timestamp: now,
});

export const intent = (step: string, now: number, what: string): EntryStep => entry(step, 'init', now, { kind: 'record', what });
export const record = (step: string, now: number, what: string): EntryStep => entry(step, 'done', now, { kind: 'record', what });

/** init + exec of a send (recovery-04 §3.2: the intent is logged before the message leaves). */
export function send(step: string, now: number, to: string, message: SatpMessage, inReplyTo?: string, claimHash?: string): EntryStep[] {
  const hash = messageHash(message);
  const payload: Payload = { kind: 'send', to, message, hash, ...(inReplyTo ? { inReplyTo } : {}), ...(claimHash ? { claimHash } : {}) };
  return [intent(step, now, `send ${short(message.messageType)}`), entry(step, 'exec', now, payload, `POST ${short(message.messageType)}`)];
}

export const receive = (step: string, now: number, from: string, message: SatpMessage, hash: string, claimHash?: string): EntryStep =>
  entry(step, 'ack', now, { kind: 'receive', from, message, hash, ...(claimHash ? { claimHash } : {}) }, `accepted ${short(message.messageType)}`);

/** init + exec of a ledger operation: durable before the ledger is called (DESIGN §3). */
export function ledger(step: string, now: number, op: LedgerOp, purpose: 'forward' | 'rollback', expiresAt?: number): EntryStep[] {
  const payload: Payload = { kind: 'ledger-op', op, purpose, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  return [intent(step, now, `${op.kind} ${op.assetId}`), entry(step, 'exec', now, payload, `${op.kind.toUpperCase()} ${op.opId}`)];
}

export const ledgerDone = (step: string, now: number, op: LedgerOp, purpose: 'forward' | 'rollback', receipt: LedgerReceipt): EntryStep =>
  entry(step, 'done', now, { kind: 'ledger-done', op, purpose, receipt }, `${op.kind.toUpperCase()} ok`);

export const ledgerFailed = (step: string, now: number, op: LedgerOp, purpose: 'forward' | 'rollback', reason: string, receipt?: LedgerReceipt): EntryStep =>
  entry(step, 'fail', now, { kind: 'ledger-failed', op, purpose, reason, ...(receipt ? { receipt } : {}) }, `${op.kind.toUpperCase()} refused`);

export const rollbackDecision = (now: number, reason: string, notify: boolean): EntryStep => entry('rollback', 'init', now, { kind: 'rollback', reason, notify });
export const burnEvidence = (now: number, opId: string, burned: boolean, receipt?: LedgerReceipt): EntryStep =>
  entry('deadline', 'done', now, { kind: 'burn-evidence', opId, burned, ...(receipt ? { receipt } : {}) });
export const end = (now: number, outcome: 'committed' | 'rolled-back' | 'rejected', reason: string): EntryStep =>
  entry('end', 'done', now, { kind: 'end', outcome, reason });

/** The step label a ledger op was logged under, found from the state's pending op. */
export const stepOfOp = (s: SessionState, opId: string): string => (opId.split(':').at(-2) ?? s.head.seq.toString());

const short = (urn: string): string => urn.slice(urn.lastIndexOf(':') + 1);

/** Operation ids are derived from session and step (DESIGN §3), so a retry after a crash reuses them. */
export const opId = (sessionId: string, step: string, kind: string): string => `${sessionId}:${step}:${kind}`;

export const iso = (ms: number): string => new Date(ms).toISOString();
