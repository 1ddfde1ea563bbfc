// Checking ledger signatures before the reducer sees an event: signature checks are asynchronous (WebCrypto),
// the reducer is not. This only says which receipts and attestations are signed by the ledger they must come
// from; whether they prove anything (this session, this op, this asset) is the reducer's decision (claims.ts).
import type { PublicJwk, Verifier } from '../crypto/types.ts';
import { verifyAttestation, verifyReceipt } from '../ledger-receipt.ts';
import { proofId } from './claims.ts';
import type { GatewayConfig, GatewayEvent } from './effects.ts';
import { MSG, type SatpMessage } from './messages.ts';
import { RMSG } from './recovery-messages.ts';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The ledger receipts a message carries: its assertion claim's receipt, or a ROLLBACK's proofs. */
export function receiptsIn(m: SatpMessage): unknown[] {
  const of = (claim: unknown): unknown[] => (isObject(claim) && claim.receipt !== undefined ? [claim.receipt] : []);
  switch (m.messageType) {
    case MSG.lockAssert:
      return of(m.lockAssertionClaim);
    case MSG.commitReady:
    case MSG.ackPrepare:
      return of(m.mintAssertionClaim);
    case MSG.commitFinal:
      return of(m.burnAssertionClaim);
    case MSG.ackCommitFinal:
      return of(m.assignmentAssertionClaim);
    case RMSG.rollback:
    case RMSG.rollbackAck:
      return [...m.proofs];
    default:
      return [];
  }
}

async function verifiedIds(values: unknown[], key: PublicJwk | undefined, verifier: Verifier): Promise<string[]> {
  if (!key || values.length === 0) return [];
  const checks = await Promise.all(values.map((v) => verifyReceipt(v, key, verifier)));
  return values.filter((_, i) => checks[i]!.ok).map(proofId);
}

/**
 * The event with its proofs checked: a peer's receipts against the key of the peer's ledger, this gateway's
 * own ledger answers against its own ledger's key, an attestation against the key of the ledger it is from.
 * Never throws; an unknown key verifies nothing.
 */
export async function withCheckedProofs(
  ev: GatewayEvent,
  cfg: GatewayConfig,
  verifier: Verifier,
  attestedBy?: string,
): Promise<GatewayEvent> {
  switch (ev.kind) {
    case 'message':
      return { ...ev, proofs: await verifiedIds(receiptsIn(ev.message), cfg.peers[ev.from]?.ledgerKey, verifier) };
    case 'ledger-result':
      return { ...ev, verified: (await verifyReceipt(ev.receipt, cfg.ledgerKey, verifier)).ok };
    case 'ledger-status':
      return ev.receipt ? { ...ev, verified: (await verifyReceipt(ev.receipt, cfg.ledgerKey, verifier)).ok } : ev;
    case 'attestation': {
      const key = attestedBy ? cfg.peers[attestedBy]?.ledgerKey : undefined;
      return ev.attestation && key
        ? { ...ev, verified: (await verifyAttestation(ev.attestation, key, verifier)).ok }
        : { ...ev, verified: false };
    }
    default:
      return ev;
  }
}
