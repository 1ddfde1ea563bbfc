// SATP core §9.4 protocol error codes used by this implementation, and the error-msg builder.
import { MSG, type MessageType, SATP_VERSION, type MessageOf } from './messages.ts';

export interface SatpErrorCode {
  code: string;
  status: number;
  title: string;
}

const E = (code: string, status: number, title: string): SatpErrorCode => ({ code, status, title });

/**
 * Every SATP core §9.4 code this implementation sends, by name: decisions take codes from here, never
 * write them inline. Recovery messages (ROLLBACK, RECOVER…) have no codes of their own in the drafts and
 * use the general ones (err_0.1.x).
 */
export const SATP_ERRORS: Readonly<
  Record<
    | 'invalidMessageType'
    | 'forbidden'
    | 'badSignature'
    | 'invalidClaim'
    | 'unsupportedLockType'
    | 'unsupportedLockTime'
    | 'receiptClaimMismatch'
    | 'commenceClaimMismatch'
    | 'lockClaimFormat'
    | 'lockAssertionExpiration'
    | 'lockAssetNotFound'
    | 'lockAssertionExpired'
    | 'mintClaimFormat'
    | 'burnClaimFormat'
    | 'assignClaimFormat'
    | 'commenceMismatch',
    SatpErrorCode
  >
> = {
  invalidMessageType: E('err_0.1.1', 400, 'invalid message type'),
  forbidden: E('err_0.1.2', 403, 'insufficient permissions'),
  badSignature: E('err_0.1.3', 422, 'bad signature'),
  invalidClaim: E('err_1.1.11', 422, 'invalid digitalAssetId'),
  unsupportedLockType: E('err_1.1.32', 415, 'unsupported networkLockType'),
  unsupportedLockTime: E('err_1.1.33', 415, 'unsupported networkLockExpirationTime'),
  receiptClaimMismatch: E('err_1.2.3', 404, 'mismatch hashTransferInitClaim'),
  commenceClaimMismatch: E('err_1.3.3', 404, 'mismatch hashTransferInitClaim'),
  lockClaimFormat: E('err_2.2.3', 415, 'unsupported lockAssertionClaimFormat'),
  lockAssertionExpiration: E('err_2.2.4', 415, 'unsupported lockAssertionExpiration'),
  lockAssetNotFound: E('err_2.2.7', 404, 'asset not found'),
  lockAssertionExpired: E('err_2.2.9', 410, 'asset lock expired'),
  mintClaimFormat: E('err_3.3.4', 415, 'unsupported mintAssertionFormat'),
  burnClaimFormat: E('err_3.5.4', 415, 'unsupported burnAssertionClaimFormat'),
  assignClaimFormat: E('err_3.7.4', 415, 'unsupported assignmentAssertionClaimFormat'),
  commenceMismatch: E('err_3.9.4', 404, 'mismatch hashTransferCommence'),
} as const;

/**
 * Refusals that are this gateway's own, not SATP's: answers to its local caller (start a transfer, abort,
 * deliver a message) that no SATP message carries. The status is the HTTP status a caller would map it to.
 */
export const GATEWAY_REFUSALS: Readonly<
  Record<'unknownPeer' | 'badRequest' | 'closed' | 'quarantined' | 'fenced' | 'successorOnly', SatpErrorCode>
> = {
  unknownPeer: E('UNKNOWN_PEER', 400, 'unknown peer gateway'),
  badRequest: E('BAD_REQUEST', 400, 'bad transfer request'),
  closed: E('GATEWAY_CLOSED', 503, 'the gateway is closed'),
  quarantined: E('SESSION_QUARANTINED', 503, 'session left for an operator'),
  fenced: E('SESSION_FENCED', 409, 'session taken over by another gateway: this one stepped down'),
  successorOnly: E(
    'SUCCESSOR_ONLY',
    409,
    "a backup in another gateway's place finishes that gateway's sessions and starts none",
  ),
} as const;

/**
 * The stage-specific "mismatch" codes of §9.4: for a message of type `t`, the code for a mismatched
 * transferContextId, sessionId or hashPrevMessage. Types without their own row use the general code.
 */
const MISMATCH: Partial<Record<MessageType, { context: string; session: string; prev?: string }>> = {
  [MSG.proposalReceipt]: { context: 'err_1.2.1', session: 'err_1.2.2' },
  [MSG.transferCommence]: { context: 'err_1.3.1', session: 'err_1.3.2', prev: 'err_1.3.4' },
  [MSG.ackCommence]: { context: 'err_1.4.1', session: 'err_1.4.2', prev: 'err_1.4.3' },
  [MSG.lockAssert]: { context: 'err_2.2.1', session: 'err_2.2.2', prev: 'err_2.2.5' },
  [MSG.assertionReceipt]: { context: 'err_2.4.1', session: 'err_2.4.2', prev: 'err_2.4.3' },
  [MSG.commitPrepare]: { context: 'err_3.1.1', session: 'err_3.1.2', prev: 'err_3.1.3' },
  [MSG.commitReady]: { context: 'err_3.3.1', session: 'err_3.3.2', prev: 'err_3.3.3' },
  [MSG.ackPrepare]: { context: 'err_3.3.1', session: 'err_3.3.2', prev: 'err_3.3.3' },
  [MSG.commitFinal]: { context: 'err_3.5.1', session: 'err_3.5.2', prev: 'err_3.5.3' },
  [MSG.ackCommitFinal]: { context: 'err_3.7.1', session: 'err_3.7.2', prev: 'err_3.7.3' },
  [MSG.transferComplete]: { context: 'err_3.9.1', session: 'err_3.9.2', prev: 'err_3.9.3' },
};

export function mismatch(t: MessageType, what: 'context' | 'session' | 'prev'): SatpErrorCode {
  const row = MISMATCH[t];
  const code = row?.[what];
  const title =
    what === 'context'
      ? 'mismatch transferContextId'
      : what === 'session'
        ? 'mismatch sessionId'
        : 'mismatch hashPrevMessage';
  return code ? E(code, 404, title) : what === 'session' ? E('err_1.2.2', 404, title) : E('err_0.1.1', 400, title);
}

export function errorMessage(
  e: SatpErrorCode,
  about: { sessionId: string; transferContextId: string; hashPrevMessage: string; prevMsgType?: string },
  detail: string,
  timestamp: string,
): MessageOf<typeof MSG.error> {
  const m: MessageOf<typeof MSG.error> = {
    version: SATP_VERSION,
    messageType: MSG.error,
    type: `urn:ietf:params:satp:core:error:${e.code}`,
    status: e.status,
    title: e.title,
    detail: detail.slice(0, 2048),
    sessionId: about.sessionId,
    transferContextId: about.transferContextId,
    hashPrevMessage: about.hashPrevMessage,
    timestamp,
  };
  if (about.prevMsgType) m.prevMsgType = about.prevMsgType;
  return m;
}
