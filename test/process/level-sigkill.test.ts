// Kills a real process appending to LevelDB with SIGKILL, again and again on the same store, and proves
// that every acknowledged append survived, every batch is all-or-nothing and every chain still verifies.
//
// A process kill leaves the OS page cache intact, so this proves crash atomicity and that an append's
// promise resolves only after the write: what a gateway crash does. Power loss is a stronger claim
// (it rests on LevelDB's sync: true), which no test here can make.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { verifyCtx } from '../support/fixtures.ts';
import { type Bundle, bundleScript } from '../support/gateway-bundle.ts';
import { mulberry32 } from '../support/prng.ts';

const deno = process.env.SATP_RUNTIME === 'deno';
const KILLS = Number(process.env.SATP_SIGKILL_KILLS ?? (deno ? 12 : 50));
const SEED = Number(process.env.SATP_SIGKILL_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** The kill lands uniformly in [0, MAX_DELAY_MS) after the child says ready: mid-write, mid-batch, or between. */
const MAX_DELAY_MS = 250;
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

const root = fileURLToPath(new URL('../..', import.meta.url));
const childScript = join('test', 'support', 'append-child.ts');
/** The child bundled, under Node. */
let childBundle: Bundle | undefined;

/** What the parent knows of one chain: the hashes that must be stored, and an append that may be. */
interface LogModel {
  hashes: string[];
  open: boolean;
  inFlight?: { hashes: string[]; ends: boolean };
}

interface Tally {
  acked: number;
  ackedBatches: number;
  ackedEntries: number;
  inFlightStored: number;
  inFlightAbsent: number;
}

function spawnChild(dir: string, seed: number, round: number) {
  // The current runtime runs the child: node running it bundled (a third of tsx's CPU per start), or deno itself.
  const args = deno
    ? ['run', '-A', childScript, dir, String(seed), String(round)]
    : [childBundle!.path, dir, String(seed), String(round)];
  return spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** One round: start a child, kill it at a random moment, and return the lines it printed. */
async function runAndKill(dir: string, round: number, delayMs: number, childSeed: number): Promise<string[]> {
  const child = spawnChild(dir, childSeed, round);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  // 'close' comes after 'exit' and after stdout ended, so every line the child wrote has been read.
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const spawnFailed = new Promise<never>((_, reject) => child.on('error', reject));
  spawnFailed.catch(() => undefined); // raced below; after the round it has no one left to tell
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`round ${round}: ${what} took over ${ms} ms`)), ms)),
    );
    return Promise.race([p, timeout, spawnFailed]).finally(() => clearTimeout(timer));
  };
  try {
    const ready = new Promise<void>((resolve, reject) => {
      const onData = () => {
        const m = /^ready \d+ (\w+)\n/m.exec(out);
        if (m) {
          child.stdout.off('data', onData);
          // The child runs in the runtime under test, not a Node fallback.
          if (m[1] === (deno ? 'deno' : 'node')) resolve();
          else reject(new Error(`round ${round}: the child runs under ${m[1]}`));
        }
      };
      child.stdout.on('data', onData);
      void closed.then((c) =>
        reject(new Error(`round ${round}: child exited before ready (${c.code ?? c.signal}): ${err}`)),
      );
    });
    await within(ready, READY_TIMEOUT_MS, 'startup');
    await new Promise((r) => setTimeout(r, delayMs)); // the random moment itself, not a wait for a state
    if (child.exitCode !== null)
      throw new Error(`round ${round}: child exited by itself (${child.exitCode}): ${out.slice(-500)} ${err}`);
    child.kill('SIGKILL');
    const end = await within(closed, EXIT_TIMEOUT_MS, 'exit after SIGKILL');
    if (end.signal !== 'SIGKILL')
      throw new Error(
        `round ${round}: the child exited (${end.code ?? end.signal}) before the kill: ${out.slice(-500)} ${err}`,
      );
  } catch (e) {
    child.kill('SIGKILL');
    await within(closed, EXIT_TIMEOUT_MS, 'exit after a failure').catch(() => undefined); // before the dir is removed
    throw e;
  }
  return out.split('\n').filter((l) => l.length > 0);
}

/** Folds a round's lines into the model: a `try` opens an append in flight, its `ack` makes it required. */
function applyLines(lines: string[], logs: Map<string, LogModel>, tally: Tally, round: number): void {
  for (const line of lines) {
    const [kind, logId, seqText, hashList, flag] = line.split(' ');
    if (kind === 'ready') continue;
    if ((kind !== 'try' && kind !== 'ack') || !logId || !seqText || !hashList)
      throw new Error(`round ${round}: unexpected line from the child: ${line}`);
    const hashes = hashList.split(',');
    const log = logs.get(logId) ?? { hashes: [], open: true };
    logs.set(logId, log);
    if (kind === 'try') {
      expect(log.inFlight, `round ${round}: ${logId} has one append in flight at a time`).toBeUndefined();
      expect(Number(seqText), `round ${round}: ${logId} try extends the known chain`).toBe(log.hashes.length + 1);
      log.inFlight = { hashes, ends: flag === 'end' };
    } else {
      expect(log.inFlight?.hashes, `round ${round}: ${logId} ack matches its try`).toEqual(hashes);
      log.hashes.push(...hashes);
      log.open = !log.inFlight!.ends;
      log.inFlight = undefined;
      tally.acked++;
      tally.ackedEntries += hashes.length;
      if (hashes.length > 1) tally.ackedBatches++;
    }
  }
}

/** Reopens the store the child died holding and checks every chain against the model. */
async function checkStore(dir: string, logs: Map<string, LogModel>, tally: Tally, round: number): Promise<void> {
  const store = new LogStore(await LevelDriver.open(dir), verifyCtx);
  try {
    for (const [logId, log] of logs) {
      const result = await store.verifyLog(logId);
      if (!result.ok)
        throw new Error(
          `round ${round}: ${logId} does not verify at entry ${result.index}: ${result.reason}: ${result.detail}`,
        );
      const stored = result.entries.map((e) => e.entryHash);
      const flight = log.inFlight;
      if (flight && stored.length === log.hashes.length + flight.hashes.length) {
        // The kill came after the write but before the ack was printed: the whole batch is there.
        expect(stored, `round ${round}: ${logId} holds its acked entries and the whole in-flight batch`).toEqual([
          ...log.hashes,
          ...flight.hashes,
        ]);
        log.hashes.push(...flight.hashes);
        log.open = !flight.ends;
        tally.inFlightStored++;
      } else {
        // Every acked entry, with its hash, and nothing of an in-flight batch: never part of one.
        expect(stored, `round ${round}: ${logId} holds exactly its acked entries`).toEqual(log.hashes);
        if (flight) tally.inFlightAbsent++;
      }
      log.inFlight = undefined;
    }
    // The open-session index was written in the same batches: it names exactly the stored, open chains
    // (a chain whose first append died in flight does not exist).
    const open = (await store.listOpenLogs()).map((l) => l.logId).sort();
    expect(open, `round ${round}: the open-session index`).toEqual(
      [...logs]
        .filter(([, l]) => l.open && l.hashes.length > 0)
        .map(([id]) => id)
        .sort(),
    );
  } finally {
    await store.close();
  }
}

describe('LevelDB store under SIGKILL of the appending process', () => {
  beforeAll(async () => {
    if (!deno) childBundle = await bundleScript(childScript);
  });
  afterAll(() => childBundle?.remove());

  it(`keeps every acknowledged append, all-or-nothing batches and verifying chains across ${KILLS} kills`, async () => {
    const started = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'satp-sigkill-'));
    const random = mulberry32(SEED);
    const logs = new Map<string, LogModel>();
    const tally: Tally = { acked: 0, ackedBatches: 0, ackedEntries: 0, inFlightStored: 0, inFlightAbsent: 0 };
    let checkMs = 0;
    console.log(
      `sigkill: seed ${SEED} (replay with SATP_SIGKILL_SEED=${SEED}), ${KILLS} kills under ${deno ? 'deno' : 'node'}`,
    );
    try {
      for (let round = 0; round < KILLS; round++) {
        const delay = Math.floor(random() * MAX_DELAY_MS);
        const lines = await runAndKill(dir, round, delay, Math.floor(random() * 2 ** 32));
        applyLines(lines, logs, tally, round);
        const t = Date.now();
        await checkStore(dir, logs, tally, round);
        checkMs += Date.now() - t;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const entries = [...logs.values()].reduce((n, l) => n + l.hashes.length, 0);
    console.log(
      `sigkill: ${KILLS} kills, ${tally.acked} acknowledged appends checked ` +
        `(${tally.ackedBatches} batches, ${tally.ackedEntries} entries), ` +
        `in flight at the kill: ${tally.inFlightStored} stored whole, ${tally.inFlightAbsent} absent; ` +
        `${logs.size} chains, ${entries} entries, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s (${(checkMs / 1000).toFixed(1)} s reopening and checking), ` +
        `seed ${SEED}`,
    );
    expect(tally.acked, 'the children appended before they were killed').toBeGreaterThan(0);
    expect(tally.inFlightStored + tally.inFlightAbsent, 'some kills landed with an append in flight').toBeGreaterThan(
      0,
    );
  }, 240_000);
});
