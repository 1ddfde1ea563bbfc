// Refusing a message: an unlogged error-msg back (SATP core §9), nothing logged, nothing changed.
import type { Decision, Effect, Report } from './effects.ts';
import { errorMessage, SATP_ERRORS, type SatpErrorCode } from './error-codes.ts';
import type { ClaimCheck } from './claims.ts';
import type { Opened } from './envelope.ts';
import { contextOf, MSG, type SatpMessage } from './messages.ts';
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
  // An error-msg is never answered with one: two gateways that each refuse the other's refusal (a mismatched
  // context is echoed back in it) would otherwise send error-msgs to each other forever.
  const target = m.messageType === MSG.error ? undefined : (to ?? s?.peer);
  return {
    steps: [],
    effects: [
      ...(target ? [{ kind: 'send' as const, to: target, message: reply, logged: false }] : []),
      { kind: 'report', report: refusal(e, detail) },
    ],
  };
}

/** The report of a refusal: its code and status from the table, and why. */
export function refusal(e: SatpErrorCode, detail: string): Report {
  return { kind: 'refused', code: e.code, status: e.status, detail };
}

/**
 * A message that did not open (kernel/satp/envelope.ts). The peer is told (an unlogged error-msg) only when
 * the message is authentic, names its session and is not itself an error-msg: anything else is answered by
 * the transport alone, so a forgery cannot make this gateway say anything, and two error-msgs never answer
 * each other.
 */
export function refuseEnvelope(opened: Extract<Opened, { ok: false }>, from: string, now: number): Effect[] {
  const h = opened.hint;
  const report: Effect = { kind: 'report', report: refusal(opened.error, opened.detail) };
  if (!opened.authentic || !h || h.messageType === MSG.error) return [report];
  const reply = errorMessage(
    opened.error,
    {
      sessionId: h.sessionId,
      transferContextId: h.transferContextId,
      hashPrevMessage: h.hash,
      ...(h.messageType ? { prevMsgType: h.messageType } : {}),
    },
    opened.detail,
    iso(now),
  );
  return [{ kind: 'send', to: from, message: reply, logged: false }, report];
}

/**
 * Refuses a message whose claim failed its check: `badSignature` when the receipt is not signed by the
 * ledger, else `wrong`, the code for a claim that proves something else.
 */
export function refuseClaim(
  s: { peer: string },
  m: SatpMessage,
  hash: string,
  now: number,
  check: Extract<ClaimCheck, { ok: false }>,
  wrong: SatpErrorCode,
): Decision {
  return refuse(s, m, hash, now, check.unsigned ? SATP_ERRORS.badSignature : wrong, check.detail);
}
