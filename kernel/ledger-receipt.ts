// Ledger receipts as proofs (recovery-04 §5.2.3): the op hash, sealing by the ledger, and verification by anyone.
import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import { hashJson } from './hash.ts';
import { canonicalJson, type Json } from './json.ts';
import type { LedgerAttestation, LedgerAttestationBody, LedgerOp, LedgerReceipt, LedgerReceiptBody } from './ledger.ts';
import { ledgerAttestationSchema, ledgerReceiptSchema } from './ledger-schema.ts';
import type { PublicJwk, Signer, Verifier } from './crypto/types.ts';

/** SHA-256 of the op's canonical JSON: equal hashes mean the same opId was asked for the same thing. */
export const opHashOf = (op: LedgerOp): string => hashJson(op as unknown as Json);

/** The signed bytes: the receipt without `proof`, in RFC 8785 canonical JSON; absent optional fields stay absent. */
export function receiptSigningBytes(receipt: LedgerReceiptBody | LedgerReceipt): Uint8Array {
  const { proof: _p, ...body } = receipt as LedgerReceipt;
  return utf8(canonicalJson(body as unknown as Json));
}

/** Signs a receipt body with the ledger's key. Used by ledger implementations, never by gateways. */
export async function sealReceipt(body: LedgerReceiptBody, signer: Signer): Promise<LedgerReceipt> {
  const clean: LedgerReceiptBody = {
    opId: body.opId,
    kind: body.kind,
    assetId: body.assetId,
    opHash: body.opHash,
    ok: body.ok,
    ledgerId: body.ledgerId,
    txSeq: body.txSeq,
  };
  if (body.error !== undefined) clean.error = { code: body.error.code, message: body.error.message };
  if (body.timestamp !== undefined) clean.timestamp = body.timestamp;
  return { ...clean, proof: toBase64Url(await signer.sign(receiptSigningBytes(clean))) };
}

export type ReceiptCheck =
  | { ok: true; receipt: LedgerReceipt }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'unavailable'; detail: string };

type Proven<T> = { ok: true; value: T } | { ok: false; reason: ReceiptCheckReason; detail: string };
type ReceiptCheckReason = 'malformed' | 'bad-signature' | 'unavailable';

const noTrust = (what: string, how: string) => ({
  ok: false as const,
  reason: 'bad-signature' as const,
  detail: `${what}: ${how}`,
});

/**
 * Shape first (parsed once), then the proof the way its ledger gives it: chain evidence by the trust's checker
 * (`unavailable` when the chain cannot say now), a signature by the trust's key over the canonical JSON without
 * `proof`. Never throws.
 */
async function checkProven<T extends { proof?: string | undefined; evidence?: unknown }>(
  value: unknown,
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  kind: 'receipt' | 'attestation',
  bytesOf: (v: T) => Uint8Array,
  onChain: (checker: LedgerProofChecker, v: T) => Promise<boolean>,
  trust: LedgerTrust,
  verifier: Verifier,
  what: (v: T) => string,
): Promise<Proven<T>> {
  const parsed = schema.safeParse(value);
  if (parsed.success && parsed.data.evidence !== undefined) {
    const v = parsed.data;
    if (!trust.checker) return noTrust(what(v), 'chain evidence, and no checker of that chain is configured');
    const good = await onChain(trust.checker, v).catch((err: unknown) => String(err));
    if (typeof good === 'string') return { ok: false, reason: 'unavailable', detail: `${what(v)}: ${good}` };
    return good ? { ok: true, value: v } : noTrust(what(v), 'the chain does not hold it');
  }
  if (!trust.key) return noTrust(kind, parsed.success ? 'signed, and no key of its ledger is configured' : 'malformed');
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', detail: `${issue?.path.join('.') || '(value)'}: ${issue?.message}` };
  }
  try {
    const good = await verifier.verify(trust.key, bytesOf(parsed.data), fromBase64Url(parsed.data.proof!));
    return good
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: 'bad-signature', detail: `${what(parsed.data)}: proof does not verify` };
  } catch (err) {
    return { ok: false, reason: 'bad-signature', detail: String(err) };
  }
}

const receiptWhat = (v: LedgerReceipt) => `receipt of ${v.opId} for ledger ${v.ledgerId}`;
const attestationWhat = (v: LedgerAttestation) => `attestation of ${v.assetId} for ledger ${v.ledgerId}`;

/**
 * Checks a receipt from anywhere: its shape, then the ledger's signature over it under `ledgerKey`.
 * Which ledger and which op it should be about is the caller's question (see receiptMatchesOp). Never throws.
 */
export async function verifyReceipt(receipt: unknown, ledgerKey: PublicJwk, verifier: Verifier): Promise<ReceiptCheck> {
  return verifyLedgerReceipt(receipt, { key: ledgerKey }, verifier);
}

/** Whether a receipt answers exactly this op (same id, kind, asset and every other field, via opHash). */
export const receiptMatchesOp = (receipt: LedgerReceiptBody, op: LedgerOp): boolean =>
  receipt.opId === op.opId &&
  receipt.kind === op.kind &&
  receipt.assetId === op.assetId &&
  receipt.opHash === opHashOf(op);

/** The signed bytes of an attestation: its canonical JSON without `proof`. */
export function attestationSigningBytes(a: LedgerAttestationBody | LedgerAttestation): Uint8Array {
  const { proof: _p, ...body } = a as LedgerAttestation;
  return utf8(canonicalJson(body as unknown as Json));
}

/** Signs an attestation body with the ledger's key. Used by ledger implementations, never by gateways. */
export async function sealAttestation(body: LedgerAttestationBody, signer: Signer): Promise<LedgerAttestation> {
  const clean: LedgerAttestationBody = {
    kind: 'attestation',
    ledgerId: body.ledgerId,
    assetId: body.assetId,
    ledgerTime: body.ledgerTime,
    txSeq: body.txSeq,
    ops: body.ops.map((o) => ({ opId: o.opId, ok: o.ok })),
  };
  if (body.asset) {
    const { assetId, owner, state, lockExpiresAt, lockOpId } = body.asset;
    clean.asset = {
      assetId,
      owner,
      state,
      ...(lockExpiresAt !== undefined ? { lockExpiresAt } : {}),
      ...(lockOpId !== undefined ? { lockOpId } : {}),
    };
  }
  return { ...clean, proof: toBase64Url(await signer.sign(attestationSigningBytes(clean))) };
}

export type AttestationCheck =
  | { ok: true; attestation: LedgerAttestation }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'unavailable'; detail: string };

/** Checks an attestation from anywhere: its shape, then the ledger's signature under `ledgerKey`. Never throws. */
export async function verifyAttestation(
  value: unknown,
  ledgerKey: PublicJwk,
  verifier: Verifier,
): Promise<AttestationCheck> {
  return verifyLedgerAttestation(value, { key: ledgerKey }, verifier);
}

/**
 * Checks the answers of a ledger that is a chain (ledgers/evm/check.ts): by reading the chain, not a signature.
 * Each method gets a value whose shape is already checked and whose `evidence` is present.
 */
export interface LedgerProofChecker {
  /**
   * Whether the chain recorded exactly this receipt, in a block final enough. Rejects when the chain cannot say now
   * (its node unreachable, the block not yet final enough): the proof is then neither accepted nor refused.
   */
  receipt(receipt: LedgerReceipt): Promise<boolean>;
  /** Whether the chain, at the attested block, held exactly this state. Rejects as `receipt` does. */
  attestation(attestation: LedgerAttestation): Promise<boolean>;
}

/** How one ledger's answers are checked: the key it signs with, or a checker that reads its chain (or both). */
export interface LedgerTrust {
  key?: PublicJwk | undefined;
  checker?: LedgerProofChecker | undefined;
}

/**
 * A receipt from anywhere, signed or carrying chain evidence, checked the way its ledger proves. Never throws; a
 * chain that cannot be read now is `reason: 'unavailable'` (neither proven nor refuted: ask again later).
 */
export async function verifyLedgerReceipt(
  value: unknown,
  trust: LedgerTrust,
  verifier: Verifier,
): Promise<ReceiptCheck> {
  const r = await checkProven(
    value,
    ledgerReceiptSchema,
    'receipt',
    receiptSigningBytes,
    (c, v) => c.receipt(v),
    trust,
    verifier,
    receiptWhat,
  );
  return r.ok ? { ok: true, receipt: r.value } : r;
}

/** An attestation from anywhere, checked the way its ledger proves, as verifyLedgerReceipt. Never throws. */
export async function verifyLedgerAttestation(
  value: unknown,
  trust: LedgerTrust,
  verifier: Verifier,
): Promise<AttestationCheck> {
  const r = await checkProven(
    value,
    ledgerAttestationSchema,
    'attestation',
    attestationSigningBytes,
    (c, v) => c.attestation(v),
    trust,
    verifier,
    attestationWhat,
  );
  return r.ok ? { ok: true, attestation: r.value } : r;
}
