// The demo's WebSocket relay: forwards frames between the sockets of one room (one page's two gateways), by the
// name each socket gave when it joined, and tells the room who is in it. It checks nothing a message says and is
// trusted with nothing: each message is a JWS its receiver's kernel verifies (relay-frames.ts). Demo only: no
// authentication of who joins a room, no TLS.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { ID_PATTERN } from '../../kernel/entry.ts';
import { MAX_FRAME_CHARS, MAX_ROOM, parseFrame } from './relay-frames.ts';

/** Most rooms at once; past it a join is refused (503). */
const MAX_ROOMS = 256;
/** Most bytes waiting for one receiver; past it a frame for it is dropped (at most once, the sender resends). */
const MAX_BUFFERED = 4 * 1024 * 1024;

export class Relay {
  readonly path: string;
  // A frame's UTF-8 bytes are at most 3 per UTF-16 unit of its JSON text.
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 3 * MAX_FRAME_CHARS, perMessageDeflate: false });
  readonly #rooms = new Map<string, Map<string, WebSocket>>();

  constructor(path = '/relay') {
    this.path = path;
  }

  /** Takes an upgrade for `path`?room=<id>&id=<gateway id>; refuses anything else before the 101. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const room = url.searchParams.get('room') ?? '';
    const id = url.searchParams.get('id') ?? '';
    const members = this.#rooms.get(room);
    const refusal =
      !ID_PATTERN.test(room) || !ID_PATTERN.test(id)
        ? ([400, 'room and id must be ids'] as const)
        : !members && this.#rooms.size >= MAX_ROOMS
          ? ([503, 'too many rooms'] as const)
          : members && members.size >= MAX_ROOM && !members.has(id)
            ? ([503, 'the room is full'] as const)
            : undefined;
    if (refusal) refuse(socket, refusal[0], refusal[1]);
    else this.#wss.handleUpgrade(req, socket, head, (ws) => this.#join(room, id, ws));
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#rooms.clear();
    this.#wss.close();
  }

  #join(room: string, id: string, ws: WebSocket): void {
    const members = this.#rooms.get(room) ?? new Map<string, WebSocket>();
    this.#rooms.set(room, members);
    // The same name again is that gateway's new incarnation: its old socket is gone with it.
    members.get(id)?.close(4000, 'replaced by a newer connection');
    members.set(id, ws);
    this.#announce(members);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? undefined : parseFrame(data.toString('utf8'));
      if (!frame || !('to' in frame)) return ws.close(1003, 'expected {"to", "text"} text frames');
      const target = members.get(frame.to);
      if (!target || target.bufferedAmount > MAX_BUFFERED) return; // dropped: the sender's resend covers it
      target.send(JSON.stringify({ from: id, text: frame.text }));
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      if (members.get(id) !== ws) return;
      members.delete(id);
      if (members.size === 0) this.#rooms.delete(room);
      else this.#announce(members);
    });
  }

  #announce(members: Map<string, WebSocket>): void {
    const frame = JSON.stringify({ peers: [...members.keys()] });
    for (const ws of members.values()) ws.send(frame);
  }
}

function refuse(socket: Duplex, status: number, detail: string): void {
  const title = status === 400 ? 'Bad Request' : 'Service Unavailable';
  socket.end(`HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Length: ${detail.length}\r\n\r\n${detail}`);
}
