// What every WebSocket driver shares above its runtime glue: the SocketPeers core (peers.ts) and the Transport
// methods that only forward to it. The Node and Deno servers and the standard-WebSocket client extend it, each
// adding its own sockets, listener or dialer, and close(). docs/transports.md.
import type { Json } from '../../kernel/json.ts';
import type { MessageHandler, PeerHandler, Transport, TransportCapabilities } from '../types.ts';
import { SocketPeers, type SocketPeersOptions } from './peers.ts';

/** A socket as closeSocketsWithin sees it: the standard WebSocket's close and its close event. */
export interface ClosingSocket {
  close(code?: number, reason?: string): void;
  addEventListener(type: 'close', listener: () => void): void;
}

/** Closes every socket with `code` and waits for them to report closed, `ms` at most: a peer may never answer. */
export async function closeSocketsWithin(
  sockets: readonly ClosingSocket[],
  code: number,
  reason: string,
  ms = 1_000,
): Promise<void> {
  const closed = Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.addEventListener('close', resolve))));
  for (const s of sockets) s.close(code, reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export abstract class WsTransport implements Transport {
  /** One authenticated socket per peer, the inbound choke point per socket, sends bounded by the buffer. */
  readonly core: SocketPeers;

  protected constructor(options: SocketPeersOptions) {
    this.core = new SocketPeers(options);
  }

  get self(): string {
    return this.core.self;
  }
  get capabilities(): TransportCapabilities {
    return this.core.capabilities;
  }
  send(to: string, message: Json): Promise<void> {
    return this.core.send(to, message);
  }
  onMessage(handler: MessageHandler): () => void {
    return this.core.onMessage(handler);
  }
  onPeer(handler: PeerHandler): () => void {
    return this.core.onPeer(handler);
  }
  peers(): string[] {
    return this.core.peers();
  }

  /** Closes the core's sockets and whatever the runtime glue holds (listener, timers, dialled sockets). */
  abstract close(): Promise<void>;
}
