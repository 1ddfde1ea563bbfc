// Schemas for ledger ops and receipts arriving from outside: the one check before a ledger or gateway trusts them.
import * as z from './zod.ts';
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

const ref = z.string().check(z.regex(LEDGER_REF_PATTERN));
const base = { opId: ref, assetId: ref };
const epochMs = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));

export const ledgerOpSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('lock'),
    owner: ref,
    expiresAt: z.optional(epochMs),
  }),
  z.strictObject({ ...base, kind: z.literal('unlock'), lockOpId: z.optional(ref) }),
  z.strictObject({ ...base, kind: z.literal('burn'), lockOpId: z.optional(ref) }),
  z.strictObject({ ...base, kind: z.literal('mint'), owner: ref }),
  z.strictObject({ ...base, kind: z.literal('assign'), owner: ref }),
]);

export const assetRecordSchema = z.strictObject({
  assetId: ref,
  owner: ref,
  state: z.enum(ASSET_STATES),
  lockExpiresAt: z.optional(epochMs),
  lockOpId: z.optional(ref),
});

const HEX32 = /^0x[0-9a-f]{64}$/;
const blockNo = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));

/** ChainEvidence (kernel/ledger.ts): where on which chain, in which contract and block. */
export const chainEvidenceSchema = z.strictObject({
  type: z.literal('evm'),
  chainId: z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  contract: z.string().check(z.regex(/^0x[0-9a-f]{40}$/)),
  blockNumber: blockNo,
  blockHash: z.string().check(z.regex(HEX32)),
  txHash: z.optional(z.string().check(z.regex(HEX32))),
  logIndex: z.optional(blockNo),
});

const receiptShape = {
  opId: ref,
  kind: z.enum(LEDGER_OP_KINDS),
  assetId: ref,
  opHash: z.string().check(z.regex(HASH_PATTERN)),
  ok: z.boolean(),
  error: z.optional(z.strictObject({ code: z.enum(LEDGER_REFUSALS), message: z.string().check(z.maxLength(512)) })),
  ledgerId: z.string().check(z.regex(ID_PATTERN)),
  txSeq: z.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  timestamp: z.optional(epochMs),
  // A 64-byte r‖s signature is 86 base64url characters without padding.
  proof: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{86}$/))),
  evidence: z.optional(chainEvidenceSchema),
};

const oneProof = <T extends { proof?: string | undefined; evidence?: unknown }>() =>
  z.refine<T>((r) => (r.proof === undefined) !== (r.evidence === undefined), {
    message: 'exactly one of proof and evidence',
    path: ['proof'],
  });

export const ledgerReceiptSchema = z.strictObject(receiptShape).check(
  z.refine((r) => r.ok === (r.error === undefined), {
    message: 'error is present exactly when ok is false',
    path: ['error'],
  }),
  oneProof(),
  z.refine((r) => r.evidence === undefined || (r.evidence.txHash !== undefined && r.evidence.logIndex !== undefined), {
    message: 'the evidence of a receipt names its transaction and event',
    path: ['evidence'],
  }),
);

export const ledgerAttestationSchema = z
  .strictObject({
    kind: z.literal('attestation'),
    ledgerId: z.string().check(z.regex(ID_PATTERN)),
    assetId: ref,
    asset: z.optional(assetRecordSchema),
    ledgerTime: epochMs,
    txSeq: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
    ops: z.array(z.strictObject({ opId: ref, ok: z.boolean() })).check(z.maxLength(MAX_ATTESTED_OPS)),
    proof: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{86}$/))),
    evidence: z.optional(chainEvidenceSchema),
  })
  .check(
    oneProof(),
    z.refine(
      (a) => a.evidence === undefined || (a.evidence.txHash === undefined && a.evidence.logIndex === undefined),
      {
        message: 'the evidence of an attestation is a block, not a transaction',
        path: ['evidence'],
      },
    ),
  );

/** A fresh, well-formed attestation (its proof not yet checked: see verifyAttestation), or INVALID_INPUT. */
export function parseLedgerAttestation(value: unknown): LedgerAttestation {
  const r = ledgerAttestationSchema.safeParse(value);
  if (!r.success)
    throw new SatpError('INVALID_INPUT', `invalid ledger attestation: ${firstIssue(r.error, 'attestation')}`);
  return r.data;
}

const firstIssue = (error: z.core.$ZodError, what: string): string => {
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

/** An attestation request every ledger accepts: an asset id and at most MAX_ATTESTED_OPS op ids; else INVALID_INPUT. */
export function checkAttestRequest(assetId: unknown, opIds: unknown): void {
  if (typeof assetId !== 'string' || !LEDGER_REF_PATTERN.test(assetId))
    throw new SatpError('INVALID_INPUT', 'not an asset id');
  if (
    !Array.isArray(opIds) ||
    opIds.length > MAX_ATTESTED_OPS ||
    opIds.some((o) => typeof o !== 'string' || !LEDGER_REF_PATTERN.test(o))
  ) {
    throw new SatpError('INVALID_INPUT', `opIds must be at most ${MAX_ATTESTED_OPS} operation ids`);
  }
}
