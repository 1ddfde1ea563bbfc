// The simulated network: envelopes wait here until the scheduler delivers, drops, duplicates or delays them.
import { fromBase64Url, fromUtf8 } from '../../kernel/encoding.ts';
import type { Envelope } from '../../kernel/satp/envelope.ts';

type NativeBuffer = { from(text: string, encoding: 'base64url'): { toString(encoding: 'utf8'): string } };
const nativeBuffer = (globalThis as { Buffer?: NativeBuffer }).Buffer;

/**
 * The text of a base64url payload: with the runtime's native decoder where there is one (Node, Deno; the simulator
 * reads every envelope once), else the kernel's (a browser page, workerd: test/runtimes/).
 */
export const payloadText = (payload: string): string =>
  nativeBuffer ? nativeBuffer.from(payload, 'base64url').toString('utf8') : fromUtf8(fromBase64Url(payload));

export interface InFlight {
  id: number;
  from: string;
  to: string;
  env: Envelope;
  /** The message's type URN and session, read once when it is sent (for the timeline and fault counts). */
  type: string;
  sessionId: string;
  /** Earliest simulated time it can be delivered. */
  deliverAt: number;
}

export const RECOVERY_NS = 'urn:ietf:SATP-2pc:msgtype:';
export const shortType = (urn: string): string => urn.slice(urn.lastIndexOf(':') + 1);
export const isRecoveryType = (urn: string): boolean => urn.startsWith(RECOVERY_NS);

/** The type and session of a sealed message (the simulator's own bookkeeping; the gateways parse it themselves). */
export function peek(env: Envelope): { type: string; sessionId: string } {
  try {
    const m = JSON.parse(payloadText(env.payload)) as {
      messageType?: unknown;
      sessionId?: unknown;
    };
    return { type: String(m.messageType), sessionId: String(m.sessionId) };
  } catch {
    return { type: '?', sessionId: '?' };
  }
}

export class Wire {
  #next = 0;
  readonly queue: InFlight[] = [];

  send(from: string, to: string, env: Envelope, deliverAt: number): InFlight {
    const m: InFlight = { id: ++this.#next, from, to, env, ...peek(env), deliverAt };
    this.queue.push(m);
    return m;
  }

  /** A copy of `m` on the wire again (duplication), arriving at `deliverAt`. */
  duplicate(m: InFlight, deliverAt: number): InFlight {
    const copy: InFlight = { ...m, id: ++this.#next, deliverAt };
    this.queue.push(copy);
    return copy;
  }

  ready(now: number): InFlight[] {
    return this.queue.filter((m) => m.deliverAt <= now);
  }

  take(id: number): InFlight | undefined {
    const i = this.queue.findIndex((m) => m.id === id);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  nextAt(): number | undefined {
    let at: number | undefined;
    for (const m of this.queue) if (at === undefined || m.deliverAt < at) at = m.deliverAt;
    return at;
  }

  get size(): number {
    return this.queue.length;
  }
}
