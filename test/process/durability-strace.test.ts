// Write-ahead durability proven at the syscall level: both gateway processes of one transfer run under strace,
// and the traces show that every entry a step logs was written to the gateway's LevelDB log file AND
// fdatasync'ed (or fsync'ed) before any message or ledger call of that step left the process.
//
// How the trace is matched (test/support/strace.ts reads it):
// - The LevelDB log file is the `NNNNNN.log` under the gateway's db dir. Its bytes are rebuilt from the write
//   calls in order and split into LevelDB records (one per write batch, reassembled across 32 KiB block
//   boundaries), so an entry is found whole even when its batch went out in several writes. An entry is in a
//   record when the record holds `"entryHash":"<its 64 hex>"`: its own stored text, never a later entry's
//   lastEntryHash. It is durable from the first successful fdatasync/fsync of that same file that begins after
//   the write completing that record returned.
// - A message leaves as a WebSocket text frame whose JSON holds the envelope's `payload`: base64url of the RFC
//   8785 canonical JSON of the message the `send` entry logged (kernel/satp/envelope.ts sealMessage). Frames
//   are parsed and unmasked from each socket's rebuilt stream, so it does not matter which connection carries
//   the message. gateway/links.ts sends on the connection the gateway dialled while it is up, and a client's
//   frames are XOR-masked (RFC 6455 §5.3); forcing the accepted connection instead would tie this test to that
//   link policy and to its reconnect timing, while unmasking is exact and costs a few lines. Compression
//   (permessage-deflate) is off on both sides; a compressed frame fails the test rather than hide a message.
// - A ledger call is an HTTP request on a plain TCP stream whose body holds the op's `"opId":"<id>"`.
// - For each `exec` entry of a send or a ledger op in the gateway's own chain (read back from its LevelDB),
//   the first socket write carrying the first byte of its message or op must start after that sync returned.
//   Every entry of the chain must be in a log write that was later synced. Trace order is line order: strace
//   prints a call's return before letting its thread go on, so a send that the sync's completion enabled
//   always comes later in the trace.
// Turning off `sync: true` in storage/level.ts makes this fail: LevelDB then never syncs its log file.
//
// Both runtimes: the gateways are the runtime under test's (cli/gateway.ts bundled under Node,
// cli/gateway.deno.ts under Deno), so each run proves its own runtime's gateway, with its own socket
// calls (libuv's write/writev, tokio's sendto/writev), over the same LevelDB library.
//
// strace is a Debian package: missing, this test fails (never skips); scripts/test.mjs installs it when it
// can (as root).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../../kernel/entry.ts';
import { toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import type { Payload } from '../../kernel/satp/payloads.ts';
import { bundleGateway } from '../support/gateway-bundle.ts';
import { Cluster, type Role } from '../support/gateway-cluster.ts';
import { checkInvariants, readOwnChain } from '../support/gateway-invariants.ts';
import { type Call, callAt, isNetwork, levelLogRecords, parseTrace, readable, streams } from '../support/strace.ts';
import { straceCommand, straceProblem } from '../support/strace.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
/** SATP_STRACE_KEEP=1 keeps the traces (and both LevelDBs) and prints where, to read a failure. */
const KEEP = process.env.SATP_STRACE_KEEP === '1';
const SESSION = 's-durable-1';
const TRANSFER = { sessionId: SESSION, assetId: 'asset-1', originator: 'alice', beneficiary: 'bob', lockSeconds: 120 };
/** Bounds on the whole transfer under strace, and on each wait in it. */
const TEST_MS = 240_000;
const WAIT_MS = 120_000;

interface Run {
  cluster: Cluster;
  traces: Record<Role, string[]>;
  chains: Record<Role, LogEntry[]>;
}

/** What to tear down, filled in as it is started. */
interface Started {
  cluster?: Cluster;
  bundle?: { remove(): void };
}

/** One transfer, origin to destination, with both gateways under strace, run to its end and stopped. */
async function transferUnderStrace(dir: string, started: Started): Promise<Run> {
  const problem = straceProblem();
  if (problem) throw new Error(`this test needs strace: ${problem}`);
  const bundle = runtime === 'node' ? (started.bundle = await bundleGateway()) : undefined;
  const traces: Record<Role, string[]> = { origin: [], destination: [] };
  const cluster = (started.cluster = await Cluster.start({
    dir,
    runtime,
    assets: [`${TRANSFER.assetId}:${TRANSFER.originator}`],
    flags: [],
    ...(bundle && { bundle: bundle.path }),
    wrap: (m, command) => {
      const out = join(dir, `${m.id}.life-${m.lives}.strace`);
      traces[m.role].push(out);
      return straceCommand(out, command);
    },
  }));
  const { origin, destination } = cluster.members;
  const reply = await origin.child!.request({ cmd: 'transfer', ...TRANSFER }, WAIT_MS);
  expect(reply.started, `the transfer started: ${JSON.stringify(reply)}`).toBe(true);
  const ended = (m: typeof origin) =>
    m.child!.waitFor((e) => e.event === 'outcome' && e.session === SESSION, WAIT_MS, `${m.id}'s outcome`);
  const outcomes = await Promise.all([ended(origin), ended(destination)]).catch((err: unknown) => {
    const last = (m: typeof origin) => m.history.slice(-12).map((e) => `  ${JSON.stringify(e).slice(0, 240)}`);
    const lines = [
      String(err),
      `last events of ${origin.id}:`,
      ...last(origin),
      `last events of ${destination.id}:`,
      ...last(destination),
    ];
    throw new Error(lines.join('\n'));
  });
  expect(outcomes.map((e) => e.outcome)).toEqual(['committed', 'committed']);
  // A graceful stop (stdin's end): each gateway closes its LevelDB and exits 0, and strace with it.
  const exits = await cluster.pair.stop();
  expect(
    exits.map((x) => x.graceful && x.code === 0),
    'both traced gateways exited cleanly',
  ).toEqual([true, true]);
  expect(traces, 'each gateway ran once, under strace').toEqual({
    origin: [expect.any(String)],
    destination: [expect.any(String)],
  });

  const ledgers = { ledgerA: cluster.ledgers.origin.url, ledgerB: cluster.ledgers.destination.url };
  const report = await checkInvariants({ origin, destination, ...ledgers, transfers: [TRANSFER] });
  expect(report.problems).toEqual([]);
  expect(report.committed).toBe(1);
  const chains = {
    origin: await readOwnChain(origin, destination, SESSION),
    destination: await readOwnChain(destination, origin, SESSION),
  };
  return { cluster, traces, chains };
}

/** Microseconds since midnight of a -tt time stamp, for printing margins. */
const micros = (t: string): number => {
  const [h, m, s] = t.split(':') as [string, string, string];
  return (Number(h) * 3600 + Number(m) * 60) * 1e6 + Math.round(Number(s) * 1e6);
};

const at = (c: Call): string => `trace line ${c.entry} (${c.name} on ${c.path})`;

/** What leaves the process for an exec entry: what it is, and the needle that marks it on a socket. */
function outbound(e: LogEntry): { kind: 'message' | 'ledger call'; what: string; needle: string } | undefined {
  if (e.operation !== 'exec') return undefined;
  const p = e.payload as Payload;
  // The envelope's payload: base64url of the message's canonical JSON (kernel/satp/envelope.ts sealMessage).
  const payload = (m: unknown) => toBase64Url(utf8(canonicalJson(m as Json)));
  if (p.kind === 'send') {
    return { kind: 'message', what: `message ${p.message.messageType} to ${p.to}`, needle: payload(p.message) };
  }
  if (p.kind === 'recovery-send' && p.message) {
    return { kind: 'message', what: `recovery message ${p.messageType} to ${p.to}`, needle: payload(p.message) };
  }
  if (p.kind === 'ledger-op') {
    return {
      kind: 'ledger call',
      what: `ledger call ${p.op.kind} ${p.op.opId}`,
      needle: `"opId":${JSON.stringify(p.op.opId)}`,
    };
  }
  return undefined;
}

interface Checked {
  /** One line on what was checked and how it went. */
  summary: string;
  /** Messages and ledger calls that left before their exec entry was durable (or never left). */
  early: string[];
  /** Entries never written to the log file, or never synced after. */
  unsynced: string[];
  /** Trace lines or calls this reader could not read. */
  unread: string[];
  counts: { messages: number; ledgerCalls: number };
}

/** Checks one gateway's trace against its own chain. */
function checkTrace(run: Run, role: Role): Checked {
  const m = run.cluster.members[role];
  const chain = run.chains[role];
  const trace = parseTrace(readFileSync(run.traces[role][0]!, 'utf8'));
  const unread = trace.odd.map((l) => `unread trace line ${l}`);
  const db = `${realpathSync(m.db)}/`;
  const isLogFile = (path: string) => path.startsWith(db) && /^\d+\.log$/.test(path.slice(db.length));
  const all = [...streams(trace, (path) => isLogFile(path) || !path.startsWith('/')).values()];
  const logFiles = all.filter((s) => isLogFile(s.path));
  // Bytes this reader cannot see, on a TCP connection or the log file, could hide a message: refuse them.
  for (const c of trace.calls.filter(
    (c) => c.undecoded && (isLogFile(c.path) || /^(TCP|TCPv6|socket):/.test(c.path)),
  )) {
    unread.push(`${at(c)}: ${c.name}'s bytes are not decoded by test/support/strace.ts`);
  }
  if (logFiles.length === 0) unread.push(`${m.id} wrote no LevelDB log file under ${db} in the trace`);
  const records = logFiles.flatMap((s) => levelLogRecords(s).map((r) => ({ ...r, path: s.path })));
  const syncs = trace.calls.filter((c) => (c.name === 'fsync' || c.name === 'fdatasync') && c.ret === 0);
  const sockets = all.filter(isNetwork).map((s) => ({ stream: s, app: readable(s) }));

  /** The first sync that made an entry durable: of its log file, begun after the write completing its record. */
  const durable = (e: LogEntry): { write: Call; sync: Call | undefined } | undefined => {
    const needle = `"entryHash":"${e.entryHash}"`;
    let best: { write: Call; sync: Call | undefined } | undefined;
    for (const r of records) {
      if (!r.bytes.includes(needle)) continue;
      const sync = syncs.find((s) => s.path === r.path && s.entry > r.completedBy.exit);
      if (!best || (sync && (!best.sync || sync.exit < best.sync.exit))) best = { write: r.completedBy, sync };
    }
    return best;
  };
  /** The first socket write carrying the needle's first byte, over every TCP connection of the process. */
  const firstCarrying = (needle: string): Call | undefined => {
    let first: Call | undefined;
    for (const { stream, app } of sockets) {
      const i = app.data.indexOf(needle);
      if (i < 0) continue;
      const call = callAt(stream, app.rawOffset(i));
      if (!first || call.entry < first.entry) first = call;
    }
    return first;
  };

  const early: string[] = [];
  const unsynced: string[] = [];
  const counts = { messages: 0, ledgerCalls: 0 };
  let closest: { lines: number; ms: number; what: string } | undefined;
  for (const e of chain) {
    const label = `${m.id} #${e.seqNumber} ${e.operation} ${e.step} (entry ${e.entryHash.slice(0, 12)})`;
    const d = durable(e);
    if (!d) unsynced.push(`${label}: no write to its LevelDB log file holds the entry`);
    else if (!d.sync)
      unsynced.push(`${label}: written at ${at(d.write)}, but no fdatasync/fsync of that file followed`);
    const out = outbound(e);
    if (!out) continue;
    if (out.kind === 'ledger call') counts.ledgerCalls++;
    else counts.messages++;
    const sent = firstCarrying(out.needle);
    if (!sent) {
      early.push(`${label}: its ${out.what} never left the process in the trace`);
    } else if (!d?.sync) {
      const written = d ? `after its write at ${at(d.write)}` : '(and no write holds it)';
      early.push(
        `${label}: its ${out.what} left at ${at(sent)} with the entry not synced: no fdatasync/fsync of the log file ` +
          written,
      );
    } else if (d.sync.exit >= sent.entry) {
      early.push(
        `${label}: its ${out.what} left at ${at(sent)}, before the entry was durable: written at ${at(d.write)}, ` +
          `first synced by ${at(d.sync)}, returning at line ${d.sync.exit}`,
      );
    } else {
      const lines = sent.entry - d.sync.exit;
      const ms = (micros(sent.time) - micros(d.sync.time)) / 1000;
      if (!closest || lines < closest.lines) closest = { lines, ms, what: out.what };
    }
  }
  const calls = counts.messages + counts.ledgerCalls;
  const logSyncs = syncs.filter((s) => isLogFile(s.path)).length;
  const near = closest
    ? ` (closest: ${closest.what}, ${closest.lines} trace lines / ${closest.ms.toFixed(2)} ms after its sync began)`
    : '';
  const summary =
    `${m.id} (${runtime}): ${chain.length} entries in ${records.length} LevelDB batches, ` +
    `${logSyncs} syncs of its log file; ` +
    `${counts.messages} messages and ${counts.ledgerCalls} ledger calls: ` +
    (early.length === 0
      ? `each left after its exec entry was synced${near}`
      : `${early.length} of ${calls} left before their exec entry was synced`) +
    (unsynced.length ? `; ${unsynced.length} of ${chain.length} entries never synced` : '; every entry synced');
  return { summary, early, unsynced, unread, counts };
}

const TITLE =
  'write-ahead durability, seen by strace: ' +
  "entries synced before a step's message or ledger call " +
  `(${runtime})`;

describe(TITLE, () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'satp-strace-')));
  const started: Started = {};
  let ran: Promise<Run> | undefined;
  const run = () => (ran ??= transferUnderStrace(dir, started));

  afterAll(async () => {
    await started.cluster?.destroy();
    started.bundle?.remove();
    if (KEEP) console.log(`durability strace: traces and LevelDBs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  for (const role of ['origin', 'destination'] as const) {
    const title =
      `${role}: each send or ledger op left the process after its exec entry ` +
      'was written to the LevelDB log and synced';
    it(
      `${title}; every entry was synced`,
      async () => {
        const r = checkTrace(await run(), role);
        console.log(`durability strace: ${r.summary}`);
        const problems = [...r.unread, ...r.early, ...r.unsynced];
        expect(problems, `${r.summary}\n${problems.join('\n')}\n`).toHaveLength(0);
        expect(r.counts.messages, 'messages were checked').toBeGreaterThan(0);
        expect(r.counts.ledgerCalls, 'ledger calls were checked').toBeGreaterThan(0);
      },
      TEST_MS,
    );
  }
});
