// The WebSocket client transport over the standard WebSocket API (Deno, browsers, workerd; `ws` on Node 20 via
// ws/node/client.ts): dials peers, proves its identity in the handshake, and never imports `ws` itself.
import { SatpError } from '../../../kernel/errors.ts';
import type { KeyResolver, Signer, Verifier } from '../../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../../kernel/crypto/verifier.ts';
import type { SuccessorAuthority } from '../../../kernel/takeover.ts';
import { closedError, unavailable } from '../../outbound.ts';
import { clientProtocols, WS_PROTOCOL } from '../handshake.ts';
import type { SocketPeers, SocketPeersOptions } from '../peers.ts';
import { closeSocketsWithin, WsTransport } from '../transport.ts';

/** The standard WebSocket surface this client uses; `globalThis.WebSocket` and `ws`'s class both fit. */
export interface WebSocketLike {
  readonly protocol: string;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: { data?: unknown; code?: number }) => void,
  ): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface WsClientOptions extends SocketPeersOptions {
  signer: Signer;
  /** Trusted keys of the peers: the challenge must be signed by the peer it claims to come from. */
  keys: KeyResolver;
  verifier?: Verifier;
  /** Where each peer's WebSocket endpoint is (ws:// or wss:// URL). */
  peers: Record<string, string> | ((peer: string) => string | undefined);
  /** Default `globalThis.WebSocket`; on Node 20, which has none, pass ws's (ws/node/client.ts does). */
  WebSocket?: WebSocketConstructor;
  fetch?: typeof fetch;
  /** Bound on the whole connect (challenge, upgrade, open), default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Set when this client acts as a gateway in its place (a backup with its own `signer`;
   * docs/high-availability.md): its certificate, base64 DER, sent in every proof for the server's authority.
   */
  certificate?: string;
  /** Accepts a peer served by a successor (its challenge carries x5c); without it such a peer is refused. */
  successor?: SuccessorAuthority;
}

/**
 * The runtime-neutral name (package subpath `satp-recovery/transports/ws/client`: this file in browsers, Deno
 * and workerd, ws/node/client.ts under Node): a client transport on the runtime's own WebSocket.
 */
export function createWsClient(options: WsClientOptions): WsClientTransport {
  return new WsClientTransport(options);
}

export class WsClientTransport extends WsTransport {
  readonly #o: WsClientOptions;
  readonly #WebSocket: WebSocketConstructor;
  readonly #verifier: Verifier;
  readonly #dialing = new Map<string, Promise<void>>();
  readonly #sockets = new Set<WebSocketLike>();

  constructor(options: WsClientOptions) {
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) {
      const hint = 'pass options.WebSocket (on Node 20 use transports/ws/node/client.ts)';
      throw new TypeError(`no WebSocket constructor in this runtime: ${hint}`);
    }
    super(options);
    this.#o = options;
    this.#WebSocket = ctor;
    this.#verifier = options.verifier ?? defaultVerifier();
  }

  /** Dials `peer` unless already connected (or dialing); resolves once the authenticated socket is open. */
  connect(peer: string): Promise<void> {
    if (this.core.isClosed) return Promise.reject(closedError(this.self));
    if (this.core.peers().includes(peer)) return Promise.resolve();
    let dial = this.#dialing.get(peer);
    if (!dial) {
      dial = this.#dial(peer).finally(() => this.#dialing.delete(peer));
      this.#dialing.set(peer, dial);
    }
    return dial;
  }

  async #dial(peer: string): Promise<void> {
    const url =
      typeof this.#o.peers === 'function'
        ? this.#o.peers(peer)
        : Object.hasOwn(this.#o.peers, peer)
          ? this.#o.peers[peer]
          : undefined;
    if (!url) throw unavailable(peer, 'no address is configured for it');
    const timeoutMs = this.#o.connectTimeoutMs ?? 10_000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const protocols = await clientProtocols(
        {
          self: this.self,
          signer: this.#o.signer,
          keys: this.#o.keys,
          verifier: this.#verifier,
          fetch: this.#o.fetch ?? fetch,
          clock: this.core.ctx.clock,
          ...(this.#o.certificate !== undefined ? { certificate: this.#o.certificate } : {}),
          ...(this.#o.successor ? { successor: this.#o.successor } : {}),
        },
        peer,
        url,
        abort.signal,
      );
      await this.#open(peer, url, protocols, abort.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  #open(peer: string, url: string, protocols: string[], signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new this.#WebSocket(url, protocols);
      ws.binaryType = 'arraybuffer';
      this.#sockets.add(ws);
      let conn: ReturnType<SocketPeers['attach']> | undefined;
      const fail = (err: SatpError) => {
        signal.removeEventListener('abort', onAbort);
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(err);
      };
      // The standard API reports a refused upgrade only as an error then a close (1006), with no status.
      const onAbort = () => fail(unavailable(peer, 'connect timed out'));
      signal.addEventListener('abort', onAbort);
      ws.addEventListener('open', () => {
        signal.removeEventListener('abort', onAbort);
        if (ws.protocol !== WS_PROTOCOL)
          return fail(
            new SatpError('PEER_REFUSED', `peer ${peer} did not select ${WS_PROTOCOL}`, { detail: { peer } }),
          );
        if (this.core.isClosed) return fail(closedError(this.self));
        conn = this.core.attach(peer, {
          get bufferedAmount() {
            return ws.bufferedAmount;
          },
          sendText: (t) => ws.send(t),
          close: (code, reason) => ws.close(clientCloseCode(code), reason),
        });
        resolve();
      });
      ws.addEventListener('message', (e) => {
        if (!conn) return;
        if (typeof e.data === 'string') conn.receive(e.data, false);
        else conn.receive(new Uint8Array(e.data as ArrayBuffer), true);
      });
      ws.addEventListener('error', () => {
        if (!conn) fail(unavailable(peer, 'the upgrade failed (refused or unreachable)'));
      });
      ws.addEventListener('close', () => {
        this.#sockets.delete(ws);
        if (conn) this.core.detach(conn);
        else fail(unavailable(peer, 'the connection closed during the handshake'));
      });
    });
  }

  /** Closes every socket (1000) and waits for them to close, 1 s at most. */
  override async close(): Promise<void> {
    await this.core.close();
    await closeSocketsWithin([...this.#sockets], 1000, 'transport closed');
  }
}

/**
 * The standard API lets a client close only with 1000 or 3000–4999 (WHATWG WebSockets, close()), so
 * a protocol code such as 1009 is sent as 4000 + (code − 1000), e.g. 4009; docs/transports.md.
 */
export const clientCloseCode = (code: number): number =>
  code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000 + (code - 1000);
