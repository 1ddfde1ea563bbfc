// An in-memory network of transports with data-driven faults (drop, duplicate, reorder, partition) for the simulator.
import type { Json } from '../../kernel/json.ts';
import { sha256Hex } from '../../kernel/hash.ts';
import { utf8 } from '../../kernel/encoding.ts';
import { admitParsed, Handlers, type InboundContext, inboundContext } from '../inbound.ts';
import { closedError, encodeMessage, unavailable } from '../outbound.ts';
import type { InboundOptions, Transport, TransportCapabilities } from '../types.ts';

/** One message in flight: its wire text, so each delivery parses a fresh copy the sender cannot mutate. */
export interface Envelope {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

export type NetworkEvent =
  | { kind: 'sent' | 'delivered' | 'duplicated'; envelope: Envelope }
  | { kind: 'dropped'; envelope: Envelope; reason: 'fault' | 'link down' | 'scheduler' }
  | { kind: 'refused'; envelope: Envelope; detail: string };

export interface MemoryNetworkOptions extends InboundOptions {
  /**
   * 'auto' delivers each accepted send in a microtask, in send order. 'manual' keeps it in pending()
   * until the scheduler calls deliver, drop, duplicate, step or flush: delay and reorder are simply
   * the order the scheduler picks.
   */
  mode?: 'auto' | 'manual';
  /** Probabilities applied to every accepted send, in either mode; `random` is required with them. */
  faults?: { drop?: number; duplicate?: number };
  random?: () => number;
  /** Sees every event, in order: the simulator's trace. */
  onEvent?: (event: NetworkEvent) => void;
  /** Most envelopes waiting at once; a send beyond it rejects PEER_UNAVAILABLE (default 100,000). */
  maxPending?: number;
}

const CAPABILITIES: TransportCapabilities = Object.freeze({ connections: true, refusals: 'error-msg' });

export class MemoryNetwork {
  readonly #nodes = new Map<string, MemoryTransport>();
  readonly #disconnected = new Set<string>();
  readonly #cut = new Set<string>();
  readonly #pending: Envelope[] = [];
  readonly #options: MemoryNetworkOptions;
  #nextId = 1;
  #auto: Promise<unknown> = Promise.resolve();

  constructor(options: MemoryNetworkOptions = {}) {
    const { drop = 0, duplicate = 0 } = options.faults ?? {};
    for (const p of [drop, duplicate])
      if (!(p >= 0 && p <= 1)) throw new RangeError('fault probabilities lie in [0, 1]');
    if ((drop > 0 || duplicate > 0) && !options.random) throw new TypeError('faults need an injected random()');
    this.#options = options;
  }

  /** A transport for gateway `id` on this network; options override the network's inbound options. */
  transport(id: string, options: InboundOptions = {}): Transport {
    if (this.#nodes.has(id)) throw new TypeError(`gateway ${id} already has an open transport on this network`);
    const node = new MemoryTransport(this, id, inboundContext({ ...this.#options, ...options }));
    this.#nodes.set(id, node);
    for (const other of this.peersOf(id)) this.#linkChanged(id, other, true);
    return node;
  }

  /** Envelopes waiting for the scheduler (manual mode), oldest first. */
  pending(): readonly Envelope[] {
    return [...this.#pending];
  }

  /** Delivers one waiting envelope; true if a handler received it (not lost to a link down or a refusal). */
  async deliver(id: number): Promise<boolean> {
    const at = this.#pending.findIndex((e) => e.id === id);
    if (at < 0) throw new RangeError(`no pending envelope ${id}`);
    const [envelope] = this.#pending.splice(at, 1);
    return this.#deliver(envelope!);
  }

  drop(id: number): void {
    const at = this.#pending.findIndex((e) => e.id === id);
    if (at < 0) throw new RangeError(`no pending envelope ${id}`);
    this.#emit({ kind: 'dropped', envelope: this.#pending.splice(at, 1)[0]!, reason: 'scheduler' });
  }

  /** Queues a copy of a waiting envelope (a new id, the same text). */
  duplicate(id: number): Envelope {
    const original = this.#pending.find((e) => e.id === id);
    if (!original) throw new RangeError(`no pending envelope ${id}`);
    const copy = { ...original, id: this.#nextId++ };
    this.#pending.push(copy);
    this.#emit({ kind: 'duplicated', envelope: copy });
    return copy;
  }

  /** Delivers a waiting envelope chosen by `random` (the seeded scheduler); undefined when none waits. */
  async step(random: () => number): Promise<Envelope | undefined> {
    if (this.#pending.length === 0) return undefined;
    const envelope = this.#pending[Math.floor(random() * this.#pending.length)]!;
    await this.deliver(envelope.id);
    return envelope;
  }

  /**
   * Delivers in FIFO order until nothing waits, including what handlers send meanwhile; at most
   * maxSteps deliveries (manual mode) or settled rounds of microtask deliveries (auto mode).
   */
  async flush(maxSteps = 10_000): Promise<number> {
    let n = 0;
    while (this.#pending.length > 0 && n < maxSteps) {
      await this.deliver(this.#pending[0]!.id);
      n++;
    }
    // Auto mode: a delivery may queue more (a reply, an error-msg); wait until the chain stops growing.
    for (let round = 0, seen: Promise<unknown> | undefined; seen !== this.#auto && round < maxSteps; round++) {
      seen = this.#auto;
      await seen;
    }
    return n;
  }

  /** Cuts (up = false) or restores the link between two gateways; both sides see onPeer. */
  setLink(a: string, b: string, up: boolean): void {
    const key = linkKey(a, b);
    const wasUp = this.connected(a, b);
    if (up) this.#cut.delete(key);
    else this.#cut.add(key);
    if (wasUp !== this.connected(a, b)) this.#linkChanged(a, b, !wasUp);
  }

  /** Takes a gateway off the network (a crash, a cable pulled) or puts it back; its transport stays open. */
  setReachable(id: string, up: boolean): void {
    const before = [...this.#nodes.keys()].filter((o) => o !== id && this.connected(id, o));
    if (up) this.#disconnected.delete(id);
    else this.#disconnected.add(id);
    const after = [...this.#nodes.keys()].filter((o) => o !== id && this.connected(id, o));
    for (const o of before) if (!after.includes(o)) this.#linkChanged(id, o, false);
    for (const o of after) if (!before.includes(o)) this.#linkChanged(id, o, true);
  }

  connected(a: string, b: string): boolean {
    return (
      a !== b &&
      this.#nodes.has(a) &&
      this.#nodes.has(b) &&
      !this.#disconnected.has(a) &&
      !this.#disconnected.has(b) &&
      !this.#cut.has(linkKey(a, b))
    );
  }

  peersOf(id: string): string[] {
    return [...this.#nodes.keys()].filter((o) => this.connected(id, o));
  }

  /** @internal The path of every send: check the link, apply faults, queue or schedule delivery. */
  post(from: string, to: string, text: string): void {
    if (!this.connected(from, to)) throw unavailable(to, this.#nodes.has(to) ? 'no link' : 'not on this network');
    if (this.#pending.length >= (this.#options.maxPending ?? 100_000))
      throw unavailable(to, 'the network queue is full');
    this.#enqueue({ id: this.#nextId++, from, to, text });
  }

  /** @internal */
  detach(id: string): void {
    for (const other of this.peersOf(id)) this.#linkChanged(id, other, false);
    this.#nodes.delete(id);
  }

  #enqueue(envelope: Envelope): void {
    this.#emit({ kind: 'sent', envelope });
    const { drop = 0, duplicate = 0 } = this.#options.faults ?? {};
    if (drop > 0 && this.#options.random!() < drop) {
      this.#emit({ kind: 'dropped', envelope, reason: 'fault' });
      return;
    }
    const copies = [envelope];
    if (duplicate > 0 && this.#options.random!() < duplicate) {
      copies.push({ ...envelope, id: this.#nextId++ });
      this.#emit({ kind: 'duplicated', envelope: copies[1]! });
    }
    for (const e of copies) {
      if (this.#options.mode === 'manual') this.#pending.push(e);
      else
        this.#auto = this.#auto
          .then(() => this.#deliver(e))
          .catch((err) => this.#nodes.get(e.to)?.ctx.onError(err, { peer: e.from, what: 'delivery failed' }));
    }
  }

  async #deliver(envelope: Envelope): Promise<boolean> {
    const node = this.#nodes.get(envelope.to);
    if (!node || !this.connected(envelope.from, envelope.to)) {
      this.#emit({ kind: 'dropped', envelope, reason: 'link down' });
      return false;
    }
    const admission = await admitParsed(
      envelope.from,
      JSON.parse(envelope.text) as Json,
      () => sha256Hex(utf8(envelope.text)),
      node.ctx,
    );
    if (!admission.ok) {
      this.#emit({ kind: 'refused', envelope, detail: admission.detail });
      // The refusal travels back like any message, so it can be lost or delayed too.
      if (admission.reply && this.connected(envelope.to, envelope.from))
        this.#enqueue({
          id: this.#nextId++,
          from: envelope.to,
          to: envelope.from,
          text: JSON.stringify(admission.reply),
        });
      return false;
    }
    // A transport closed while the validator ran delivers nothing.
    if (this.#nodes.get(envelope.to) !== node) return false;
    this.#emit({ kind: 'delivered', envelope });
    node.handlers.message(envelope.from, admission.message);
    return true;
  }

  #linkChanged(a: string, b: string, up: boolean): void {
    this.#nodes.get(a)?.handlers.peer(b, up);
    this.#nodes.get(b)?.handlers.peer(a, up);
  }

  #emit(event: NetworkEvent): void {
    this.#options.onEvent?.(event);
  }
}

const linkKey = (a: string, b: string): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

class MemoryTransport implements Transport {
  readonly capabilities = CAPABILITIES;
  readonly handlers: Handlers;
  #closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly self: string,
    readonly ctx: InboundContext,
  ) {
    this.handlers = new Handlers(ctx.onError);
  }

  async send(to: string, message: Json): Promise<void> {
    if (this.#closed) throw closedError(this.self);
    this.network.post(this.self, to, encodeMessage(message, this.ctx.maxMessageBytes, this.ctx.jsonLimits));
  }

  onMessage = (handler: Parameters<Transport['onMessage']>[0]) => this.handlers.onMessage(handler);
  onPeer = (handler: Parameters<Transport['onPeer']>[0]) => this.handlers.onPeer(handler);

  peers(): string[] {
    return this.#closed ? [] : this.network.peersOf(this.self);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.network.detach(this.self);
    this.handlers.clear();
  }
}
