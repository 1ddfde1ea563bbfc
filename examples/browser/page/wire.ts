// Slow motion and a pause button for the messages the page's gateways receive, so that a person (or the test) can
// crash a gateway mid-transfer. Each message reaches its gateway `delayMs` after it arrived, in arrival order;
// while the wire is paused nothing is delivered, and resume() delivers what waited. A gateway that crashes loses
// what was waiting for it, as a process loses its socket buffers. The delay sits on the receiving side, so the
// sender's send() resolves at once, as it would on a real network.
import type { Json } from '../../../kernel/json.ts';
import { defaultOnError, Handlers } from '../../../transports/inbound.ts';
import type { Transport } from '../../../transports/types.ts';

export class Wire {
  /** Delay per message, in ms; changed by the slow-motion selector. */
  delayMs = 0;
  /** A step label (e.g. "3.1"): the wire pauses once when a page gateway logs an entry of that step. */
  pauseAt: string | undefined;
  #paused = false;
  readonly #listeners = new Set<() => void>();

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    this.#set(true);
  }

  resume(): void {
    this.#set(false);
  }

  /** Called for every entry a page gateway makes durable: pauses at `pauseAt`, once. */
  stepLogged(step: string): void {
    if (this.pauseAt === undefined || step !== this.pauseAt) return;
    this.pauseAt = undefined;
    this.pause();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  #set(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    for (const l of [...this.#listeners]) l();
  }
}

/** Most messages one gateway has waiting; past it one is dropped (delivery is at most once: the sender resends). */
const MAX_HELD = 1_000;

interface Held {
  from: string;
  message: Json;
  due: number;
}

/** `inner` with its inbound messages passed through `wire`; everything else is inner's own. */
export function slowed(inner: Transport, wire: Wire): Transport {
  const handlers = new Handlers(defaultOnError);
  const queue: Held[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  // One timer at a time, for the oldest message: the queue drains by events, never by polling.
  const pump = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (!closed && !wire.paused && queue.length > 0) {
      const wait = queue[0]!.due - Date.now();
      if (wait > 0) {
        timer = setTimeout(pump, wait);
        return;
      }
      const m = queue.shift()!;
      handlers.message(m.from, m.message);
    }
  };
  const offWire = wire.onChange(pump);
  const offInner = inner.onMessage((from, message) => {
    if (queue.length >= MAX_HELD)
      return defaultOnError(new Error('too many held messages'), { peer: from, what: 'dropped' });
    queue.push({ from, message, due: Date.now() + wire.delayMs });
    if (timer === undefined) pump();
  });
  const connect = inner.connect?.bind(inner);
  return {
    self: inner.self,
    capabilities: inner.capabilities,
    send: (to, message) => inner.send(to, message),
    onMessage: (handler) => handlers.onMessage(handler),
    onPeer: (handler) => inner.onPeer(handler),
    peers: () => inner.peers(),
    ...(connect && { connect }),
    close: async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      queue.length = 0;
      offWire();
      offInner();
      handlers.clear();
      await inner.close();
    },
  };
}
