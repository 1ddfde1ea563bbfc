// Checking ledger signatures before the reducer sees an event: signature checks are asynchronous (WebCrypto),
// the reducer is not. This only says which receipts and attestations are signed by the ledger they must come
// from; whether they prove anything (this session, this op, this asset) is the reducer's decision (claims.ts).
import type { Verifier } from '../crypto/types.ts';
import {
  type LedgerProofChecker,
  type LedgerTrust,
  verifyLedgerAttestation,
  verifyLedgerReceipt,
} from '../ledger-receipt.ts';
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

/**
 * A proof that can be neither accepted nor refused now: the chain it must be read on cannot be read, or its block
 * is not yet final enough. The event is not reduced; the driver tries it again later (as after a store failure).
 */
export class ProofsUnavailable extends Error {
  override name = 'ProofsUnavailable';
}

const settled = <T extends { ok: boolean; reason?: string; detail?: string }>(check: T): T => {
  if (!check.ok && check.reason === 'unavailable') throw new ProofsUnavailable(check.detail);
  return check;
};

async function verifiedIds(values: unknown[], trust: LedgerTrust, verifier: Verifier): Promise<string[]> {
  if ((!trust.key && !trust.checker) || values.length === 0) return [];
  const checks = (await Promise.all(values.map((v) => verifyLedgerReceipt(v, trust, verifier)))).map(settled);
  return values.filter((_, i) => checks[i]!.ok).map(proofId);
}

/** Ledger checkers by ledger (network) id: the ledgers that prove their answers on a chain (ledgers/evm). */
export type LedgerCheckers = Readonly<Record<string, LedgerProofChecker>>;

/**
 * The event with its proofs checked: a peer's receipts against the peer's ledger, this gateway's own ledger
 * answers against its own ledger, an attestation against the ledger it is from. A ledger that signs is checked
 * by its key (config), one that is a chain by its checker in `checkers` (by network id); a ledger with neither
 * verifies nothing. Throws ProofsUnavailable, and only that, when a chain cannot say now.
 */
export async function withCheckedProofs(
  ev: GatewayEvent,
  cfg: GatewayConfig,
  verifier: Verifier,
  attestedBy?: string,
  checkers: LedgerCheckers = {},
): Promise<GatewayEvent> {
  const own: LedgerTrust = { key: cfg.ledgerKey, checker: checkers[cfg.networkId] };
  const peer = (id: string | undefined): LedgerTrust => {
    const p = id === undefined ? undefined : cfg.peers[id];
    return p ? { key: p.ledgerKey, checker: checkers[p.networkId] } : {};
  };
  switch (ev.kind) {
    case 'message':
      return { ...ev, proofs: await verifiedIds(receiptsIn(ev.message), peer(ev.from), verifier) };
    case 'ledger-result':
      return { ...ev, verified: settled(await verifyLedgerReceipt(ev.receipt, own, verifier)).ok };
    case 'ledger-status':
      return ev.receipt ? { ...ev, verified: settled(await verifyLedgerReceipt(ev.receipt, own, verifier)).ok } : ev;
    case 'attestation': {
      const trust = peer(attestedBy);
      return ev.attestation && (trust.key || trust.checker)
        ? { ...ev, verified: settled(await verifyLedgerAttestation(ev.attestation, trust, verifier)).ok }
        : { ...ev, verified: false };
    }
    default:
      return ev;
  }
}
