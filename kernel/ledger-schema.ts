// Schemas for ledger ops and receipts arriving from outside: the one check before a ledger or gateway trusts them.
import { z } from 'zod';
import { ID_PATTERN } from './entry.ts';
import { SatpError } from './errors.ts';
import { HASH_PATTERN } from './hash.ts';
import type { AssetRecord, LedgerAttestation, LedgerOp, LedgerReceipt } from './ledger.ts';
import { ASSET_STATES, LEDGER_OP_KINDS, LEDGER_REFUSALS, MAX_ATTESTED_OPS } from './ledger.ts';

/**
 * Op ids, asset ids and owners. Longer than gateway ids (an opId is derived from a session id, which
 * may itself be 128 characters, plus a step label), and from the same URL- and key-safe alphabet.
 */
export const LEDGER_REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;

const ref = z.string().regex(LEDGER_REF_PATTERN);
const base = { opId: ref, assetId: ref };

export const ledgerOpSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('lock'),
    owner: ref,
    expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  }),
  z.strictObject({ ...base, kind: z.literal('unlock'), lockOpId: ref.optional() }),
  z.strictObject({ ...base, kind: z.literal('burn'), lockOpId: ref.optional() }),
  z.strictObject({ ...base, kind: z.literal('mint'), owner: ref }),
  z.strictObject({ ...base, kind: z.literal('assign'), owner: ref }),
]);

const epochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const assetRecordSchema = z.strictObject({
  assetId: ref,
  owner: ref,
  state: z.enum(ASSET_STATES),
  lockExpiresAt: epochMs.optional(),
  lockOpId: ref.optional(),
});

const receiptShape = {
  opId: ref,
  kind: z.enum(LEDGER_OP_KINDS),
  assetId: ref,
  opHash: z.string().regex(HASH_PATTERN),
  ok: z.boolean(),
  error: z.strictObject({ code: z.enum(LEDGER_REFUSALS), message: z.string().max(512) }).optional(),
  ledgerId: z.string().regex(ID_PATTERN),
  txSeq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  // A 64-byte r‖s signature is 86 base64url characters without padding.
  proof: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
};

export const ledgerReceiptSchema = z.strictObject(receiptShape).refine((r) => r.ok === (r.error === undefined), {
  message: 'error is present exactly when ok is false',
  path: ['error'],
});

export const ledgerAttestationSchema = z.strictObject({
  kind: z.literal('attestation'),
  ledgerId: z.string().regex(ID_PATTERN),
  assetId: ref,
  asset: assetRecordSchema.optional(),
  ledgerTime: epochMs,
  txSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ops: z.array(z.strictObject({ opId: ref, ok: z.boolean() })).max(MAX_ATTESTED_OPS),
  proof: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});

/** A fresh, well-formed attestation (its proof not yet checked: see verifyAttestation), or INVALID_INPUT. */
export function parseLedgerAttestation(value: unknown): LedgerAttestation {
  const r = ledgerAttestationSchema.safeParse(value);
  if (!r.success)
    throw new SatpError('INVALID_INPUT', `invalid ledger attestation: ${firstIssue(r.error, 'attestation')}`);
  return r.data;
}

const firstIssue = (error: z.ZodError, what: string): string => {
  const issue = error.issues[0];
  return `${what}${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`;
};

/** A fresh, well-formed op (unknown fields refused), or SatpError INVALID_INPUT. */
export function parseLedgerOp(value: unknown): LedgerOp {
  const r = ledgerOpSchema.safeParse(value);
  if (!r.success) throw new SatpError('INVALID_INPUT', `invalid ledger op: ${firstIssue(r.error, 'op')}`);
  return r.data;
}

/** A fresh, well-formed receipt (its proof not yet checked: see verifyReceipt), or SatpError INVALID_INPUT. */
export function parseLedgerReceipt(value: unknown): LedgerReceipt {
  const r = ledgerReceiptSchema.safeParse(value);
  if (!r.success) throw new SatpError('INVALID_INPUT', `invalid ledger receipt: ${firstIssue(r.error, 'receipt')}`);
  return r.data;
}

/** A fresh, well-formed asset record, or SatpError INVALID_INPUT. */
export function parseAssetRecord(value: unknown): AssetRecord {
  const r = assetRecordSchema.safeParse(value);
  if (!r.success) throw new SatpError('INVALID_INPUT', `invalid asset record: ${firstIssue(r.error, 'asset')}`);
  return r.data;
}
