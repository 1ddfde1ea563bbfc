// Runs a process under strace (Debian's package) and reads the trace back: every write-like call and every
// fsync/fdatasync, in the order strace saw them, with the exact bytes written and the path of the fd they went
// to; the byte stream each file and socket received; the messages inside WebSocket streams (client frames
// unmasked); and the records of a LevelDB write-ahead log. Used by test/process/durability-strace.test.ts.
//
// The trace is one file for all threads (-f), so its line order is the order strace handled the calls. A call
// that another thread interrupted is split into `<unfinished ...>` and `<... resumed>` lines: a call is placed
// at the line where it started (`entry`) and the line where it returned (`exit`). Strace prints a call's exit
// before it lets that thread go on, so when one call's exit line comes before another call's entry line, the
// first had returned before the second began whenever the second depended on it (same thread, or woken by it).
import { spawnSync } from 'node:child_process';

/** Every call that can put bytes into a file or a socket, and the two that make a file's bytes durable. */
export const TRACED_SYSCALLS = [
  ...['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendto', 'sendmsg', 'sendmmsg'],
  ...['fsync', 'fdatasync'],
];
/** Decoded here: their bytes are read from the trace. sendmmsg, pwritev and pwritev2 are not (see `undecoded`). */
const DATA_CALLS = new Set(['write', 'writev', 'pwrite64', 'sendto', 'sendmsg']);
const UNDECODED_CALLS = new Set(['sendmmsg', 'pwritev', 'pwritev2']);
const SYNC_CALLS = new Set(['fsync', 'fdatasync']);
/** Longest buffer printed whole (-s); a longer one would be cut, and the trace refuses to parse then. */
const MAX_STRING = 4 * 1024 * 1024;

/**
 * Whether strace is installed and may trace here (ptrace permitted): undefined if so, else why not and how to
 * fix it. Checked by tracing `true`, which is what every later use needs.
 */
export function straceProblem(): string | undefined {
  const args = ['-f', '-o', '/dev/null', '-e', 'trace=write', '--', 'true'];
  const run = spawnSync('strace', args, { encoding: 'utf8', timeout: 30_000 });
  const install = 'install it with `apt-get update && apt-get install -y strace` (npm test does that when run as root)';
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return `strace is not on PATH: ${install}`;
  if (run.error) return `strace could not run: ${String(run.error)}`;
  if (run.status !== 0) {
    const why = `strace cannot trace here (exit ${run.status ?? run.signal}): ${run.stderr.trim()}`;
    return `${why}; ptrace must be permitted`;
  }
  return undefined;
}

/** The command line that runs `command` under strace, writing the trace to `out`. */
export function straceCommand(out: string, [cmd, args]: [string, string[]]): [string, string[]] {
  // -f: every thread; -tt: wall time; -xx: every byte of every string as \xNN, so the trace is exact;
  // -yy: each fd's path (file path, or TCP:[local->remote]); --seccomp-bpf: untraced calls run unstopped.
  const flags = ['-f', '--seccomp-bpf', '-tt', '-xx', '-yy', '-s', String(MAX_STRING)];
  flags.push('-e', `trace=${TRACED_SYSCALLS.join(',')}`, '-o', out);
  return ['strace', [...flags, '--', cmd, ...args]];
}

/** One traced call. */
export interface Call {
  pid: number;
  /** Wall time (HH:MM:SS.micro) at its entry. */
  time: string;
  name: string;
  fd: number;
  /** The fd's path as strace printed it: a file path, `TCP:[a->b]`, `pipe:[n]`, `socket:[n]`, … */
  path: string;
  /** Trace lines (1-based) where the call started and where it returned. */
  entry: number;
  exit: number;
  /** Its return value; undefined if the process died inside it (`= ?`). */
  ret: number | undefined;
  /** Data calls: the bytes the call was given (the first `ret` of them were written). */
  bytes?: Buffer;
  /** pwrite64: the file offset. */
  offset?: number;
  /** A data call whose bytes this reader does not decode (sendmmsg, pwritev, pwritev2): fatal where it matters. */
  undecoded?: boolean;
}

export interface Trace {
  calls: Call[];
  /** Lines of the trace that are neither a call nor a signal or exit notice: unparsed, so suspicious. */
  odd: string[];
}

const HEAD = /^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$/;
const RET = /\)\s+=\s+(-?\d+|\?)(?:\s.*)?$/;
const STRING = /"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?/g;

const unhex = (s: string): Buffer => Buffer.from(s.replace(/\\x/g, ''), 'hex');

/**
 * The fd and its path at the start of a call's arguments (`12<\x2f\x74…>`, `9<TCP:[a->b]>`), followed by `,`,
 * `)` or nothing (an unfinished call).
 */
function fdOf(args: string): { fd: number; path: string; rest: string } | undefined {
  const m = /^(\d+)<(.*?)>(?=[,)]|$)/.exec(args);
  if (!m) return undefined;
  // -xx writes file paths as \xNN too; socket descriptions (TCP:[…]) come as they are.
  const path = m[2]!.replace(/(?:\\x[0-9a-f]{2})+/g, (h) => unhex(h).toString('utf8'));
  return { fd: Number(m[1]), path, rest: args.slice(m[0].length) };
}

type Seen = Pick<Call, 'pid' | 'time' | 'name' | 'entry' | 'exit' | 'ret'>;

/** A call from its arguments' text, or why it cannot be read. */
function parseCall(seen: Seen, args: string): Call | string {
  const { name } = seen;
  if (!DATA_CALLS.has(name) && !SYNC_CALLS.has(name) && !UNDECODED_CALLS.has(name)) return `${name}: not a traced call`;
  const fd = fdOf(args);
  if (!fd) return `${name}: no fd path (run strace with -yy)`;
  const call: Call = { ...seen, fd: fd.fd, path: fd.path };
  if (UNDECODED_CALLS.has(name)) return { ...call, undecoded: true };
  if (DATA_CALLS.has(name)) {
    // write, pwrite64, sendto: one buffer; writev, sendmsg: the iov_base strings in order. Either way the
    // bytes given are the quoted strings of the arguments, in order.
    const parts: Buffer[] = [];
    for (const s of fd.rest.matchAll(STRING)) {
      if (s[2]) return `${name}: a string was cut at ${MAX_STRING} bytes (-s)`;
      parts.push(unhex(s[1]!));
    }
    call.bytes = Buffer.concat(parts);
    if (name === 'pwrite64') call.offset = Number(/,\s*(\d+)\)?\s*$/.exec(fd.rest.replace(RET, ')'))?.[1] ?? NaN);
  }
  return call;
}

/** Parses a trace written by straceCommand. */
export function parseTrace(text: string): Trace {
  const calls: Call[] = [];
  const odd: string[] = [];
  const pending = new Map<number, { name: string; time: string; args: string; entry: number }>();
  const add = (c: Call | string, n: number, text: string) => {
    if (typeof c === 'string') odd.push(`${n}: ${c}: ${text.slice(0, 200)}`);
    else calls.push(c);
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    const h = HEAD.exec(line);
    if (!h) {
      if (line.trim() !== '') odd.push(`${n}: ${line.slice(0, 200)}`);
      continue;
    }
    const pid = Number(h[1]);
    const rest = h[3]!;
    if (rest.startsWith('---') || rest.startsWith('+++')) continue; // signals, exits
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (!p || p.name !== resumed[1]) {
        odd.push(`${n}: resumed without a start: ${rest.slice(0, 200)}`);
        continue;
      }
      const r = RET.exec(resumed[2]!);
      const ret = r && r[1] !== '?' ? Number(r[1]) : undefined;
      add(parseCall({ pid, time: p.time, name: p.name, entry: p.entry, exit: n, ret }, p.args), n, rest);
      continue;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) {
      odd.push(`${n}: ${rest.slice(0, 200)}`);
      continue;
    }
    const [, name, args] = call as unknown as [string, string, string];
    if (args.endsWith(' <unfinished ...>')) {
      pending.set(pid, { name, time: h[2]!, args: args.slice(0, -' <unfinished ...>'.length), entry: n });
      continue;
    }
    const r = RET.exec(args);
    if (!r) {
      odd.push(`${n}: no return value: ${rest.slice(0, 200)}`);
      continue;
    }
    add(
      parseCall({ pid, time: h[2]!, name, entry: n, exit: n, ret: r[1] === '?' ? undefined : Number(r[1]) }, args),
      n,
      rest,
    );
  }
  // A call still unfinished at the end: its process died inside it, and its bytes may or may not have gone out.
  for (const [pid, p] of pending) {
    const seen = { pid, time: p.time, name: p.name, entry: p.entry, exit: Number.MAX_SAFE_INTEGER, ret: undefined };
    add(parseCall(seen, p.args), p.entry, `${p.name}(${p.args}`);
  }
  return { calls, odd };
}

/** What one fd path received, in order: its bytes, and which call wrote each piece of them. */
export interface Stream {
  path: string;
  data: Buffer;
  pieces: { start: number; end: number; call: Call }[];
}

/**
 * The byte stream of each path that `want` picks and data calls wrote to (only the bytes each call reports
 * written), in call order. Positional writes (pwrite64) are read only where they append.
 */
export function streams(trace: Trace, want: (path: string) => boolean): Map<string, Stream> {
  const out = new Map<string, { path: string; chunks: Buffer[]; size: number; pieces: Stream['pieces'] }>();
  const byEntry = trace.calls
    .filter((c) => c.bytes && (c.ret ?? 0) > 0 && want(c.path))
    .sort((a, b) => a.entry - b.entry);
  for (const c of byEntry) {
    let s = out.get(c.path);
    if (!s) out.set(c.path, (s = { path: c.path, chunks: [], size: 0, pieces: [] }));
    const written = c.bytes!.subarray(0, c.ret);
    if (c.offset !== undefined && c.offset !== s.size) {
      throw new Error(
        `${c.name} at offset ${c.offset} of ${c.path}, whose stream is ${s.size} bytes: only appends are read here`,
      );
    }
    s.pieces.push({ start: s.size, end: s.size + written.length, call: c });
    s.chunks.push(written);
    s.size += written.length;
  }
  return new Map([...out].map(([path, s]) => [path, { path, data: Buffer.concat(s.chunks), pieces: s.pieces }]));
}

/** The call that wrote byte `offset` of a stream. */
export function callAt(stream: Stream, offset: number): Call {
  let lo = 0;
  let hi = stream.pieces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stream.pieces[mid]!.end <= offset) lo = mid + 1;
    else hi = mid;
  }
  const p = stream.pieces[lo];
  if (!p || offset < p.start || offset >= p.end) {
    throw new RangeError(`offset ${offset} is outside ${stream.path}'s ${stream.data.length} bytes`);
  }
  return p.call;
}

/**
 * Whether a stream went to the network: a TCP or UDP socket. Unix sockets are left out (a child's stdio pipes
 * are Unix socket pairs under Node: the gateway's event lines to its parent), and so is a socket strace could
 * not describe when it is stdin, stdout or stderr.
 */
export const isNetwork = (s: Stream): boolean =>
  /^(TCP|TCPv6|UDP|UDPv6):/.test(s.path) || (/^socket:\[/.test(s.path) && s.pieces.every((p) => p.call.fd > 2));

/** What an application sent through a stream: the stream itself, or a WebSocket's message bytes. */
export interface Readable {
  kind: 'raw' | 'websocket-client' | 'websocket-server';
  /** The bytes to search: the stream, or the concatenated (unmasked) payloads of its data frames. */
  data: Buffer;
  /** The stream offset of byte `i` of `data`. */
  rawOffset(i: number): number;
}

/**
 * The application bytes of a socket stream. A WebSocket stream (an upgrade request we sent, or the 101 we
 * answered) is read as frames after its HTTP head (RFC 6455 §5.2): the payloads of text, binary and
 * continuation frames, unmasked when masked (frames a client sends are), in order; control frames are left
 * out. A compressed frame (RSV1, permessage-deflate) cannot be searched, so it throws. Any other stream is
 * read as it is.
 */
export function readable(stream: Stream): Readable {
  const data = stream.data;
  const headEnd = data.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? '' : data.subarray(0, headEnd).toString('latin1');
  const client = /^GET \S+ HTTP\/1\.1\r\n/.test(head) && /\r\nupgrade:\s*websocket\s*(\r\n|$)/i.test(head);
  const server = /^HTTP\/1\.1 101 /.test(head);
  if (!client && !server) return { kind: 'raw', data, rawOffset: (i) => i };
  const out: Buffer[] = [];
  const segments: { at: number; raw: number; length: number }[] = []; // data[at..] = stream[raw..], `length` bytes
  let size = 0;
  let pos = headEnd + 4;
  while (pos + 2 <= data.length) {
    const b0 = data[pos]!;
    const b1 = data[pos + 1]!;
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    let at = pos + 2;
    if (length === 126) {
      if (at + 2 > data.length) break;
      length = data.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (at + 8 > data.length) break;
      length = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const mask = masked ? data.subarray(at, at + 4) : undefined;
    if (masked) at += 4;
    if (at + length > data.length) break; // the process stopped mid-frame
    if (opcode <= 2) {
      if (b0 & 0x40)
        throw new Error(`${stream.path}: a compressed frame (RSV1, permessage-deflate) cannot be searched`);
      const payload = Buffer.from(data.subarray(at, at + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      out.push(payload);
      segments.push({ at: size, raw: at, length });
      size += length;
    }
    pos = at + length;
  }
  return {
    kind: client ? 'websocket-client' : 'websocket-server',
    data: Buffer.concat(out),
    rawOffset(i) {
      const s = segments.find((g) => i >= g.at && i < g.at + g.length);
      if (!s) throw new RangeError(`offset ${i} is outside ${stream.path}'s WebSocket payloads`);
      return s.raw + (i - s.at);
    },
  };
}

/** One record of a LevelDB log file (one write batch): its bytes, and the call that wrote its last byte. */
export interface LevelRecord {
  bytes: Buffer;
  /** Stream offsets: where its first fragment's header starts, and one past its last byte. */
  start: number;
  end: number;
  completedBy: Call;
}

/**
 * The records of a LevelDB log file (leveldb doc/log_format.md): 32 KiB blocks of fragments, each a 7-byte
 * header (crc32c, length, type: 1 full, 2 first, 3 middle, 4 last) and its bytes; a record that crosses a
 * block boundary is split into fragments, so its bytes are reassembled here before anything is searched.
 * A record the stream ends inside (the process died mid-write) is left out.
 */
export function levelLogRecords(stream: Stream): LevelRecord[] {
  const BLOCK = 32_768;
  const data = stream.data;
  const records: LevelRecord[] = [];
  let parts: Buffer[] = [];
  let start = -1;
  let pos = 0;
  while (pos < data.length) {
    const left = BLOCK - (pos % BLOCK);
    if (left < 7) {
      pos += left; // the block's zero-filled trailer
      continue;
    }
    if (pos + 7 > data.length) break;
    const length = data.readUInt16LE(pos + 4);
    const type = data[pos + 6]!;
    if (type === 0 && length === 0) {
      pos += left; // preallocated zeros: nothing more in this block
      continue;
    }
    if (pos + 7 + length > data.length) break;
    const bytes = data.subarray(pos + 7, pos + 7 + length);
    if (type === 1 || type === 2) {
      parts = [bytes];
      start = pos;
    } else if ((type === 3 || type === 4) && start >= 0) {
      parts.push(bytes);
    } else {
      throw new Error(`${stream.path}: bad LevelDB log fragment type ${type} at offset ${pos}`);
    }
    const end = pos + 7 + length;
    if (type === 1 || type === 4) {
      records.push({ bytes: Buffer.concat(parts), start, end, completedBy: callAt(stream, end - 1) });
      parts = [];
      start = -1;
    }
    pos = end;
  }
  return records;
}
