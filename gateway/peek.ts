// What a message is, read for logging and counting only (never trusted): its type and session, from a JWS envelope
// or a bare error-msg. The driver verifies every message before anything acts on it (kernel/satp/envelope.ts).
import { fromBase64Url, fromUtf8 } from '../kernel/encoding.ts';
import { shortType as lastSegment } from '../kernel/satp/recovery-messages.ts';

/** The last segment of a message-type URN: `urn:...:msgtype:commit-ready-msg` → `commit-ready-msg`. */
export const shortType = (urn: unknown): string => (typeof urn === 'string' ? lastSegment(urn) : '?');

type Peeked = { type: string; session?: string };

/**
 * Payloads up to this many characters are decoded whole. A longer one (a recovery page is about 700 K characters)
 * has only its two ends decoded: decoding all of it to log two fields cost more than verifying it, and a gateway
 * peeks at each message more than once (events, metrics).
 */
const WHOLE = 16 * 1024;
/** Characters of base64url decoded at each end of a long payload (a multiple of 4: whole groups). */
const END = 4 * 1024;
/** The ends of a long payload are cut anywhere, even inside a character: decoded leniently. */
const lenient = new TextDecoder('utf-8');
const TYPE = /"messageType":"([^"\\]*)"/;
const SESSION = '"sessionId":"';

/** Reads session and type out of a JWS envelope or a bare error-msg, for logging only (never trusted). */
export function peek(envelope: unknown): Peeked {
  try {
    const e = envelope as { payload?: unknown; messageType?: unknown; sessionId?: unknown };
    if (typeof e.payload !== 'string') return fields(e);
    return (e.payload.length > WHOLE && fromEnds(e.payload)) || fields(JSON.parse(fromUtf8(fromBase64Url(e.payload))));
  } catch {
    return { type: '?' };
  }
}

function fields(m: { messageType?: unknown; sessionId?: unknown }): Peeked {
  return { type: shortType(m.messageType), ...(typeof m.sessionId === 'string' ? { session: m.sessionId } : {}) };
}

/** Complete top-level members with plain values (strings without escapes, numbers, literals), each before a comma. */
const MEMBERS_BEFORE = /^(?:"[^"\\]*":(?:"[^"\\]*"|-?[0-9][0-9.eE+-]*|true|false|null),)*$/;
/** The same, each after a comma, then the document's end. */
const MEMBERS_TO_END = /^(?:,"[^"\\]*":(?:"[^"\\]*"|-?[0-9][0-9.eE+-]*|true|false|null))*\}$/;

/**
 * Type and session of a long payload from its ends. Canonical JSON (what gateways send) sorts members, so a
 * RECOVER-UPDATE's `messageType` comes before its entries and its `sessionId` after them. Each is taken only where
 * the text around it shows it is a member of the message itself, not of something inside it: only plain members
 * before the type, from the opening brace; only plain members after the session, to the end. Undefined otherwise
 * (another serialization, or members that hold more): the caller decodes the whole payload then.
 */
function fromEnds(payload: string): Peeked | undefined {
  const head = lenient.decode(fromBase64Url(payload.slice(0, END)));
  const type = TYPE.exec(head);
  if (!type || head[0] !== '{' || !MEMBERS_BEFORE.test(head.slice(1, type.index))) return undefined;
  const from = payload.length - END + ((4 - ((payload.length - END) % 4)) % 4);
  const tail = lenient.decode(fromBase64Url(payload.slice(from)));
  const at = tail.lastIndexOf(SESSION);
  const end = at < 1 ? -1 : tail.indexOf('"', at + SESSION.length);
  if (end < 0 || tail[at - 1] !== ',' || !MEMBERS_TO_END.test(tail.slice(end + 1))) return undefined;
  return { type: shortType(type[1]), session: tail.slice(at + SESSION.length, end) };
}
