// A Transport over the demo server's WebSocket relay (examples/browser/relay.ts), for a gateway in the page. It
// honours the contract of transports/types.ts: at most once per send, PEER_UNAVAILABLE when the peer is not in the
// room, TRANSPORT_CLOSED after close(), onPeer from the room's presence list. Every inbound message goes through
// the shared choke point (transports/inbound.ts: size, UTF-8 text, strict JSON) before a handler sees it, one at
// a time in arrival order; a refusal is answered with an error-msg through the relay. The relay is not trusted
// (relay-frames.ts): authenticity is the kernel's check of each message's JWS. It joins the room once and never
// reconnects: the relay lives in the server that served the page, and a new incarnation brings a new transport.
import type { Json } from '../../../kernel/json.ts';
import { admitText, Handlers, type InboundContext, inboundContext } from '../../../transports/inbound.ts';
import { closedError, encodeMessage, unavailable } from '../../../transports/outbound.ts';
import type { InboundOptions, Transport, TransportCapabilities } from '../../../transports/types.ts';
import { parseFrame } from '../relay-frames.ts';

export interface RelayTransportOptions extends InboundOptions {
  /** ws://host:port/relay of the demo server. */
  url: string;
  /** The room: one per page, so two open pages never see each other's gateways. */
  room: string;
  self: string;
  /** Most inbound messages waiting for the choke point; past it one is dropped (default 64). */
  maxInflight?: number;
  /** Most bytes waiting in the socket's send buffer before send rejects PEER_UNAVAILABLE (default 4 MiB). */
  maxBufferedBytes?: number;
}

const CAPABILITIES: TransportCapabilities = Object.freeze({ connections: true, refusals: 'error-msg' });

export class RelayTransport implements Transport {
  readonly self: string;
  readonly capabilities = CAPABILITIES;
  readonly #ctx: InboundContext;
  readonly #handlers: Handlers;
  readonly #ws: WebSocket;
  readonly #present = new Set<string>();
  readonly #queue: { from: string; text: string }[] = [];
  readonly #maxInflight: number;
  readonly #maxBuffered: number;
  #draining = false;
  #closed = false;

  /** Joins the room at once; the peers show up through onPeer as the relay announces them. */
  constructor(o: RelayTransportOptions) {
    this.self = o.self;
    this.#ctx = inboundContext(o);
    this.#handlers = new Handlers(this.#ctx.onError);
    this.#maxInflight = o.maxInflight ?? 64;
    this.#maxBuffered = o.maxBufferedBytes ?? 4 * 1024 * 1024;
    const url = new URL(o.url);
    url.searchParams.set('room', o.room);
    url.searchParams.set('id', o.self);
    this.#ws = new WebSocket(url);
    this.#ws.addEventListener('message', (e) => this.#frame(e.data));
    this.#ws.addEventListener('close', () => this.#presence([]));
  }

  async send(to: string, message: Json): Promise<void> {
    if (this.#closed) throw closedError(this.self);
    const text = encodeMessage(message, this.#ctx.maxMessageBytes, this.#ctx.jsonLimits);
    if (this.#ws.readyState !== WebSocket.OPEN || !this.#present.has(to)) throw unavailable(to, 'not in the room');
    // Backpressure: refuse rather than queue without bound behind a stalled relay.
    if (this.#ws.bufferedAmount + text.length > this.#maxBuffered) throw unavailable(to, 'the send buffer is full');
    this.#ws.send(JSON.stringify({ to, text }));
  }

  onMessage = (handler: Parameters<Transport['onMessage']>[0]) => this.#handlers.onMessage(handler);
  onPeer = (handler: Parameters<Transport['onPeer']>[0]) => this.#handlers.onPeer(handler);

  peers(): string[] {
    return this.#closed ? [] : [...this.#present];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#present.clear();
    this.#handlers.clear();
    this.#ws.close(1000, 'transport closed');
  }

  #frame(data: unknown): void {
    if (this.#closed) return;
    const frame = typeof data === 'string' ? parseFrame(data) : undefined;
    if (!frame || 'to' in frame) {
      this.#ctx.onError(new Error('not a relay frame'), { what: 'dropped a frame from the relay' });
      return;
    }
    if ('peers' in frame) {
      this.#presence(frame.peers.filter((p) => p !== this.self));
      return;
    }
    if (this.#queue.length >= this.#maxInflight) {
      this.#ctx.onError(new Error('too many unprocessed messages'), { peer: frame.from, what: 'dropped a message' });
      return;
    }
    this.#queue.push(frame);
    if (!this.#draining) void this.#drain();
  }

  /** One message at a time through the choke point, so they reach the handlers in the order they came. */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let m = this.#queue.shift(); m && !this.#closed; m = this.#queue.shift()) {
        const a = await admitText(m.from, m.text, this.#ctx);
        if (this.#closed) return;
        if (a.ok) {
          this.#handlers.message(m.from, a.message);
          continue;
        }
        this.#ctx.onError(new Error(a.detail), { peer: m.from, what: 'refused an inbound message' });
        if (a.reply && this.#ws.readyState === WebSocket.OPEN)
          this.#ws.send(JSON.stringify({ to: m.from, text: JSON.stringify(a.reply) }));
      }
    } finally {
      this.#draining = false;
    }
  }

  #presence(now: string[]): void {
    if (this.#closed) return;
    const next = new Set(now);
    for (const p of [...this.#present]) {
      if (next.has(p)) continue;
      this.#present.delete(p);
      this.#handlers.peer(p, false);
    }
    for (const p of next) {
      if (this.#present.has(p)) continue;
      this.#present.add(p);
      this.#handlers.peer(p, true);
    }
  }
}
