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

type Signed<T> = { ok: true; value: T } | { ok: false; reason: 'malformed' | 'bad-signature'; detail: string };

/** Shape first, then the ledger's signature over the canonical JSON without `proof`. Never throws. */
async function checkSigned<T extends { proof?: string }>(
  value: unknown,
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  bytesOf: (v: T) => Uint8Array,
  ledgerKey: PublicJwk,
  verifier: Verifier,
  what: (v: T) => string,
): Promise<Signed<T>> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', detail: `${issue?.path.join('.') || '(value)'}: ${issue?.message}` };
  }
  const proof = parsed.data.proof;
  if (proof === undefined)
    return { ok: false, reason: 'bad-signature', detail: `${what(parsed.data)}: chain evidence, not a signature` };
  try {
    const good = await verifier.verify(ledgerKey, bytesOf(parsed.data), fromBase64Url(proof));
    return good
      ? { ok: true, value: parsed.data }
      : { ok: false, reason: 'bad-signature', detail: `${what(parsed.data)}: proof does not verify` };
  } catch (err) {
    return { ok: false, reason: 'bad-signature', detail: String(err) };
  }
}

/**
 * Checks a receipt from anywhere: its shape, then the ledger's signature over it under `ledgerKey`.
 * Which ledger and which op it should be about is the caller's question (see receiptMatchesOp). Never throws.
 */
export async function verifyReceipt(receipt: unknown, ledgerKey: PublicJwk, verifier: Verifier): Promise<ReceiptCheck> {
  const r = await checkSigned(
    receipt,
    ledgerReceiptSchema,
    receiptSigningBytes,
    ledgerKey,
    verifier,
    (v) => `receipt of ${v.opId} for ledger ${v.ledgerId}`,
  );
  return r.ok ? { ok: true, receipt: r.value } : r;
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
  const r = await checkSigned(
    value,
    ledgerAttestationSchema,
    attestationSigningBytes,
    ledgerKey,
    verifier,
    (v) => `attestation of ${v.assetId} for ledger ${v.ledgerId}`,
  );
  return r.ok ? { ok: true, attestation: r.value } : r;
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

const noTrust = (what: string, how: string) => ({
  ok: false as const,
  reason: 'bad-signature' as const,
  detail: `${what}: ${how}`,
});

/**
 * A receipt from anywhere, signed or carrying chain evidence, checked the way its ledger proves. Never throws; a
 * chain that cannot be read now is `reason: 'unavailable'` (neither proven nor refuted: ask again later).
 */
export async function verifyLedgerReceipt(
  value: unknown,
  trust: LedgerTrust,
  verifier: Verifier,
): Promise<ReceiptCheck> {
  const parsed = ledgerReceiptSchema.safeParse(value);
  if (parsed.success && parsed.data.evidence !== undefined) {
    const r = parsed.data;
    const what = `receipt of ${r.opId} for ledger ${r.ledgerId}`;
    if (!trust.checker) return noTrust(what, 'chain evidence, and no checker of that chain is configured');
    const good = await trust.checker.receipt(r).catch((err: unknown) => String(err));
    if (typeof good === 'string') return { ok: false, reason: 'unavailable', detail: `${what}: ${good}` };
    return good ? { ok: true, receipt: r } : noTrust(what, 'the chain does not hold it');
  }
  if (!trust.key)
    return noTrust('receipt', parsed.success ? 'signed, and no key of its ledger is configured' : 'malformed');
  return verifyReceipt(value, trust.key, verifier);
}

/** An attestation from anywhere, checked the way its ledger proves, as verifyLedgerReceipt. Never throws. */
export async function verifyLedgerAttestation(
  value: unknown,
  trust: LedgerTrust,
  verifier: Verifier,
): Promise<AttestationCheck> {
  const parsed = ledgerAttestationSchema.safeParse(value);
  if (parsed.success && parsed.data.evidence !== undefined) {
    const a = parsed.data;
    const what = `attestation of ${a.assetId} for ledger ${a.ledgerId}`;
    if (!trust.checker) return noTrust(what, 'chain evidence, and no checker of that chain is configured');
    const good = await trust.checker.attestation(a).catch((err: unknown) => String(err));
    if (typeof good === 'string') return { ok: false, reason: 'unavailable', detail: `${what}: ${good}` };
    return good ? { ok: true, attestation: a } : noTrust(what, 'the chain does not hold it');
  }
  if (!trust.key)
    return noTrust('attestation', parsed.success ? 'signed, and no key of its ledger is configured' : 'malformed');
  return verifyAttestation(value, trust.key, verifier);
}
