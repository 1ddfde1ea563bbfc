// The relay's wire format, shared by the relay (relay.ts, in the demo server) and its client transport
// (page/relay-transport.ts). A frame is one JSON text:
//   client → relay   {"to": "<gateway id>", "text": "<the message's JSON text>"}
//   relay → client   {"from": "<gateway id>", "text": "<the message's JSON text>"}
//   relay → client   {"peers": ["<gateway id>", ...]}: who is in the room, sent to all whenever it changes
// The relay is not trusted: `from` is only the name a socket gave itself when it joined. What makes a message
// authentic is its JWS, which the receiving kernel verifies against the key it holds for `from`.
import { ID_PATTERN } from '../../kernel/entry.ts';
import type { JsonLimits } from '../../kernel/json.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import { MAX_MESSAGE_BYTES } from '../../transports/types.ts';

/** The message text, escaped inside a frame, takes at most twice its length, plus the frame's own fields. */
export const MAX_FRAME_CHARS = 2 * MAX_MESSAGE_BYTES + 1024;
/** Most members of one relay room: two gateways, and room for a page that reconnects before its old socket dies. */
export const MAX_ROOM = 8;

const FRAME_LIMITS: JsonLimits = { maxDepth: 2, maxString: MAX_MESSAGE_BYTES, maxItems: MAX_ROOM, maxNodes: 16 };

export type RelayFrame = { from: string; text: string } | { to: string; text: string } | { peers: string[] };

/** A frame, or undefined when it is not one (too big, not strict JSON, other fields). Never throws. */
export function parseFrame(data: string): RelayFrame | undefined {
  if (data.length > MAX_FRAME_CHARS) return undefined;
  const parsed = parseStrictJson(data, FRAME_LIMITS);
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value))
    return undefined;
  const f = parsed.value;
  const keys = Object.keys(f).sort().join(',');
  const id = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);
  if (keys === 'from,text' && id(f.from) && typeof f.text === 'string') return { from: f.from, text: f.text };
  if (keys === 'text,to' && id(f.to) && typeof f.text === 'string') return { to: f.to, text: f.text };
  if (keys === 'peers' && Array.isArray(f.peers) && f.peers.every(id)) return { peers: f.peers as string[] };
  return undefined;
}
