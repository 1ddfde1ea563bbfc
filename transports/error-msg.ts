// The transport's generic SATP error-msg (SATP core "Error Messages"): one JSON shape sent back over WebSocket
// and returned as the RFC 9457 problem body over HTTP, so a sender reads refusals the same way on both.
import type { Json } from '../kernel/json.ts';
import type { Refusal } from './types.ts';

export const ERROR_MSG_TYPE = 'urn:ietf:params:satp:core:msgtype:error-msg';

/**
 * Problem types. SATP core's registry has the three general errors (err_0.1.x); the transport's own
 * conditions (authentication, size, time) have no SATP code, so they get this project's URNs.
 */
export const PROBLEM_TYPES = {
  badlyFormed: 'urn:ietf:params:satp:core:error:err_0.1.1', // 400: not JSON, duplicate keys, too deep, ...
  forbidden: 'urn:ietf:params:satp:core:error:err_0.1.2', // 403: not one of our peers
  badSignature: 'urn:ietf:params:satp:core:error:err_0.1.3', // 422: content signature (the codec's verdict)
  unauthenticated: 'urn:satp-recovery:error:unauthenticated', // 401: no valid proof of the sender's key
  tooLarge: 'urn:satp-recovery:error:message-too-large', // 413 / close 1009
  badEncoding: 'urn:satp-recovery:error:invalid-utf-8', // 400 / close 1007
  timeout: 'urn:satp-recovery:error:request-timeout', // 408
  busy: 'urn:satp-recovery:error:busy', // 503: a bounded table is full
  refused: 'urn:satp-recovery:error:refused', // 422: the validator refused without naming a type
  misdirected: 'urn:satp-recovery:error:misdirected', // 401: the signed request names another gateway
} as const;

const TITLES: Record<number, string> = {
  400: 'badly formed message',
  401: 'unauthenticated',
  403: 'insufficient permissions',
  408: 'request timeout',
  413: 'message too large',
  422: 'message refused',
  503: 'busy',
};

export interface ErrorMsgInput {
  status: number;
  type: string;
  detail: string;
  title?: string;
  /** SHA-256 hex of the offending message's bytes (SATP core: hashPrevMessage), when there was one. */
  hashPrevMessage?: string;
  /** The offending message's messageType, if it parsed and had one (SATP core: prevMsgType). */
  prevMsgType?: string;
  timestamp: number;
  fields?: Record<string, Json>;
}

/**
 * An error-msg. The transport does not know the session, so sessionId and transferContextId appear
 * only when the validator's refusal supplies them (`fields`); the codec's own error-msgs carry them.
 */
export function errorMessage(input: ErrorMsgInput): { [key: string]: Json } {
  const msg: { [key: string]: Json } = {
    ...(input.fields ?? {}),
    messageType: ERROR_MSG_TYPE,
    type: input.type,
    status: input.status,
    title: input.title ?? TITLES[input.status] ?? 'error',
    detail: input.detail,
    timestamp: input.timestamp,
  };
  if (input.hashPrevMessage !== undefined) msg.hashPrevMessage = input.hashPrevMessage;
  if (input.prevMsgType !== undefined) msg.prevMsgType = input.prevMsgType;
  return msg;
}

/** The error-msg for a validator's refusal of a message that parsed. */
export function refusalMessage(
  refusal: Refusal,
  message: Json,
  hashPrevMessage: string,
  timestamp: number,
): { [key: string]: Json } {
  return errorMessage({
    status: refusal.status ?? 422,
    type: refusal.type ?? PROBLEM_TYPES.refused,
    title: refusal.title,
    detail: refusal.detail,
    hashPrevMessage,
    prevMsgType: messageTypeOf(message),
    timestamp,
    fields: refusal.fields,
  });
}

export function messageTypeOf(message: Json): string | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const t = message.messageType;
  return typeof t === 'string' ? t : undefined;
}

/**
 * True for an error-msg. A transport never answers an error-msg with another one, so two gateways
 * whose validators refuse each other's errors cannot loop.
 */
export const isErrorMessage = (message: Json): boolean => messageTypeOf(message) === ERROR_MSG_TYPE;
