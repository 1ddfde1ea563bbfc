// Refusing a message: an unlogged error-msg back (SATP core §9), nothing logged, nothing changed.
import type { Decision } from './effects.ts';
import { errorMessage, type SatpErrorCode } from './error-codes.ts';
import { contextOf, type SatpMessage } from './messages.ts';
import { iso } from './steps.ts';

export function refuse(
  s: { peer: string } | undefined,
  m: SatpMessage,
  hash: string,
  now: number,
  e: SatpErrorCode,
  detail: string,
  to?: string,
): Decision {
  const reply = errorMessage(
    e,
    { sessionId: m.sessionId, transferContextId: contextOf(m), hashPrevMessage: hash, prevMsgType: m.messageType },
    detail,
    iso(now),
  );
  const target = to ?? s?.peer;
  return {
    steps: [],
    effects: [
      ...(target ? [{ kind: 'send' as const, to: target, message: reply, logged: false }] : []),
      { kind: 'report', report: { kind: 'refused', code: e.code, detail } },
    ],
  };
}
