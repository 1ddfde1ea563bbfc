// Connection limits shared by the WebSocket servers (node/server.ts on node:http, deno/server.ts on Deno.serve):
// their options and defaults, and the per-peer record of held sockets. Runtime-agnostic; docs/transports.md.

/** Bounds on how many sockets the server holds and for how long a socket may stay unauthenticated. */
export interface WsServerLimits {
  /**
   * Most sockets one authenticated peer holds at once: its live connection plus the replaced ones whose closing
   * handshake is not finished (default 4). What happens past it differs by runtime: docs/transports.md.
   */
  maxConnectionsPerPeer?: number;
  /** Most sockets still in the handshake, not yet authenticated WebSockets (default 128). */
  maxPendingHandshakes?: number;
  /**
   * A socket must send a complete request head, and an upgrade must be decided and answered, within this time
   * (default 10 s). On Node it is also the listener's headersTimeout and requestTimeout.
   */
  handshakeTimeoutMs?: number;
}

export const WS_SERVER_LIMITS = Object.freeze({
  maxConnectionsPerPeer: 4,
  maxPendingHandshakes: 128,
  handshakeTimeoutMs: 10_000,
});

/** The limits with defaults filled in; throws RangeError on a value that would disable a bound. */
export function resolveLimits(options: WsServerLimits): Required<WsServerLimits> {
  const limits = {
    maxConnectionsPerPeer: options.maxConnectionsPerPeer ?? WS_SERVER_LIMITS.maxConnectionsPerPeer,
    maxPendingHandshakes: options.maxPendingHandshakes ?? WS_SERVER_LIMITS.maxPendingHandshakes,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? WS_SERVER_LIMITS.handshakeTimeoutMs,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (Number.isSafeInteger(value) && value >= 1) continue;
    throw new RangeError(`${name} must be an integer ≥ 1, not ${value}`);
  }
  return limits;
}

/** The sockets each authenticated peer holds, oldest first, from the upgrade until the runtime reports them closed. */
export class PeerSocketCounts<S> {
  readonly #byPeer = new Map<string, S[]>();

  constructor(readonly max: number) {}

  count(peer: string): number {
    return this.#byPeer.get(peer)?.length ?? 0;
  }

  /** Records `socket` for `peer`; returns the oldest ones past the cap, no longer recorded, for the caller to end. */
  add(peer: string, socket: S): S[] {
    const list = this.#byPeer.get(peer) ?? [];
    list.push(socket);
    this.#byPeer.set(peer, list);
    return list.length > this.max ? list.splice(0, list.length - this.max) : [];
  }

  /** `socket` closed (or was ended by add); idempotent. */
  delete(peer: string, socket: S): void {
    const list = this.#byPeer.get(peer);
    const i = list?.indexOf(socket) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#byPeer.delete(peer);
  }
}
