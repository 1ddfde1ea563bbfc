// The conformance suite's client side: an inbox awaited by predicate (never a sleep), unique nonces, and the
// context the per-wire case files share.
import type { Json } from '../../kernel/json.ts';
import type { ConformanceHarness, HarnessServer } from './suite.ts';
import { ECHO_TYPE } from './echo.ts';
import type { Transport } from '../types.ts';

export const WAIT_MS = 10_000;

/** Messages one client received, awaited by predicate with a timeout (never a sleep). */
export class Inbox {
  readonly #seen: { from: string; message: Json }[] = [];
  readonly #waiters = new Set<() => void>();
  constructor(readonly transport: Transport) {
    transport.onMessage((from, message) => {
      this.#seen.push({ from, message });
      for (const w of [...this.#waiters]) w();
    });
  }
  /** The first message (oldest first) matching `pred`, removed from the inbox. */
  take(pred: (m: Record<string, Json>, from: string) => boolean, timeoutMs = WAIT_MS): Promise<Record<string, Json>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.#seen.findIndex((s) => isObject(s.message) && pred(s.message, s.from));
        if (i < 0) return false;
        const [hit] = this.#seen.splice(i, 1);
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hit!.message as Record<string, Json>);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
  /** The echo of the message whose `nonce` is given. */
  echoOf(nonce: string, timeoutMs = WAIT_MS): Promise<Record<string, Json>> {
    return this.take((m) => m.messageType === ECHO_TYPE && isObject(m.message) && m.message.nonce === nonce, timeoutMs);
  }
  all(): readonly { from: string; message: Json }[] {
    return this.#seen;
  }
}

export const isObject = (v: Json | undefined): v is Record<string, Json> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

let counter = 0;
export const nonce = (): string => `n${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** The context each wire's cases share. */
export interface SuiteContext {
  harness: ConformanceHarness;
  server: () => HarnessServer;
  /** Long-lived clients a and b with their inboxes. */
  a: () => Inbox;
  b: () => Inbox;
  /** Proves the server still serves: b's message comes back. */
  stillServes: () => Promise<void>;
  command: (from: Inbox, body: Record<string, Json>) => Promise<string>;
}
