// The process test/process/level-sigkill.test.ts kills: appends signed entries to a LevelDB store until SIGKILL.
// Usage: append-child.ts <dir> <seed> <round>. Prints, synchronously, one line per event on stdout:
//   ready <openLogs> <node|deno>              the store is open and the heads are read
//   try <logId> <firstSeq> <hash,hash,…> <open|end>   an append is about to be issued
//   ack <logId> <firstSeq> <hash,hash,…>      that append's promise resolved
// A `try` is written before the append starts, so the parent knows every append that may have
// reached the store; an `ack` only after it resolved, so every acked append must survive the kill.
import { writeSync } from 'node:fs';
import { nextEntryBody, sealEntry, type ChainHead, type LogEntry } from '../../kernel/index.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { chainContext, G1, G2, verifyCtx, type TestGateway } from './fixtures.ts';
import { mulberry32 } from './prng.ts';

const [dir, seedText, roundText] = process.argv.slice(2);
if (!dir || !seedText || !roundText) throw new TypeError('usage: append-child.ts <dir> <seed> <round>');
// The parent's seed fixes the kill moments; the child's own choices (batch sizes, chain lengths) come
// from this seed too, though concurrent workers draw from it in an order that timing decides.
const random = mulberry32(Number(seedText));
const round = Number(roundText);

/** Logs appended to concurrently, so a kill usually finds several appends in flight at once. */
const CONCURRENT_LOGS = 4;
/** The child is meant to die by SIGKILL long before these bounds; reaching one is a test failure. */
const MAX_APPENDS = 20_000;
const MAX_MILLIS = 60_000;
const STEPS = ['2.1', '2.2', '2.3', '2.4', '3.1', '3.2'];
const OPS = ['init', 'exec', 'done', 'ack'] as const;

// writeSync, not console.log: the line is in the pipe before the next statement runs, so a `try`
// can never be lost behind an append that reached the store. EAGAIN (a non-blocking pipe that is
// momentarily full) is retried a bounded number of times.
function say(line: string): void {
  const bytes = new TextEncoder().encode(`${line}\n`);
  let off = 0;
  for (let tries = 0; off < bytes.length; tries++) {
    try {
      off += writeSync(1, bytes, off);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN' || tries > 1_000_000) throw err;
    }
  }
}

interface Chain {
  logId: string;
  author: TestGateway;
  sessionId: string;
  head: ChainHead;
  /** The seq at which this chain writes its `end` entry and the worker starts a new session. */
  endAt: number;
}

const store = new LogStore(await LevelDriver.open(dir), verifyCtx);
const started = Date.now();
let appends = 0;
let fresh = 0;

const newChain = (): Chain => {
  const sessionId = `s-r${round}-${fresh++}`;
  const author = random() < 0.5 ? G1 : G2;
  return {
    logId: `${sessionId}/${author.id}`,
    author,
    sessionId,
    head: { seq: 0, hash: '0'.repeat(64) },
    endAt: 10 + Math.floor(random() * 40),
  };
};

// Continue the chains earlier rounds left open (found through the open-session index), then new ones.
const chains: Chain[] = [];
for (const open of await store.listOpenLogs()) {
  if (chains.length === CONCURRENT_LOGS) break;
  const author = open.author === G1.id ? G1 : G2;
  chains.push({
    logId: open.logId,
    author,
    sessionId: open.sessionId,
    head: open.head,
    endAt: open.head.seq + 1 + Math.floor(random() * 30),
  });
}
const openAtStart = chains.length;
while (chains.length < CONCURRENT_LOGS) chains.push(newChain());
say(`ready ${openAtStart} ${'Deno' in globalThis ? 'deno' : 'node'}`);

async function appendOnce(chain: Chain): Promise<void> {
  const ctx = chainContext(chain.sessionId, chain.author);
  const want = random() < 0.5 ? 1 : 2 + Math.floor(random() * 7); // a single append, or a batch of 2–8
  const n = Math.min(want, chain.endAt - chain.head.seq);
  const batch: LogEntry[] = [];
  let head = chain.head;
  for (let i = 0; i < n; i++) {
    const seq = head.seq + 1;
    const last = seq === chain.endAt;
    const body = nextEntryBody(ctx, head, {
      phase: last ? 'closure' : 'lock',
      step: last ? 'end' : STEPS[seq % STEPS.length]!,
      operation: last ? 'done' : OPS[seq % OPS.length]!,
      payload: { round, seq, note: 'x'.repeat(Math.floor(random() * 200)) },
      timestamp: 1_700_000_000_000 + appends,
    });
    const entry = await sealEntry(body, chain.author.signer);
    batch.push(entry);
    head = { seq: entry.seqNumber, hash: entry.entryHash };
  }
  const hashes = batch.map((e) => e.entryHash).join(',');
  const ends = head.seq === chain.endAt;
  say(`try ${chain.logId} ${chain.head.seq + 1} ${hashes} ${ends ? 'end' : 'open'}`);
  await (batch.length === 1 ? store.writeLogEntry(batch[0]) : store.writeLogEntries(batch));
  say(`ack ${chain.logId} ${chain.head.seq + 1} ${hashes}`);
  chain.head = head;
  appends++;
}

async function worker(slot: number): Promise<void> {
  while (appends < MAX_APPENDS && Date.now() - started < MAX_MILLIS) {
    const chain = chains[slot]!;
    await appendOnce(chain);
    if (chain.head.seq === chain.endAt) chains[slot] = newChain();
  }
}

try {
  await Promise.all(chains.map((_, slot) => worker(slot)));
  say(`bounds reached after ${appends} appends without being killed`);
  process.exitCode = 3;
} catch (err) {
  say(`error ${String(err)}`);
  process.exitCode = 2;
} finally {
  await store.close();
}
