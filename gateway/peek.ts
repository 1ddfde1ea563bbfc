// What a message is, read for logging and counting only (never trusted): its type and session, from a JWS envelope
// or a bare error-msg. The driver verifies every message before anything acts on it (kernel/satp/envelope.ts).
import { fromBase64Url, fromUtf8 } from '../kernel/encoding.ts';

/** The last segment of a message-type URN: `urn:...:msgtype:commit-ready-msg` → `commit-ready-msg`. */
export const shortType = (urn: unknown): string =>
  typeof urn === 'string' ? urn.slice(urn.lastIndexOf(':') + 1) : '?';

/** Reads session and type out of a JWS envelope or a bare error-msg, for logging only (never trusted). */
export function peek(envelope: unknown): { type: string; session?: string } {
  try {
    const e = envelope as { payload?: unknown; messageType?: unknown; sessionId?: unknown };
    const m = (typeof e.payload === 'string' ? JSON.parse(fromUtf8(fromBase64Url(e.payload))) : e) as {
      messageType?: unknown;
      sessionId?: unknown;
    };
    return { type: shortType(m.messageType), ...(typeof m.sessionId === 'string' ? { session: m.sessionId } : {}) };
  } catch {
    return { type: '?' };
  }
}
