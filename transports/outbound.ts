// The outbound check every driver shares: a message leaves only as plain, bounded JSON text within the size limit.
import { SatpError } from '../kernel/errors.ts';
import { type Json, type JsonLimits, jsonProblem } from '../kernel/json.ts';
import { utf8Length } from './inbound.ts';

/**
 * The JSON text of `message`, or INVALID_INPUT if it is not plain JSON (the receiver's strict parser
 * would refuse it) or its UTF-8 text exceeds `maxBytes`. Refusing here means a caller's mistake is
 * reported to the caller, not as an error-msg from the peer.
 */
export function encodeMessage(message: Json, maxBytes: number, limits: JsonLimits): string {
  const problem = jsonProblem(message, limits, 'message');
  if (problem) throw new SatpError('INVALID_INPUT', `cannot send: ${problem}`);
  const text = JSON.stringify(message);
  const size = utf8Length(text);
  if (size > maxBytes)
    throw new SatpError('INVALID_INPUT', `cannot send: message is ${size} bytes, over the ${maxBytes}-byte limit`, {
      detail: { size, maxBytes },
    });
  return text;
}

export const unavailable = (peer: string, why: string, cause?: unknown): SatpError =>
  new SatpError('PEER_UNAVAILABLE', `peer ${peer} is unavailable: ${why}`, { cause, detail: { peer } });

export const closedError = (self: string): SatpError =>
  new SatpError('TRANSPORT_CLOSED', `transport of ${self} is closed`);
