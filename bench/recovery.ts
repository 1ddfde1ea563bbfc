// Part 4: recovery time after a crash, from restart to RECOVER-SUCCESS and to the transfer's completion,
// against (a) how many entries of its peer's chain the recovered gateway lacks and (b) how much closed
// history its store holds. Recovery must grow with (a) only. Both gateways run in this process; the last figures
// run the largest lack again with each gateway and ledger server in its own process (recovery-processes.ts).
import { join } from 'node:path';
import { type ChainHead, logIdOf, nextEntryBody } from '../kernel/entry.ts';
import { sealEntry } from '../kernel/seal.ts';
import type { Json } from '../kernel/json.ts';
import { peek, shortType } from '../gateway/peek.ts';
import { RMSG } from '../kernel/satp/recovery-messages.ts';
import { replay } from '../kernel/satp/state.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';
import { Counts, countingVerifier, DESTINATION_ID, identities, type Identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { mainThreadCpu, now } from './lib/measure.ts';
import {
  CountingDriver,
  dialOrigin,
  ledgers,
  serveDestination,
  transferRequest,
  Trouble,
  wireGateway,
  within,
} from './lib/pair.ts';
import { check, type Results } from './lib/report.ts';
import { growChain, writeHistory } from './lib/history.ts';
import { recoverInProcesses } from './recovery-processes.ts';
import { withTempDir } from './lib/tmp.ts';
import type { MemoryLedger } from '../ledgers/memory-ledger.ts';

interface Timing {
  /**
   * From restart (opening the store) to: the store open, the peer dialled (WebSocket handshake), RECOVER-SUCCESS
   * processed, the transfer committed on both sides.
   */
  openMs: number;
  dialMs: number;
  successMs: number;
  doneMs: number;
  /** The work of the recovery itself (restart to RECOVER-SUCCESS), counted. */
  work: { signs: number; verifies: number; appends: number; messages: number };
  /** CPU time of the main thread (both gateways' JavaScript), restart to RECOVER-SUCCESS. */
  mainCpuMs: number;
}

/**
 * Whether a received envelope is a RECOVER-SUCCESS. Read with the CLI's peek, which decodes only the ends of a long
 * payload: decoding every recovery page in full here cost about 6 % of the time measured.
 */
const isRecoverSuccess = (env: Json): boolean => peek(env).type === shortType(RMSG.recoverSuccess);

const openLevel = async (dir: string, id: Identities, counts: Counts) =>
  new LogStore(new CountingDriver(await LevelDriver.open(dir), counts), {
    keys: id.keys,
    verifier: countingVerifier(id.verifier, counts),
  });

/**
 * One crash and recovery. The origin proposes; the destination accepts (its chain: 3 entries) and the
 * origin crashes before reading the receipt. As a recovery round before would have left it, the origin
 * already holds those 3 entries of the destination's chain; the destination's chain then grows by `lack`
 * entries (`record` entries, which its state ignores, as long as an average transfer entry), so the origin
 * lacks exactly `lack`. The destination keeps running (its session loaded). The origin restarts: reopens
 * its store, dials, boots, recovers page by page (128 entries per RECOVER-UPDATE), resends its proposal,
 * and the transfer runs to the end.
 */
export async function recoverOnce(
  dirs: { origin: string; destination: string },
  sid: string,
  lack: number,
  ledger: { a: MemoryLedger; b: MemoryLedger },
  assetId: string,
): Promise<Timing> {
  const id = await identities();
  const counts = new Counts();
  const trouble = new Trouble();

  // Before the crash.
  let server = await serveDestination(id, trouble);
  let client = await dialOrigin(id, server.url, trouble);
  let originStore = await openLevel(dirs.origin, id, counts);
  const destinationStore = await openLevel(dirs.destination, id, counts);
  let proposal: Json | undefined;
  let destinationDone!: () => void;
  const accepted = new Promise<void>((r) => (destinationDone = r));
  let origin = wireGateway({
    id: ORIGIN_ID,
    signer: id.origin,
    store: originStore,
    ledger: ledger.a,
    transport: client,
    ids: id,
    counts,
    trouble,
    deliver: () => false,
    onSend: (m) => (proposal ??= m),
  });
  let destination = wireGateway({
    id: DESTINATION_ID,
    signer: id.destination,
    store: destinationStore,
    ledger: ledger.b,
    peerLedger: ledger.a,
    transport: server,
    ids: id,
    counts,
    trouble,
    afterReceive: () => destinationDone(),
  });
  check((await origin.gw.startTransfer(transferRequest(sid, assetId))).accepted, `transfer ${sid} started`);
  await within(30_000, `destination accepts ${sid}`, accepted);
  origin.gw.close();
  destination.gw.close();
  await client.close();
  await server.close();
  check(proposal, 'the origin sent its proposal');

  // The destination's first three entries, copied at the origin as by an earlier recovery round.
  const destLog = logIdOf(sid, DESTINATION_ID);
  const ownLog = logIdOf(sid, ORIGIN_ID);
  const firstThree = await destinationStore.getLog(destLog);
  check(firstThree.length === 3, `the destination logged 3 entries for ${sid}, not ${firstThree.length}`);
  await originStore.writeLogEntries(firstThree);
  const ownState = replay(await originStore.getLog(ownLog))!;
  const peerHead: ChainHead = { seq: 3, hash: firstThree[2]!.entryHash };
  const appended = firstThree.map((e) => e.entryHash);
  const earlierUpdate = 'e'.repeat(64); // the hash of that earlier RECOVER-UPDATE (nobody looks it up again)
  const copied = nextEntryBody(ownState.chain, ownState.head, {
    phase: 'recovery',
    step: 'recovery',
    operation: 'ack',
    actionResponse: 'recover-update-msg',
    timestamp: Date.now(),
    payload: {
      kind: 'recovery-receive',
      from: DESTINATION_ID,
      messageType: RMSG.recoverUpdate,
      hash: earlierUpdate,
      appended,
      peerHead,
    } as unknown as Json,
    recoveryMessage: 'recover-update-msg',
    recoveryPayload: { hash: earlierUpdate, appended },
  });
  await originStore.writeLogEntry(await sealEntry(copied, id.origin));
  await originStore.close();

  // The destination's chain grows by `lack` entries while the origin is down.
  await growChain(destinationStore, replay(firstThree)!, id.destination, lack);

  // The destination runs on, with the session in memory: it answers a duplicate proposal (unlogged; the origin is
  // down).
  server = await serveDestination(id, trouble);
  destination = wireGateway({
    id: DESTINATION_ID,
    signer: id.destination,
    store: destinationStore,
    ledger: ledger.b,
    peerLedger: ledger.a,
    transport: server,
    ids: id,
    counts,
    trouble,
  });
  await destination.gw.receive(ORIGIN_ID, proposal);
  check(destination.gw.session(sid)?.head.seq === 3 + lack, `the destination's chain holds ${3 + lack} entries`);

  // The restart, timed from here.
  counts.reset();
  let successAt = 0;
  let work: Timing['work'] | undefined;
  let mainCpuMs = 0;
  const cpu0 = mainThreadCpu();
  const t0 = now();
  originStore = await openLevel(dirs.origin, id, counts);
  const openMs = now() - t0;
  client = await dialOrigin(id, server.url, trouble);
  const dialMs = now() - t0 - openMs;
  origin = wireGateway({
    id: ORIGIN_ID,
    signer: id.origin,
    store: originStore,
    ledger: ledger.a,
    transport: client,
    ids: id,
    counts,
    trouble,
    afterReceive: (m) => {
      if (successAt || !isRecoverSuccess(m)) return;
      successAt = now();
      mainCpuMs = 1000 * (mainThreadCpu() - cpu0);
      work = {
        signs: counts.signs,
        verifies: counts.verifies,
        appends: counts.appends,
        messages: origin.sent + destination.sent,
      };
    },
  });
  const ended = Promise.all([origin.gw.whenEnded(sid), destination.gw.whenEnded(sid)]);
  try {
    const booted = await origin.gw.boot();
    check(booted >= 1, 'the origin found its open session at boot');
    const outcomes = await within(300_000, `recovery of ${sid}`, ended);
    const doneMs = now() - t0;
    check(
      outcomes[0] === 'committed' && outcomes[1] === 'committed',
      `${sid} committed on both sides after recovery: ${outcomes.join(', ')}`,
    );
    check(successAt > 0 && work, `${sid}: the origin received RECOVER-SUCCESS`);
    trouble.check(`recovery of ${sid}`);
    // The chains at the end: the origin's own, its copy of the destination's, and the destination's.
    for (const [store, logId] of [
      [originStore, ownLog],
      [originStore, destLog],
      [destinationStore, destLog],
    ] as const) {
      const v = await store.verifyLog(logId);
      check(v.ok, `${logId} verifies after recovery: ${JSON.stringify(v).slice(0, 300)}`);
    }
    const copy = await originStore.getLogLength(destLog);
    check(
      copy >= 3 + lack,
      `the origin's copy of the destination's chain holds the ${lack} entries it lacked (${copy})`,
    );
    check(
      (await ledger.a.asset(assetId))?.state === 'burned' && (await ledger.b.asset(assetId))?.owner === 'bob',
      `${assetId} moved exactly once`,
    );
    return { openMs, dialMs, successMs: successAt - t0, doneMs, work: work!, mainCpuMs };
  } finally {
    origin.gw.close();
    destination.gw.close();
    await client.close();
    await server.close();
    await originStore.close();
    await destinationStore.close();
  }
}

/** The texts of the first recovered session's own chain: the template of the closed history. */
async function templateTexts(originDir: string, sessionId: string): Promise<string[]> {
  const driver = await LevelDriver.open(originDir);
  try {
    return await driver.read(logIdOf(sessionId, ORIGIN_ID), 1, Number.MAX_SAFE_INTEGER);
  } finally {
    await driver.close();
  }
}

const median = (ts: Timing[]): Timing => [...ts].sort((x, y) => x.successMs - y.successMs)[Math.floor(ts.length / 2)]!;

/**
 * The least time the counted recovery work can take (restart to RECOVER-SUCCESS): its signatures one at a
 * time, its verifications at the in-flight rate (a page is verified concurrently), one synced put per
 * append, and a round trip per exchange (two messages).
 */
const boundMs = (w: Timing['work'], l: Limits): number =>
  1000 * (w.signs / l.signSeq + w.verifies / l.verify32 + w.appends / l.levelSync1) + (w.messages / 2) * l.wsRttMs;

const label = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));

export async function recovery(
  results: Results,
  limits: Limits,
  quick: boolean,
  say: (line: string) => void,
): Promise<void> {
  const lacks = quick ? [1, 100, 1_000] : [1, 100, 10_000];
  const histories = quick ? [0, 10_000, 100_000] : [0, 10_000, 1_000_000];
  // Short recoveries are repeated (median shown): one run of a few milliseconds is mostly noise.
  const reps = (lack: number): number => (quick || lack > 100 ? 1 : 3);
  const runs = histories.length * lacks.reduce((n, l) => n + reps(l), 0);
  const id = await identities();
  const { a, b } = ledgers(id, new Counts(), runs);
  await withTempDir('recovery', async (dir) => {
    const dirs = { origin: join(dir, 'origin'), destination: join(dir, 'destination') };
    const grid = new Map<string, Timing>();
    let n = 0;
    let written = 0;
    for (const history of histories) {
      if (history > written) {
        const texts = await templateTexts(dirs.origin, 'r0');
        check(texts.length > 0, 'the first recovered session left a chain to copy');
        const h = await writeHistory(dirs.origin, written, history - written, texts);
        say(
          `  history: ${history - written} entries (${h.sessions} closed sessions of ${texts.length}) ` +
            `written in ${(h.ms / 1000).toFixed(1)} s`,
        );
        written = history;
      }
      for (const lack of lacks) {
        const timings: Timing[] = [];
        for (let r = 0; r < reps(lack); r++, n++)
          timings.push(await recoverOnce(dirs, `r${n}`, lack, { a, b }, `asset-${n}`));
        const t = median(timings);
        grid.set(`${history}/${lack}`, t);
        results.time(
          'recovery',
          `restart → RECOVER-SUCCESS, lacks ${label(lack)}, history ${label(history)}`,
          t.successMs,
          boundMs(t.work, limits),
          'counted signs + verifies + synced puts + RTTs',
          {
            note:
              `open ${t.openMs.toFixed(0)} + dial ${t.dialMs.toFixed(0)} + ` +
              `protocol ${(t.successMs - t.openMs - t.dialMs).toFixed(0)} ms; ` +
              `main thread's CPU ${t.mainCpuMs.toFixed(0)} ms; transfer done at ${t.doneMs.toFixed(0)} ms`,
          },
        );
      }
    }
    const top = histories.at(-1)!;
    for (const lack of lacks) {
      const at = grid.get(`${top}/${lack}`)!.successMs;
      const none = grid.get(`0/${lack}`)!.successMs;
      results.add({
        section: 'recovery',
        name: `flat in history: lacks ${label(lack)}, history ${label(top)} vs none`,
        value: at,
        unit: 'ms',
        bound: none,
        boundIs: 'no history',
        ratio: at / none,
        ratioAs: '×',
        target: '≈ 1× (flat)',
      });
    }
    const big = lacks.at(-1)!;
    const t1 = grid.get(`0/${lacks[0]}`)!;
    const tb = grid.get(`0/${big}`)!;
    const perSecond = (big - lacks[0]!) / ((tb.successMs - t1.successMs) / 1000);
    results.rate(
      'recovery',
      `linear in the lack: entries recovered per second (lacks ${label(big)} vs ${label(lacks[0]!)})`,
      perSecond,
      limits.verify32,
      'verify, 32 in flight',
      { target: '≥ 50 %' },
    );
  });
  // The same recovery as users run it: each gateway and ledger server in its own process, on cores of their own.
  const lack = lacks.at(-1)!;
  const p = await recoverInProcesses(lack);
  const cpu = `origin ${p.cpu.origin.toFixed(2)} s, destination ${p.cpu.destination.toFixed(2)} s`;
  results.time(
    'recovery',
    `in processes: listening → RECOVER-SUCCESS, lacks ${label(lack)} (CPU from spawn: ${cpu})`,
    p.successMs - p.listeningMs,
    (1000 * lack) / limits.verify32,
    'verifying the lack, 32 in flight',
    {
      note:
        `spawn → listening ${p.listeningMs.toFixed(0)} ms; transfer done at ${p.doneMs.toFixed(0)} ms from spawn; ` +
        `ledgers' CPU ${p.cpu.ledgers.toFixed(2)} s`,
    },
  );
  results.rate(
    'recovery',
    `in processes: entries recovered per second, listening → RECOVER-SUCCESS (lacks ${label(lack)})`,
    p.recovered / ((p.successMs - p.listeningMs) / 1000),
    limits.verify32,
    'verify, 32 in flight',
    { target: '≥ 50 %' },
  );
}
