// The gateway's links to its peers over WebSocket, and the reconnect loop. Reconnecting is the driver's
// policy, not the transport's (docs/transports.md), so it lives here, in the wiring of a gateway.
//
// Each gateway listens (server transport) and also dials each peer (client transport). A message leaves
// on our own dialled connection if it is up, else on the peer's connection to us. After a restart,
// either path brings the two gateways back together. Delivery is at most once per send: the driver's
// retransmit and recover timers resend whatever goes unanswered.
import type { Outbox } from '../kernel/driver.ts';
import type { Envelope } from '../kernel/satp/envelope.ts';
import type { Json } from '../kernel/json.ts';
import { SatpError } from '../kernel/errors.ts';
import { backoffDelay, type BackoffOptions } from '../transports/backoff.ts';
import type { Transport } from '../transports/types.ts';

/** Where the links report what they see: `peer` (a link went up or down, and which way) and `dial-failed`. */
export type LinkEvents = (event: 'peer' | 'dial-failed', fields: Record<string, Json>) => void;

export interface LinksOptions {
  /**
   * The gateway's transports, in order of preference for sending: a message leaves on the first one with a
   * live connection to its peer (a connectionless one, HTTP or an in-memory network, counts every configured
   * peer as connected). The first transport that can dial (has connect()) is kept dialling every peer.
   * The old pair of options, `client` and `server`, still works: it means [client, server].
   */
  transports?: readonly Transport[];
  /** Accepts peers' connections (same as listing it after the client in `transports`). */
  server?: Transport;
  /** Dials peers (WsClientTransport); must have connect(). */
  client?: Transport & { connect(peer: string): Promise<void> };
  peers: string[];
  emit: LinkEvents;
  /** Capped exponential backoff with full jitter between failed dials (default 50 ms, capped at 1 s). */
  backoff?: BackoffOptions;
  random?: () => number;
}

type Dialer = Transport & { connect(peer: string): Promise<void> };

export class PeerLinks implements Outbox {
  readonly #o: LinksOptions;
  readonly #transports: readonly Transport[];
  readonly #dialer: Dialer | undefined;
  readonly #backoff: BackoffOptions;
  readonly #attempts = new Map<string, number>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #dialing = new Set<string>();
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(options: LinksOptions) {
    this.#o = options;
    const listed = options.transports ?? [options.client, options.server];
    this.#transports = listed.filter((t): t is Transport => t !== undefined);
    if (this.#transports.length === 0) throw new TypeError('PeerLinks needs at least one transport');
    this.#dialer = this.#transports.find((t): t is Dialer => typeof t.connect === 'function');
    this.#backoff = options.backoff ?? { base: 50, cap: 1_000 };
    for (const transport of this.#transports) {
      const dials = transport === this.#dialer;
      transport.onPeer((peer, up) => {
        options.emit('peer', { peer, up, via: dials ? 'dialled' : 'accepted' });
        if (up) for (const w of this.#waiters) w();
        if (dials && !up) this.#schedule(peer);
        // The peer just dialled us, so it is up: stop backing off and dial it back now.
        if (!dials && up && this.#dialer && !this.#connected(peer)) this.#dialNow(peer);
      });
    }
  }

  /** Dials every peer (when a transport can dial); failed dials retry with backoff until close(). */
  start(): void {
    if (this.#dialer) for (const peer of this.#o.peers) this.#dialNow(peer);
  }

  /**
   * Resolves true once every peer has a live connection (either way), or false after `ms`: a restarted
   * gateway waits this long before boot, so its RECOVER goes out at once instead of a retransmit later.
   */
  connected(ms: number): Promise<boolean> {
    const all = () => this.#o.peers.every((p) => this.#transports.some((t) => t.peers().includes(p)));
    if (all()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(v);
      };
      const check = () => void (all() && done(true));
      const timer = setTimeout(() => done(false), ms);
      this.#waiters.add(check);
    });
  }

  async send(to: string, envelope: Envelope): Promise<void> {
    const message = envelope as unknown as Json;
    for (const t of this.#transports) if (t.peers().includes(to)) return t.send(to, message);
    throw new SatpError('PEER_UNAVAILABLE', `peer ${to} is unavailable: no live connection`, { detail: { peer: to } });
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #connected(peer: string): boolean {
    return this.#dialer?.peers().includes(peer) ?? false;
  }

  #dialNow(peer: string): void {
    const t = this.#timers.get(peer);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(peer);
    this.#attempts.set(peer, 0);
    void this.#dial(peer);
  }

  async #dial(peer: string): Promise<void> {
    const dialer = this.#dialer;
    if (!dialer || this.#closed || this.#dialing.has(peer) || this.#connected(peer)) return;
    this.#dialing.add(peer);
    try {
      await dialer.connect(peer);
      this.#attempts.set(peer, 0);
    } catch (err) {
      if (!this.#closed)
        this.#o.emit('dial-failed', {
          peer,
          attempt: this.#attempts.get(peer) ?? 0,
          error: (err as { code?: string }).code ?? String(err),
        });
      this.#schedule(peer);
    } finally {
      this.#dialing.delete(peer);
    }
  }

  /** The next dial after a capped, jittered delay; one pending timer per peer. */
  #schedule(peer: string): void {
    if (this.#closed || this.#timers.has(peer)) return;
    const attempt = this.#attempts.get(peer) ?? 0;
    this.#attempts.set(peer, attempt + 1);
    const delay = backoffDelay(Math.min(attempt, 30), this.#backoff, this.#o.random ?? Math.random);
    this.#timers.set(
      peer,
      setTimeout(() => {
        this.#timers.delete(peer);
        void this.#dial(peer);
      }, delay),
    );
  }
}
