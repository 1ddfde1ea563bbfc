// What every WebSocket driver shares above its runtime glue: the SocketPeers core (peers.ts) and the Transport
// methods that only forward to it. The Node and Deno servers and the standard-WebSocket client extend it, each
// adding its own sockets, listener or dialer, and close(). docs/transports.md.
import type { Json } from '../../kernel/json.ts';
import type { MessageHandler, PeerHandler, Transport, TransportCapabilities } from '../types.ts';
import { SocketPeers, type SocketPeersOptions } from './peers.ts';

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
