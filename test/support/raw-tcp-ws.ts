// A WebSocket client on a bare TCP socket (node:net, on Node and in Deno's compat) for the limits tests: it writes
// the upgrade request by hand and then answers nothing, no pong and no closing handshake, unless asked to, like a
// peer that crashed or stalls. Frames are parsed as they come; every wait is bounded.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OPCODE = { text: 1, close: 8, ping: 9, pong: 10 } as const;

export interface Frame {
  opcode: number;
  payload: Buffer;
}

export interface RawTcpWs {
  socket: Socket;
  /** The status of the upgrade answer: 101 when accepted, 0 when the connection ended without one. */
  status: number;
  /** The body of a refusal: Content-Length bytes, or what came before the connection ended. */
  body(): Promise<string>;
  /** Settles when the TCP connection has ended, whoever ended it. */
  closed: Promise<void>;
  /** Every frame received after the 101, in order. */
  readonly frames: Frame[];
  /** The first frame (received or to come) that matches `pred`; rejects after `timeoutMs`. */
  frame(pred: (f: Frame) => boolean, timeoutMs: number): Promise<Frame>;
  /** Resolves once `n` frames matching `pred` have arrived; rejects after `timeoutMs`. */
  count(pred: (f: Frame) => boolean, n: number, timeoutMs: number): Promise<void>;
  sendText(text: string): void;
  /** Answer each ping with a pong from now on (a healthy client). */
  answerPings(): void;
}

/** Rejects after `ms`: a deadline on an awaited event, never a sleep. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `condition` every 10 ms until it holds; rejects after `ms` (for server state that has no event). */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; !condition(); i++) {
    if (Date.now() > deadline || i > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP connection to the host and port of `url` that sends nothing by itself; resolves once connected. */
export async function rawTcp(url: string): Promise<{ socket: Socket; closed: Promise<void>; received: () => string }> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {}); // a reset is also an end; `closed` reports it
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      void closed.then(() => reject(new Error(`connection to ${url} closed before it opened`)));
    }),
    10_000,
    `connecting to ${url}`,
  );
  return { socket, closed, received: () => received };
}

/** Sends a GET upgrade for `url` offering `protocols`, and resolves with the answer's status. */
export async function rawTcpUpgrade(url: string, protocols: string[]): Promise<RawTcpWs> {
  const u = new URL(url);
  const { socket, closed } = await rawTcp(url);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let buf = Buffer.alloc(0);
  let status: number | undefined;
  let contentLength = Infinity;
  let pong = false;
  let settle: (s: number) => void = () => {};
  const head = new Promise<number>((resolve) => (settle = resolve));
  const parse = () => {
    for (let n = 0; n < 10_000; n++) {
      const f = nextFrame(buf);
      if (!f) return;
      buf = buf.subarray(f.size);
      frames.push(f.frame);
      if (pong && f.frame.opcode === OPCODE.ping) socket.write(encodeFrame(OPCODE.pong, f.frame.payload));
      for (const w of [...waiters]) w();
    }
  };
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (status === undefined) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headText = buf.subarray(0, end).toString('latin1');
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0);
      contentLength = Number(/\r\ncontent-length: *(\d+)/i.exec(headText)?.[1] ?? Infinity);
      buf = buf.subarray(end + 4);
      settle(status);
    }
    if (status === 101) parse();
    else for (const w of [...waiters]) w();
  });
  void closed.then(() => settle(0));
  socket.write(
    [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      `Sec-WebSocket-Protocol: ${protocols.join(', ')}`,
      '',
      '',
    ].join('\r\n'),
  );
  const answered = await within(head, 10_000, `the answer to the upgrade at ${url}`);
  /** Resolves once `check` returns true, re-checked on every frame or byte; rejects after `ms`. */
  const waitFor = <T>(check: () => T | undefined, ms: number, what: string): Promise<T> => {
    let w = () => {};
    const hit = new Promise<T>((resolve) => {
      w = () => {
        const found = check();
        if (found !== undefined) resolve(found);
      };
    });
    waiters.add(w);
    w();
    return within(hit, ms, what).finally(() => waiters.delete(w));
  };
  return {
    socket,
    status: answered,
    body: async () => {
      let ended = false;
      void closed.then(() => {
        ended = true;
        for (const w of [...waiters]) w();
      });
      await waitFor(() => (ended || buf.length >= contentLength ? true : undefined), 10_000, 'the refusal body');
      return buf.subarray(0, Math.min(buf.length, contentLength)).toString('utf8');
    },
    closed,
    frames,
    frame: (pred, timeoutMs) => waitFor(() => frames.find(pred), timeoutMs, 'a matching frame'),
    count: async (pred, n, timeoutMs) => {
      await waitFor(() => (frames.filter(pred).length >= n ? true : undefined), timeoutMs, `${n} matching frames`);
    },
    sendText: (text) => socket.write(encodeFrame(OPCODE.text, Buffer.from(text, 'utf8'))),
    answerPings: () => {
      pong = true;
    },
  };
}

/** The close code carried by a close frame (1005 when it carries none). */
export const closeCodeOf = (f: Frame): number => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);

/** One unmasked server frame at the start of `buf`, or undefined if it has not all arrived. */
function nextFrame(buf: Buffer): { frame: Frame; size: number } | undefined {
  if (buf.length < 2) return undefined;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (buf.length < at + len) return undefined;
  return { frame: { opcode: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(at, at + len)) }, size: at + len };
}

/** A masked client frame (RFC 6455 §5.3: every client frame is masked). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  if (len > 0xffff) throw new RangeError('frame too large for this helper');
  const head = Buffer.from(len < 126 ? [0x80 | opcode, 0x80 | len] : [0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}
