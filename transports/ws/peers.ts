// The runtime-agnostic core of the WebSocket transports: one authenticated socket per peer, the inbound choke
// point run in order per socket, and sends bounded by the socket's buffer. Node, Deno and client glue feed it;
// transport.ts forwards the Transport methods to it.
import type { Json } from '../../kernel/json.ts';
import { admitText, Handlers, type InboundContext, inboundContext } from '../inbound.ts';
import { closedError, encodeMessage, unavailable } from '../outbound.ts';
import {
  CLOSE,
  type InboundOptions,
  type MessageHandler,
  type PeerHandler,
  type Transport,
  type TransportCapabilities,
} from '../types.ts';

/** The part of a WebSocket the core uses; ws's, the standard one and Deno's each fit through a line of glue. */
export interface PeerSocket {
  readonly bufferedAmount: number;
  /** Queues one text frame; may return a promise that settles when the runtime wrote it. */
  sendText(text: string): void | Promise<void>;
  close(code: number, reason: string): void;
}

export interface SocketPeersOptions extends InboundOptions {
  self: string;
  /** Most bytes waiting in one socket's send buffer before send rejects PEER_UNAVAILABLE (default 4 MiB). */
  maxBufferedBytes?: number;
  /** Most inbound messages of one socket waiting for the validator; past it the socket closes 1008 (default 64). */
  maxInflight?: number;
}

/** One authenticated connection. Its inbound messages are admitted one at a time, so they reach handlers in order. */
export class PeerConnection {
  readonly #queue: { data: string; utf8Bytes: number | undefined }[] = [];
  #draining = false;
  #open = true;

  constructor(
    readonly peer: string,
    readonly socket: PeerSocket,
    private readonly core: SocketPeers,
  ) {}

  /**
   * A frame arrived: text as a string. A binary frame, or bytes however flagged, is refused (messages are JSON text).
   * `utf8Bytes`: the text's length in UTF-8, when the runtime read the frame as bytes and checked them as UTF-8 (so the
   * inbound size check need not count it again).
   */
  receive(data: string | Uint8Array, binary: boolean, utf8Bytes?: number): void {
    if (!this.#open) return;
    if (binary || typeof data !== 'string') {
      this.end(CLOSE.unsupportedData, 'messages are JSON text frames');
      return;
    }
    if (this.#queue.length >= this.core.maxInflight) {
      this.end(CLOSE.policy, 'too many unprocessed messages');
      return;
    }
    this.#queue.push({ data, utf8Bytes });
    if (!this.#draining) void this.#drain();
  }

  end(code: number, reason: string): void {
    this.#open = false;
    this.#queue.length = 0;
    try {
      this.socket.close(code, reason);
    } catch (err) {
      this.core.ctx.onError(err, { peer: this.peer, what: 'closing a socket failed' });
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined && this.#open; next = this.#queue.shift()) {
        const { data, utf8Bytes } = next;
        try {
          const a = await admitText(this.peer, data, this.core.ctx, utf8Bytes);
          if (a.ok) {
            this.core.handlers.message(this.peer, a.message);
          } else if (a.close !== undefined) {
            this.end(a.close, a.detail.slice(0, 120)); // a close reason is at most 123 bytes (RFC 6455 §5.5)
          } else {
            if (a.reply) this.#reply(a.reply);
            this.core.ctx.onError(new Error(a.detail), { peer: this.peer, what: 'refused an inbound message' });
          }
        } catch (err) {
          // Something threw: a hook of the caller's (onError, the clock) or a bug, never the peer's input, which is
          // refused without a throw. The drain runs unawaited, so a throw let out would end a Node process as an
          // unhandled rejection. Reported if onError itself does not throw; the socket closes 1011 (internal error),
          // as the HTTP app answers 500. The peer reconnects, and the transport keeps serving.
          try {
            this.core.ctx.onError(err, { peer: this.peer, what: 'admitting a message threw' });
          } catch {}
          this.end(CLOSE.internalError, 'internal error');
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #reply(message: Json): void {
    try {
      void Promise.resolve(this.socket.sendText(JSON.stringify(message))).catch(() => {});
    } catch {
      // The peer is gone; the refusal had nowhere to go.
    }
  }

  /** @internal */
  closed(): void {
    this.#open = false;
    this.#queue.length = 0;
  }
}

const CAPABILITIES: TransportCapabilities = Object.freeze({ connections: true, refusals: 'error-msg' });

export class SocketPeers implements Transport {
  readonly self: string;
  readonly capabilities = CAPABILITIES;
  readonly ctx: InboundContext;
  readonly handlers: Handlers;
  readonly maxInflight: number;
  readonly #maxBuffered: number;
  readonly #conns = new Map<string, PeerConnection>();
  #closed = false;

  constructor(options: SocketPeersOptions) {
    this.self = options.self;
    this.ctx = inboundContext(options);
    this.handlers = new Handlers(this.ctx.onError);
    this.maxInflight = options.maxInflight ?? 64;
    this.#maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Registers an authenticated socket for `peer`; a newer one replaces (and closes) the older. */
  attach(peer: string, socket: PeerSocket): PeerConnection {
    const conn = new PeerConnection(peer, socket, this);
    if (this.#closed) {
      conn.end(CLOSE.goingAway, 'transport closed');
      return conn;
    }
    const old = this.#conns.get(peer);
    this.#conns.set(peer, conn);
    if (old) {
      old.end(CLOSE.replaced, 'replaced by a newer connection');
      this.handlers.peer(peer, false);
    }
    this.handlers.peer(peer, true);
    return conn;
  }

  /** The socket of `conn` closed; the peer is down unless a newer connection already replaced it. */
  detach(conn: PeerConnection): void {
    conn.closed();
    if (this.#conns.get(conn.peer) !== conn) return;
    this.#conns.delete(conn.peer);
    if (!this.#closed) this.handlers.peer(conn.peer, false);
  }

  async send(to: string, message: Json): Promise<void> {
    if (this.#closed) throw closedError(this.self);
    const text = encodeMessage(message, this.ctx.maxMessageBytes, this.ctx.jsonLimits);
    const conn = this.#conns.get(to);
    if (!conn) throw unavailable(to, 'not connected');
    // Backpressure: refuse rather than queue without bound behind a slow or stalled peer.
    if (conn.socket.bufferedAmount + text.length > this.#maxBuffered) throw unavailable(to, 'the send buffer is full');
    try {
      await conn.socket.sendText(text);
    } catch (cause) {
      throw unavailable(to, 'the socket failed', cause);
    }
  }

  onMessage = (handler: MessageHandler): (() => void) => this.handlers.onMessage(handler);
  onPeer = (handler: PeerHandler): (() => void) => this.handlers.onPeer(handler);

  peers(): string[] {
    return [...this.#conns.keys()];
  }

  /** Closes every socket with 1001; the runtime glue closes its listener and timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#conns.values()) conn.end(CLOSE.goingAway, 'transport closed');
    this.#conns.clear();
    this.handlers.clear();
  }
}
