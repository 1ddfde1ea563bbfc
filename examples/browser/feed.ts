// What the Node gateway does, as a stream of server-sent events the page draws into its timeline: the entries its
// log makes durable, its boots and crashes, the sessions it ends. Each event has an id; a reconnecting
// EventSource sends the last one it saw (Last-Event-ID) and gets only what followed. The history is bounded.
import type { Json } from '../../kernel/json.ts';

export interface FeedEvent {
  id: number;
  /** The session the event belongs to; events of no session (boot, crash) go to every subscriber. */
  session?: string;
  data: Json;
}

const HISTORY = 2_000;
const MAX_SUBSCRIBERS = 32;

export class Feed {
  readonly #history: FeedEvent[] = [];
  readonly #subscribers = new Set<(e: FeedEvent) => void>();
  #next = 1;

  push(data: Json, session?: string): void {
    const event: FeedEvent = { id: this.#next++, data, ...(session !== undefined && { session }) };
    this.#history.push(event);
    if (this.#history.length > HISTORY) this.#history.shift();
    for (const s of [...this.#subscribers]) s(event);
  }

  /**
   * A text/event-stream of the events after `lastId` whose session `wanted` accepts, then every new one until
   * the client goes away; 503 past MAX_SUBSCRIBERS.
   */
  response(lastId: number, wanted: (session: string) => boolean): Response {
    if (this.#subscribers.size >= MAX_SUBSCRIBERS) return new Response('too many subscribers', { status: 503 });
    const encoder = new TextEncoder();
    let subscriber: ((e: FeedEvent) => void) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        subscriber = (e) => {
          if (e.id <= lastId || (e.session !== undefined && !wanted(e.session))) return;
          controller.enqueue(encoder.encode(`id: ${e.id}\ndata: ${JSON.stringify(e.data)}\n\n`));
        };
        // Of the events of no session (the gateway's boots and crashes), only the last says where it stands now.
        const last = this.#history.findLast((e) => e.session === undefined);
        for (const e of this.#history) if (e.session !== undefined || e === last) subscriber(e);
        this.#subscribers.add(subscriber);
      },
      cancel: () => void (subscriber && this.#subscribers.delete(subscriber)),
    });
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' },
    });
  }

  /** Ends every stream: the server is going away. */
  close(): void {
    this.#subscribers.clear();
  }
}
