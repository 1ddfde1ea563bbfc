// The origin gateway (SATP client, 2PC coordinator): steps 1.1, 1.3, 2.1, 2.2, 3.1, 3.4, 3.5, 3.8, 3.9.
import type { LedgerOp, LedgerReceipt } from '../ledger.ts';
import { hashJson } from '../hash.ts';
import type { Json } from '../json.ts';
import type { Decision, GatewayConfig } from './effects.ts';
import { MSG, SATP_VERSION, type MessageOf, type SatpMessage, type TransferInitClaim } from './messages.ts';
import type { TransferRequest } from './payloads.ts';
import { claimOrRollBack, startRollback } from './rollback.ts';
import type { SessionState } from './state.ts';
import { end, intent, iso, ledger, receive, record, send } from './steps.ts';
import { refusal, refuse, refuseClaim } from './refuse.ts';
import { GATEWAY_REFUSALS, SATP_ERRORS } from './error-codes.ts';
import { andThen, replyTo, sendToPeer } from './compose.ts';
import { checkReceipt, claimReceipt } from './claims.ts';
import { assignOp, burnOp, lockOp, mintOpId } from './ops.ts';

/** 1.1: log the request, then send the transfer proposal. */
export function startTransfer(req: TransferRequest, now: number, cfg: GatewayConfig): Decision {
  const peer = cfg.peers[req.peer];
  if (!peer)
    return {
      steps: [],
      effects: [{ kind: 'report', report: refusal(GATEWAY_REFUSALS.unknownPeer, `no peer ${req.peer}`) }],
    };
  if (req.lockSeconds < cfg.minLockSeconds || req.lockSeconds > cfg.maxLockSeconds) {
    return {
      steps: [],
      effects: [
        {
          kind: 'report',
          report: refusal(
            GATEWAY_REFUSALS.badRequest,
            `lockSeconds out of [${cfg.minLockSeconds}, ${cfg.maxLockSeconds}]`,
          ),
        },
      ],
    };
  }
  const claim: TransferInitClaim = {
    digitalAssetId: req.assetId,
    assetProfileId: req.assetProfileId,
    networkLockType: 'TIME_LOCK',
    assetLockExpirationTime: req.lockSeconds,
    verifiedOriginatorEntityId: req.originator,
    verifiedBeneficiaryEntityId: req.beneficiary,
    originatorPublicKey: req.originator,
    beneficiaryPublicKey: req.beneficiary,
    senderGatewaySignaturePublicKey: cfg.publicJwk,
    receiverGatewaySignaturePublicKey: peer.publicJwk,
    senderGatewayId: cfg.id,
    recipientGatewayId: req.peer,
    senderGatewayNetworkId: cfg.networkId,
    recipientGatewayNetworkId: peer.networkId,
  };
  const proposal: MessageOf<typeof MSG.transferProposal> = {
    version: SATP_VERSION,
    messageType: MSG.transferProposal,
    sessionId: req.sessionId,
    transferContextId: req.contextId,
    transferInitClaimFormat: 'TRANSFER_INIT_CLAIM_FORMAT_1',
    transferInitClaim: claim,
    gatewayAndNetworkCapabilities: {
      gatewayDefaultSignatureAlgorithm: cfg.publicJwk.crv === 'P-256' ? 'ES256' : 'ES256K',
      networkLockType: 'TIME_LOCK',
      networkLockExpirationTime: req.lockSeconds,
      gatewayTlsScheme: 'TLS_AES_128_GCM_SHA256',
    },
  };
  const claimHash = hashJson(claim as unknown as Json);
  return {
    context: {
      sessionId: req.sessionId,
      contextId: req.contextId,
      author: cfg.id,
      ...cfg.chain,
      originGatewayPubkey: cfg.publicJwk,
      originGatewaySystem: cfg.networkId,
      destinationGatewayPubkey: peer.publicJwk,
      destinationGatewaySystem: peer.networkId,
    },
    steps: [
      {
        phase: 'transfer-initiation',
        step: '1.1',
        operation: 'init',
        actionResponse: 'transfer requested',
        payload: { kind: 'request', request: req } as unknown as Json,
        timestamp: now,
      },
      ...send('1.1', now, req.peer, proposal, undefined, claimHash),
    ],
    effects: [
      { kind: 'send', to: req.peer, message: proposal, logged: true },
      // Before the lock nothing is at stake; a session that does not reach it within the lock's time is given up.
      { kind: 'set-timer', timer: 'deadline', at: now + req.lockSeconds * 1000 + cfg.deadlineGraceMs },
    ],
  };
}

/** A validated, in-order message from the destination; `proofs` are the ids of its verified ledger receipts. */
export function originOnMessage(
  s: SessionState,
  m: SatpMessage,
  hash: string,
  now: number,
  cfg: GatewayConfig,
  proofs: readonly string[],
): Decision {
  const t = s.transfer!;
  const peerLedger = cfg.peers[s.peer]?.networkId ?? '';
  switch (m.messageType) {
    case MSG.proposalReceipt: {
      if (m.hashTransferInitClaim !== s.hashes.initClaim)
        return refuse(s, m, hash, now, SATP_ERRORS.receiptClaimMismatch, 'receipt is for another claim');
      return andThen(s, { steps: [receive('1.2', now, s.peer, m, hash)], effects: [] }, (r) =>
        sendToPeer(r, '1.3', now, {
          ...replyTo(r),
          messageType: MSG.transferCommence,
          hashTransferInitClaim: r.hashes.initClaim!,
        }),
      );
    }
    case MSG.proposalReject:
      return {
        steps: [
          receive('1.2', now, s.peer, m, hash),
          end(now, 'rejected', `${m.title}${m.detail ? `: ${m.detail}` : ''}`),
        ],
        effects: [{ kind: 'report', report: { kind: 'ended', outcome: 'rejected', reason: m.title } }],
      };
    case MSG.ackCommence: {
      // 2.1: lock on the origin ledger, with the expiry the ledger will enforce (TIME_LOCK).
      const expiresAt = now + t.lockSeconds * 1000;
      const op = lockOp(s.sessionId, t.assetId, t.originator, expiresAt);
      return {
        steps: [receive('1.4', now, s.peer, m, hash), ...ledger('2.1', now, op, 'forward', expiresAt)],
        effects: [
          { kind: 'ledger-execute', op },
          { kind: 'set-timer', timer: 'deadline', at: expiresAt },
        ],
      };
    }
    case MSG.assertionReceipt:
      return andThen(s, { steps: [receive('2.4', now, s.peer, m, hash)], effects: [] }, (r) =>
        sendToPeer(r, '3.1', now, { ...replyTo(r), messageType: MSG.commitPrepare }),
      );
    case MSG.commitReady:
    case MSG.ackPrepare: {
      // The mint claim must prove this session's mint on the destination ledger before anything is burned.
      const mint = checkReceipt(claimReceipt(m.mintAssertionClaim), proofs, {
        ledgerId: peerLedger,
        opId: mintOpId(s.sessionId),
        kind: 'mint',
        assetId: t.assetId,
      });
      if (!mint.ok) return refuseClaim(s, m, hash, now, mint, SATP_ERRORS.mintClaimFormat);
      const received = { steps: [receive('3.3', now, s.peer, m, hash)], effects: [] };
      // Burn only while the lock surely holds; otherwise the ledger would refuse it anyway: roll back.
      if (s.lockExpiry === undefined || now >= s.lockExpiry - cfg.burnMarginMs) {
        return andThen(s, received, (r) =>
          startRollback(r, now, 'commit-ready came too close to the lock expiry', true),
        );
      }
      const op = burnOp(s.sessionId, t.assetId);
      return andThen(s, received, () => ({
        steps: ledger('3.4', now, op, 'forward'),
        effects: [
          { kind: 'ledger-execute', op },
          { kind: 'clear-timer', timer: 'deadline' },
        ],
      }));
    }
    case MSG.ackCommitFinal: {
      const assign = checkReceipt(claimReceipt(m.assignmentAssertionClaim), proofs, {
        ledgerId: peerLedger,
        opId: assignOp(s.sessionId, t.assetId, t.beneficiary).opId,
        kind: 'assign',
        assetId: t.assetId,
        op: assignOp(s.sessionId, t.assetId, t.beneficiary),
      });
      if (!assign.ok) return refuseClaim(s, m, hash, now, assign, SATP_ERRORS.assignClaimFormat);
      return andThen(
        s,
        {
          steps: [
            receive('3.7', now, s.peer, m, hash),
            intent('3.8', now, 'record the transfer'),
            record('3.8', now, 'asset burned on origin, assigned on destination'),
          ],
          effects: [],
        },
        (r) => {
          const done = sendToPeer(r, '3.9', now, {
            ...replyTo(r),
            messageType: MSG.transferComplete,
            hashTransferCommence: r.hashes.commence!,
          });
          return {
            steps: [...done.steps, end(now, 'committed', 'transfer complete')],
            effects: [
              ...done.effects,
              { kind: 'report', report: { kind: 'ended', outcome: 'committed', reason: 'transfer complete' } },
            ],
          };
        },
      );
    }
    default:
      return refuse(s, m, hash, now, SATP_ERRORS.invalidMessageType, `unexpected ${m.messageType}`);
  }
}

/** A verified receipt of the origin's pending lock or burn (forward path). */
export function originAfterLedger(s: SessionState, op: LedgerOp, receipt: LedgerReceipt, now: number): Decision {
  if (op.kind === 'lock')
    return claimOrRollBack(s, now, 'lock', receipt, { lockAssertionExpiration: iso(s.lockExpiry!) });
  if (op.kind === 'burn') return claimOrRollBack(s, now, 'burn', receipt);
  return { steps: [], effects: [{ kind: 'report', report: { kind: 'ignored', detail: `receipt for ${op.kind}` } }] };
}
