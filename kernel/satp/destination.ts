// The destination gateway (SATP server, 2PC participant): steps 1.2, 1.4, 2.3, 2.4, 3.2, 3.3, 3.6, 3.7.
import { ledgerOp, type LedgerOp, type LedgerReceipt } from '../ledger.ts';
import { hashJson } from '../hash.ts';
import type { Json } from '../json.ts';
import { sameKey } from '../crypto/types.ts';
import type { Decision, GatewayConfig } from './effects.ts';
import { MSG, SATP_VERSION, type MessageOf, type SatpMessage } from './messages.ts';
import { startRollback } from './rollback.ts';
import type { SessionState } from './state.ts';
import { end, intent, iso, ledger, opId, receive, record, send } from './steps.ts';
import { refuse } from './refuse.ts';
import { SATP_ERRORS } from './error-codes.ts';
import { andThen } from './compose.ts';

type Proposal = MessageOf<typeof MSG.transferProposal>;

/** 1.1 → 1.2: a new session. Malformed or unauthenticated proposals are refused (nothing logged); well-formed ones the policy declines are rejected (logged, session ends). */
export function acceptProposal(from: string, m: Proposal, hash: string, now: number, cfg: GatewayConfig): Decision {
  const c = m.transferInitClaim;
  const peer = cfg.peers[from];
  const bad = (detail: string) => refuse(undefined, m, hash, now, SATP_ERRORS.invalidClaim, detail, from);
  if (!peer) return refuse(undefined, m, hash, now, SATP_ERRORS.forbidden, `unknown gateway ${from}`, from);
  if (c.senderGatewayId !== from) return bad('senderGatewayId is not the authenticated sender');
  if (c.recipientGatewayId !== cfg.id) return bad('recipientGatewayId is not this gateway');
  if (!sameKey(c.senderGatewaySignaturePublicKey, peer.publicJwk)) return bad('senderGatewaySignaturePublicKey is not the sender key');
  if (!sameKey(c.receiverGatewaySignaturePublicKey, cfg.publicJwk)) return bad('receiverGatewaySignaturePublicKey is not this gateway key');
  if (c.recipientGatewayNetworkId !== cfg.networkId) return bad('recipientGatewayNetworkId is not this network');

  const claimHash = hashJson(c as unknown as Json);
  const context = {
    sessionId: m.sessionId,
    contextId: m.transferContextId,
    author: cfg.id,
    ...cfg.chain,
    originGatewayPubkey: peer.publicJwk,
    originGatewaySystem: c.senderGatewayNetworkId,
    destinationGatewayPubkey: cfg.publicJwk,
    destinationGatewaySystem: cfg.networkId,
  };
  const ack = receive('1.1', now, from, m, hash, claimHash);
  const policy =
    c.networkLockType !== 'TIME_LOCK' ? { code: 'err_1.1.32', status: 415, title: 'unsupported networkLockType' }
    : c.assetLockExpirationTime < cfg.minLockSeconds || c.assetLockExpirationTime > cfg.maxLockSeconds ? { code: 'err_1.1.33', status: 415, title: 'unsupported networkLockExpirationTime' }
    : undefined;
  const base = { version: SATP_VERSION, sessionId: m.sessionId, transferContextId: m.transferContextId, hashPrevMessage: hash } as const;
  if (policy) {
    const reject: MessageOf<typeof MSG.proposalReject> = { ...base, messageType: MSG.proposalReject, type: `urn:ietf:params:satp:core:error:${policy.code}`, status: policy.status, title: policy.title };
    return {
      context,
      steps: [ack, ...send('1.2', now, from, reject, hash), end(now, 'rejected', policy.title)],
      effects: [{ kind: 'send', to: from, message: reject, logged: true }, { kind: 'report', report: { kind: 'ended', outcome: 'rejected', reason: policy.title } }],
    };
  }
  const receipt: MessageOf<typeof MSG.proposalReceipt> = { ...base, messageType: MSG.proposalReceipt, hashTransferInitClaim: claimHash, timestamp: iso(now) };
  return { context, steps: [ack, ...send('1.2', now, from, receipt, hash)], effects: [{ kind: 'send', to: from, message: receipt, logged: true }] };
}

const reply = (s: SessionState) => ({ version: SATP_VERSION, sessionId: s.sessionId, transferContextId: s.contextId, hashPrevMessage: s.lastReceived! }) as const;
const sendTo = (s: SessionState, step: string, now: number, m: SatpMessage): Decision => ({
  steps: send(step, now, s.peer, m, s.lastReceived),
  effects: [{ kind: 'send', to: s.peer, message: m, logged: true }],
});

const receiptOf = (claim: unknown): LedgerReceipt | undefined => (claim as { receipt?: LedgerReceipt } | null)?.receipt;

/** A validated, in-order message from the origin. */
export function destinationOnMessage(s: SessionState, m: SatpMessage, hash: string, now: number, cfg: GatewayConfig): Decision {
  switch (m.messageType) {
    case MSG.transferCommence:
      if (m.hashTransferInitClaim !== s.hashes.initClaim) return refuse(s, m, hash, now, { code: 'err_1.3.3', status: 404, title: 'mismatch hashTransferInitClaim' }, 'commence names another claim');
      return andThen(s, { steps: [receive('1.3', now, s.peer, m, hash)], effects: [] }, (r) => sendTo(r, '1.4', now, { ...reply(r), messageType: MSG.ackCommence }));
    case MSG.lockAssert: {
      const expiry = Date.parse(m.lockAssertionExpiration);
      if (!(expiry > now)) return refuse(s, m, hash, now, SATP_ERRORS.lockAssertionExpired, `lock expired at ${m.lockAssertionExpiration}`);
      const r = receiptOf(m.lockAssertionClaim);
      if (!r || r.kind !== 'lock' || r.ok !== true || r.assetId !== s.claim?.digitalAssetId) {
        return refuse(s, m, hash, now, { code: 'err_2.2.7', status: 404, title: 'asset not found' }, 'the lock assertion claim holds no successful lock receipt for this asset');
      }
      return andThen(
        s,
        { steps: [receive('2.2', now, s.peer, m, hash), intent('2.3', now, 'record the lock assertion'), record('2.3', now, `lock of ${r.assetId} on ${r.ledgerId} until ${m.lockAssertionExpiration}`)], effects: [{ kind: 'set-timer', timer: 'deadline', at: expiry + cfg.deadlineGraceMs }] },
        (after) => sendTo(after, '2.4', now, { ...reply(after), messageType: MSG.assertionReceipt }),
      );
    }
    case MSG.commitPrepare: {
      const op = ledgerOp.mint(opId(s.sessionId, '3.2', 'mint'), s.claim!.digitalAssetId, cfg.escrowAccount ?? cfg.id);
      return { steps: [receive('3.1', now, s.peer, m, hash), ...ledger('3.2', now, op, 'forward')], effects: [{ kind: 'ledger-execute', op }] };
    }
    case MSG.commitFinal: {
      const r = receiptOf(m.burnAssertionClaim);
      if (!r || r.kind !== 'burn' || r.ok !== true || r.assetId !== s.claim?.digitalAssetId) {
        return refuse(s, m, hash, now, { code: 'err_3.5.4', status: 415, title: 'unsupported burnAssertionClaimFormat' }, 'the burn assertion claim holds no successful burn receipt for this asset');
      }
      const received = { steps: [receive('3.5', now, s.peer, m, hash)], effects: [{ kind: 'clear-timer' as const, timer: 'deadline' as const }] };
      const assigned = s.receipts[assignOpId(s.sessionId)];
      // Already assigned on burn evidence (past the deadline): answer now. Assign in flight: its result answers.
      if (assigned?.ok) return andThen(s, received, (after) => sendAck(after, now, assigned));
      if (s.pendingOp?.kind === 'assign') return received;
      return andThen(s, received, (after) => assign(after, now));
    }
    case MSG.transferComplete:
      if (m.hashTransferCommence !== s.hashes.commence) return refuse(s, m, hash, now, { code: 'err_3.9.4', status: 404, title: 'mismatch hashTransferCommence' }, 'names another commence');
      return {
        steps: [receive('3.9', now, s.peer, m, hash), end(now, 'committed', 'transfer complete')],
        effects: [{ kind: 'report', report: { kind: 'ended', outcome: 'committed', reason: 'transfer complete' } }],
      };
    default:
      return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, `unexpected ${m.messageType}`);
  }
}

/** 3.6: assign the minted asset to the beneficiary (after commit-final, or after the burn was seen on the origin ledger). */
export const assignOpId = (sessionId: string): string => opId(sessionId, '3.6', 'assign');

export function assign(s: SessionState, now: number): Decision {
  const op = ledgerOp.assign(assignOpId(s.sessionId), s.claim!.digitalAssetId, s.claim!.verifiedBeneficiaryEntityId);
  return { steps: ledger('3.6', now, op, 'forward'), effects: [{ kind: 'ledger-execute', op }] };
}

export function destinationAfterLedger(s: SessionState, op: LedgerOp, receipt: LedgerReceipt, now: number): Decision {
  if (op.kind === 'mint') {
    if (!receipt.ok) return startRollback(s, now, `mint refused: ${receipt.error?.code ?? 'unknown'}`, true);
    return sendTo(s, '3.3', now, { ...reply(s), messageType: MSG.commitReady, mintAssertionFormat: 'MINT_ASSERTION_CLAIM_FORMAT_1', mintAssertionClaim: { receipt } as unknown as Json } as SatpMessage);
  }
  if (op.kind === 'assign') {
    if (!receipt.ok) return { steps: [], effects: [{ kind: 'report', report: { kind: 'needs-operator', detail: `assign refused after the burn: ${receipt.error?.code}` } }] };
    // 3.7 answers the commit-final. Assigned on burn evidence instead: wait for the commit-final.
    if (s.lastReceivedType === MSG.commitFinal) return sendAck(s, now, receipt);
    return { steps: [], effects: [] };
  }
  return { steps: [], effects: [{ kind: 'report', report: { kind: 'ignored', detail: `receipt for ${op.kind}` } }] };
}

function sendAck(s: SessionState, now: number, receipt: LedgerReceipt): Decision {
  return sendTo(s, '3.7', now, {
    ...reply(s),
    messageType: MSG.ackCommitFinal,
    assignmentAssertionClaimFormat: 'ASSIGNMENT_ASSERTION_CLAIM_FORMAT_1',
    assignmentAssertionClaim: { receipt } as unknown as Json,
  } as SatpMessage);
}
