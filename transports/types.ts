// The Transport contract: carries JSON messages between authenticated gateway ids, and nothing more.
import type { Json, JsonLimits } from '../kernel/json.ts';

/** Largest message a transport carries: the UTF-8 bytes of its JSON text (at most 1 MiB). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Limits on an inbound message's JSON tree, checked by the strict parser before anything else reads it.
 * Strings are bounded only by the message size (a ledger proof may be one long string) and the tree is
 * wider than the kernel's defaults, because a RECOVER-UPDATE (recovery-04 §5.3.2) carries whole log
 * entries; the codec applies the message schemas afterwards.
 */
export const MESSAGE_JSON_LIMITS: JsonLimits = {
  maxDepth: 32,
  maxString: MAX_MESSAGE_BYTES,
  maxItems: 8_192,
  maxNodes: 131_072,
};

/** Receives a message that passed the transport's choke point; `from` is the authenticated sender. */
export type MessageHandler = (from: string, message: Json) => void;

/** Told when an authenticated connection to `peer` comes up or goes down (connection-oriented transports). */
export type PeerHandler = (peer: string, up: boolean) => void;

/**
 * A refusal by the inbound validator. `status` is the HTTP status it maps to (default 422), `type`
 * an RFC 9457 type URI (SATP core: urn:ietf:params:satp:core:error:<code>), `fields` extra error-msg
 * fields the validator knows (sessionId, transferContextId, ...).
 */
export interface Refusal {
  ok: false;
  detail: string;
  status?: number;
  type?: string;
  title?: string;
  fields?: Record<string, Json>;
}

export type Verdict = { ok: true } | Refusal;

/**
 * The kernel's codec, plugged in: checks a parsed message's content (schema, signature) before any
 * handler sees it. The transport checks only bytes, size and JSON well-formedness.
 */
export type InboundValidator = (from: string, message: Json) => Verdict | Promise<Verdict>;

/** Reports what a transport could not hand to anyone: a throwing handler, a refused message, a socket error. */
export type TransportErrorHandler = (error: unknown, context: { peer?: string; what: string }) => void;

/** What a transport does, declared so the conformance suite and the driver never guess. */
export interface TransportCapabilities {
  /** Peers come and go: onPeer fires, and send needs a live authenticated connection. */
  connections: boolean;
  /** How a receiver's refusal reaches the sender: an error-msg message back, or send() rejecting. */
  refusals: 'error-msg' | 'reject';
}

/**
 * A gateway's link to its peers. Delivery semantics (docs/transports.md):
 * - at most once per send: a transport never retries; the driver decides (see backoffDelay);
 * - no ordering across reconnects (one connection delivers in order; a new one starts afresh);
 * - duplicates only when the network duplicates (the memory network can), so receivers treat a
 *   message they already logged as a no-op;
 * - a rejected send may still have arrived (a lost reply), exactly like STORAGE_FAILURE.
 */
export interface Transport {
  /** This gateway's id: the sender id every peer sees on our messages. */
  readonly self: string;
  readonly capabilities: TransportCapabilities;
  /**
   * Hands `message` to the network for `to`. Resolves when the transport accepted it (a socket took
   * the frame; over HTTP, the peer answered 2xx). Rejects with SatpError PEER_UNAVAILABLE (no live
   * connection, unreachable, timeout, buffer full), PEER_REFUSED (the peer refused it), BAD_SIGNATURE
   * (the peer's reply is not signed by the peer), INVALID_INPUT (not plain JSON, or over
   * MAX_MESSAGE_BYTES) or TRANSPORT_CLOSED.
   */
  send(to: string, message: Json): Promise<void>;
  /** Adds a handler of inbound messages; returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void;
  /** Adds a handler of connection changes; never called when `capabilities.connections` is false. */
  onPeer(handler: PeerHandler): () => void;
  /** Dials and authenticates `peer` (dialing transports only). Rejects PEER_UNAVAILABLE or PEER_REFUSED. */
  connect?(peer: string): Promise<void>;
  /** Peers with a live authenticated connection now (connectionless: the peers with a configured address). */
  peers(): string[];
  /** Closes every connection and timer; later sends reject TRANSPORT_CLOSED. Idempotent. */
  close(): Promise<void>;
}

/** Options every driver takes for its inbound choke point. */
export interface InboundOptions {
  validate?: InboundValidator;
  onError?: TransportErrorHandler;
  /** Default MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
  /** Default MESSAGE_JSON_LIMITS. */
  jsonLimits?: JsonLimits;
  /** Milliseconds since the epoch, injected so tests control time; default Date.now. */
  clock?: () => number;
}

/** WebSocket close codes used here (RFC 6455 §7.4.1). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003, // a binary frame: messages are JSON text
  invalidPayload: 1007, // text that is not UTF-8
  policy: 1008, // too many unprocessed messages from one peer
  tooBig: 1009, // a message over maxMessageBytes
  internalError: 1011, // admitting a message threw: a caller's hook or a bug, never the peer's input
  replaced: 4000, // the same peer authenticated a newer connection
} as const;
