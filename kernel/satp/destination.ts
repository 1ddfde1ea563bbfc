// The destination gateway (SATP server, 2PC participant): steps 1.2, 1.4, 2.3, 2.4, 3.2, 3.3, 3.6, 3.7.
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { hashJson } from '../hash.ts';
import type { Json } from '../json.ts';
import { sameKeyAs } from '../crypto/types.ts';
import type { Decision, GatewayConfig } from './effects.ts';
import { claimOf, MSG, SATP_VERSION, type MessageOf, type SatpMessage } from './messages.ts';
import { claimOrRollBack, sendClaim } from './rollback.ts';
import type { SessionState } from './state.ts';
import { end, intent, iso, ledger, receive, record, send } from './steps.ts';
import { refuse, refuseClaim } from './refuse.ts';
import { SATP_ERRORS } from './error-codes.ts';
import { andThen, replyTo, sendToPeer } from './compose.ts';
import { checkReceipt, claimReceipt } from './claims.ts';
import { assignOp, assignOpId, burnOp, lockOp, lockOpId, mintOp } from './ops.ts';

type Proposal = MessageOf<typeof MSG.transferProposal>;

/**
 * 1.1 → 1.2: a new session. Malformed or unauthenticated proposals are refused (nothing logged); well-formed ones the
 * policy declines are rejected (logged, session ends).
 */
export function acceptProposal(from: string, m: Proposal, hash: string, now: number, cfg: GatewayConfig): Decision {
  const c = m.transferInitClaim;
  const peer = cfg.peers[from];
  const bad = (detail: string) => refuse(undefined, m, hash, now, SATP_ERRORS.invalidClaim, detail, from);
  if (!peer) return refuse(undefined, m, hash, now, SATP_ERRORS.forbidden, `unknown gateway ${from}`, from);
  if (c.senderGatewayId !== from) return bad('senderGatewayId is not the authenticated sender');
  if (c.recipientGatewayId !== cfg.id) return bad('recipientGatewayId is not this gateway');
  if (!sameKeyAs(c.senderGatewaySignaturePublicKey, peer.publicJwk))
    return bad('senderGatewaySignaturePublicKey is not the sender key');
  if (!sameKeyAs(c.receiverGatewaySignaturePublicKey, cfg.publicJwk))
    return bad('receiverGatewaySignaturePublicKey is not this gateway key');
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
  const lockSeconds = claimOf(m).assetLockExpirationTime;
  const policy =
    c.networkLockType !== 'TIME_LOCK'
      ? SATP_ERRORS.unsupportedLockType
      : lockSeconds < cfg.minLockSeconds || lockSeconds > cfg.maxLockSeconds
        ? SATP_ERRORS.unsupportedLockTime
        : undefined;
  const base = {
    version: SATP_VERSION,
    sessionId: m.sessionId,
    transferContextId: m.transferContextId,
    hashPrevMessage: hash,
  } as const;
  if (policy) {
    const reject: MessageOf<typeof MSG.proposalReject> = {
      ...base,
      messageType: MSG.proposalReject,
      type: `urn:ietf:params:satp:core:error:${policy.code}`,
      status: policy.status,
      title: policy.title,
    };
    return {
      context,
      steps: [ack, ...send('1.2', now, from, reject, hash), end(now, 'rejected', policy.title)],
      effects: [
        { kind: 'send', to: from, message: reject, logged: true },
        { kind: 'report', report: { kind: 'ended', outcome: 'rejected', reason: policy.title } },
      ],
    };
  }
  const receipt: MessageOf<typeof MSG.proposalReceipt> = {
    ...base,
    messageType: MSG.proposalReceipt,
    hashTransferInitClaim: claimHash,
    timestamp: iso(now),
  };
  return {
    context,
    steps: [ack, ...send('1.2', now, from, receipt, hash)],
    effects: [
      { kind: 'send', to: from, message: receipt, logged: true },
      // Before the lock nothing is at stake here; a session that does not reach it within the lock's time is given up.
      { kind: 'set-timer', timer: 'deadline', at: now + lockSeconds * 1000 + cfg.deadlineGraceMs },
    ],
  };
}

/** A validated, in-order message from the origin; `proofs` are the ids of its verified ledger receipts. */
export function destinationOnMessage(
  s: SessionState,
  m: SatpMessage,
  hash: string,
  now: number,
  cfg: GatewayConfig,
  proofs: readonly string[],
): Decision {
  const assetId = s.claim!.digitalAssetId;
  const peerLedger = cfg.peers[s.peer]?.networkId ?? '';
  switch (m.messageType) {
    case MSG.transferCommence:
      if (m.hashTransferInitClaim !== s.hashes.initClaim)
        return refuse(s, m, hash, now, SATP_ERRORS.commenceClaimMismatch, 'commence names another claim');
      return andThen(s, { steps: [receive('1.3', now, s.peer, m, hash)], effects: [] }, (r) =>
        sendToPeer(r, '1.4', now, { ...replyTo(r), messageType: MSG.ackCommence }),
      );
    case MSG.lockAssert: {
      const expiry = Date.parse(m.lockAssertionExpiration);
      if (!(expiry > now))
        return refuse(
          s,
          m,
          hash,
          now,
          SATP_ERRORS.lockAssertionExpired,
          `lock expired at ${m.lockAssertionExpiration}`,
        );
      // The claim must prove this session's lock of this asset, owned by the originator, until exactly this expiry.
      const want = { ledgerId: peerLedger, opId: lockOpId(s.sessionId), kind: 'lock' as const, assetId };
      const lock = checkReceipt(claimReceipt(m.lockAssertionClaim), proofs, want);
      if (!lock.ok) return refuseClaim(s, m, hash, now, lock, SATP_ERRORS.lockAssetNotFound);
      const bound = checkReceipt(claimReceipt(m.lockAssertionClaim), proofs, {
        ...want,
        op: lockOp(s.sessionId, assetId, s.claim!.verifiedOriginatorEntityId, expiry),
      });
      if (!bound.ok)
        return refuse(
          s,
          m,
          hash,
          now,
          SATP_ERRORS.lockAssertionExpiration,
          `${bound.detail}: not a lock by the originator until ${m.lockAssertionExpiration}`,
        );
      return andThen(
        s,
        {
          steps: [
            receive('2.2', now, s.peer, m, hash),
            intent('2.3', now, 'record the lock assertion'),
            record('2.3', now, `lock of ${assetId} on ${peerLedger} until ${m.lockAssertionExpiration}`),
          ],
          effects: [{ kind: 'set-timer', timer: 'deadline', at: expiry + cfg.deadlineGraceMs }],
        },
        (after) => sendToPeer(after, '2.4', now, { ...replyTo(after), messageType: MSG.assertionReceipt }),
      );
    }
    case MSG.commitPrepare: {
      const op = mintOp(s.sessionId, assetId, cfg.escrowAccount ?? cfg.id);
      return {
        steps: [receive('3.1', now, s.peer, m, hash), ...ledger('3.2', now, op, 'forward')],
        effects: [{ kind: 'ledger-execute', op }],
      };
    }
    case MSG.commitFinal: {
      const op = burnOp(s.sessionId, assetId);
      const burn = checkReceipt(claimReceipt(m.burnAssertionClaim), proofs, {
        ledgerId: peerLedger,
        opId: op.opId,
        kind: 'burn',
        assetId,
        op,
      });
      if (!burn.ok) return refuseClaim(s, m, hash, now, burn, SATP_ERRORS.burnClaimFormat);
      const received = {
        steps: [receive('3.5', now, s.peer, m, hash)],
        effects: [{ kind: 'clear-timer' as const, timer: 'deadline' as const }],
      };
      const assigned = s.receipts[assignOpId(s.sessionId)];
      // Already assigned on burn evidence (past the deadline): answer now. Assign in flight: its result answers.
      if (assigned?.ok) return andThen(s, received, (after) => sendAck(after, now, assigned));
      if (s.pending?.op.kind === 'assign') return received;
      return andThen(s, received, (after) => assign(after, now));
    }
    case MSG.transferComplete:
      if (m.hashTransferCommence !== s.hashes.commence)
        return refuse(s, m, hash, now, SATP_ERRORS.commenceMismatch, 'names another commence');
      return {
        steps: [receive('3.9', now, s.peer, m, hash), end(now, 'committed', 'transfer complete')],
        effects: [{ kind: 'report', report: { kind: 'ended', outcome: 'committed', reason: 'transfer complete' } }],
      };
    default:
      return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, `unexpected ${m.messageType}`);
  }
}

/**
 * 3.6: assign the minted asset to the beneficiary (after commit-final, or after the burn was seen on the origin
 * ledger).
 */
export function assign(s: SessionState, now: number): Decision {
  const op = assignOp(s.sessionId, s.claim!.digitalAssetId, s.claim!.verifiedBeneficiaryEntityId);
  return { steps: ledger('3.6', now, op, 'forward'), effects: [{ kind: 'ledger-execute', op }] };
}

export function destinationAfterLedger(s: SessionState, op: LedgerOp, receipt: LedgerReceipt, now: number): Decision {
  if (op.kind === 'mint') return claimOrRollBack(s, now, 'mint', receipt);
  if (op.kind === 'assign') {
    if (!receipt.ok)
      return {
        steps: [],
        effects: [
          {
            kind: 'report',
            report: { kind: 'needs-operator', detail: `assign refused after the burn: ${receipt.error?.code}` },
          },
        ],
      };
    // 3.7 answers the commit-final. Assigned on burn evidence instead: wait for the commit-final.
    if (s.lastReceivedType === MSG.commitFinal) return sendAck(s, now, receipt);
    return { steps: [], effects: [] };
  }
  return { steps: [], effects: [{ kind: 'report', report: { kind: 'ignored', detail: `receipt for ${op.kind}` } }] };
}

function sendAck(s: SessionState, now: number, receipt: LedgerReceipt): Decision {
  return sendClaim(s, now, 'assign', receipt);
}
