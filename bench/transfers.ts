// Part 3: completed transfers per second and their latency between two gateways over WebSocket on loopback,
// at 1, 16 and 256 concurrent sessions, with LevelDB logs and with memory logs (the price of durability),
// each held against the bound implied by the signatures, verifications and fsyncs one transfer needs; then the
// same with each gateway and ledger server in its own process (transfers-processes.ts).
import { availableParallelism } from 'node:os';
import { transfersInProcesses } from './transfers-processes.ts';
import { logIdOf } from '../kernel/entry.ts';
import { Counts, DESTINATION_ID, identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { now, quantile } from './lib/measure.ts';
import {
  commitTransfer,
  dialOrigin,
  ledgers,
  openStore,
  serveDestination,
  type Side,
  type StoreKind,
  Trouble,
  wireGateway,
} from './lib/pair.ts';
import { check, type Results } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';

export interface TransferRun {
  store: StoreKind;
  concurrency: number;
  transfers: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Per completed transfer, both gateways and both ledgers together. */
  per: { signs: number; verifies: number; appends: number; entries: number; messages: number; entryChars: number };
}

/** Runs `count` transfers (after a warm-up round) with `concurrency` sessions in flight at any time. */
export async function runTransfers(kind: StoreKind, concurrency: number, count: number): Promise<TransferRun> {
  const id = await identities();
  return withTempDir(`transfers-${kind}`, async (dir) => {
    const counts = new Counts();
    const trouble = new Trouble();
    const warm = Math.min(concurrency, 32);
    const { a, b } = ledgers(id, counts, warm + count);
    const server = await serveDestination(id, trouble);
    const client = await dialOrigin(id, server.url, trouble);
    const origin = wireGateway({
      id: ORIGIN_ID,
      signer: id.origin,
      store: await openStore(kind, dir, 'origin', id, counts),
      ledger: a,
      transport: client,
      ids: id,
      counts,
      trouble,
    });
    const destination = wireGateway({
      id: DESTINATION_ID,
      signer: id.destination,
      store: await openStore(kind, dir, 'destination', id, counts),
      ledger: b,
      peerLedger: a,
      transport: server,
      ids: id,
      counts,
      trouble,
    });
    const sides: Side[] = [origin, destination];
    try {
      const transfer = async (i: number): Promise<number> => {
        const t = now();
        await commitTransfer(origin, destination, `t${concurrency}-${i}`, `asset-${i}`);
        return now() - t;
      };
      const batch = async (from: number, n: number, lanes: number): Promise<number[]> => {
        const latencies: number[] = [];
        let next = from;
        await Promise.all(
          Array.from({ length: lanes }, async () => {
            for (let i = next++; i < from + n; i = next++) latencies.push(await transfer(i));
          }),
        );
        return latencies;
      };
      await batch(0, warm, warm);
      counts.reset();
      for (const s of sides) s.sent = 0;
      const t = now();
      const latencies = await batch(warm, count, concurrency);
      const seconds = (now() - t) / 1000;
      trouble.check(`transfers (${kind}, ${concurrency} sessions)`);
      // Counted before the checks below, whose verifications are not the transfers' work.
      const messages = origin.sent + destination.sent;
      const per = {
        signs: counts.signs / count,
        verifies: counts.verifies / count,
        appends: counts.appends / count,
        entries: counts.entries / count,
        messages: messages / count,
        entryChars: counts.entryChars / Math.max(1, counts.entries),
      };
      await checkOutcome(sides, warm, count, concurrency);
      return {
        store: kind,
        concurrency,
        transfers: count,
        perSecond: count / seconds,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        per,
      };
    } finally {
      for (const s of sides) s.gw.close();
      await client.close();
      await server.close();
      for (const s of sides) await s.store.close();
    }
  });
}

/** Every asset moved exactly once; a sample of chains (first, last and evenly spread) verifies in full. */
async function checkOutcome(sides: Side[], from: number, count: number, concurrency: number): Promise<void> {
  const [origin, destination] = sides as [Side, Side];
  for (let i = from; i < from + count; i++) {
    const onA = await origin.ledger.asset(`asset-${i}`);
    const onB = await destination.ledger.asset(`asset-${i}`);
    check(
      onA?.state === 'burned' && onB?.state === 'active' && onB.owner === 'bob',
      `asset-${i} burned on the origin ledger and bob's on the destination's`,
    );
  }
  const step = Math.max(1, Math.floor(count / 32));
  for (let i = from; i < from + count; i += step) {
    for (const s of sides) {
      const v = await s.store.verifyLog(logIdOf(`t${concurrency}-${i}`, s.id));
      check(
        v.ok && v.entries.at(-1)?.step === 'end',
        `${s.id}'s chain of t${concurrency}-${i} verifies and ends: ${JSON.stringify(v).slice(0, 300)}`,
      );
    }
  }
}

/**
 * The bound one transfer's work implies, from the limits measured in part 1. Signatures: every entry (all
 * appended entries are the gateways' own here), every message and every ledger receipt.
 * One session: the steps wait for each other, so their costs add: per append, the sealing of its entries
 * (concurrent, so at least one sign, and no faster than the in-flight rate) and one synced put; each
 * message's and receipt's signature and each verification in turn; half a round trip per message.
 * Many sessions: the signatures and verifications of all sessions share the CPU at the in-flight rates,
 * and group commit puts the appends of many sessions in one synced batch (the rate of entries in batches
 * of 64); the lower of the two bounds the rate, and Little's law turns it into a latency.
 */
export function boundOf(r: TransferRun, l: Limits): { perSecond: number; latencyMs: number; is: string } {
  const p = r.per;
  const disk = r.store === 'level';
  if (r.concurrency === 1) {
    const sealing = Math.max(p.appends / l.signSeq, p.entries / l.sign32);
    const seconds =
      sealing +
      (p.signs - p.entries) / l.signSeq +
      p.verifies / l.verifySeq +
      (disk ? p.appends / l.levelSync1 : 0) +
      (p.messages * l.wsRttMs) / 2000;
    return {
      perSecond: 1 / seconds,
      latencyMs: 1000 * seconds,
      is: disk ? 'Σ signs + verifies + synced puts + ½ RTTs' : 'Σ signs + verifies + ½ RTTs',
    };
  }
  const crypto = 1 / (p.signs / l.sign32 + p.verifies / l.verify32);
  const fsync = disk ? l.levelSync64 / p.entries : Infinity;
  const perSecond = Math.min(crypto, fsync);
  return {
    perSecond,
    latencyMs: (1000 * r.concurrency) / perSecond,
    is: crypto <= fsync ? 'signs + verifies, 32 in flight' : 'entries in synced batches of 64',
  };
}

/** Transfers (16 sessions, LevelDB logs) run before the measured ones, and not counted. */
const WARM_UP_TRANSFERS = 256;

export async function transfers(results: Results, limits: Limits, quick: boolean): Promise<TransferRun[]> {
  const plan: [number, number][] = quick
    ? [
        [1, 10],
        [16, 48],
        [256, 256],
      ]
    : [
        [1, 100],
        [16, 480],
        [256, 1_024],
      ];
  // Unmeasured, before the first measured run: a process's first transfers run code V8 has not optimized yet. Each run
  // warms up with as many transfers as it has sessions, one for the first row, which then measured a cold process
  // against memory-log rows measured warm, after 1,600 LevelDB transfers (BENCHMARKS.md, "A warm process").
  await runTransfers('level', 16, quick ? 48 : WARM_UP_TRANSFERS);
  const runs: TransferRun[] = [];
  for (const kind of ['level', 'memory'] as const) {
    for (const [concurrency, count] of plan) {
      const r = await runTransfers(kind, concurrency, count);
      runs.push(r);
      const b = boundOf(r, limits);
      const label =
        `${kind === 'level' ? 'LevelDB' : 'memory'} log, ` + `${concurrency} session${concurrency === 1 ? '' : 's'}`;
      results.rate('transfers', `transfers, ${label}`, r.perSecond, b.perSecond, b.is, {
        target: '≥ 50 %',
        note: `${r.transfers} transfers`,
      });
      results.time(
        'transfers',
        `latency p50, ${label}`,
        r.p50,
        b.latencyMs,
        concurrency === 1 ? 'the same sum' : 'sessions ÷ bound rate',
        { note: `p99 ${r.p99.toFixed(1)} ms` },
      );
    }
  }
  const one = (k: string) => runs.find((r) => r.store === k && r.concurrency === 1)!;
  const level = one('level').p50;
  const mem = one('memory').p50;
  results.add({
    section: 'transfers',
    name: 'latency p50 at 1 session, LevelDB log vs memory log',
    value: level,
    unit: 'ms',
    bound: mem,
    boundIs: 'memory log',
    ratio: level / mem,
    ratioAs: '×',
    target: '≤ 2×',
  });
  const p = one('level').per;
  results.add({
    section: 'transfers',
    name: 'work per transfer (counted, both gateways and ledgers)',
    value: p.signs,
    unit: 'signs',
    note:
      `${p.verifies.toFixed(1)} verifies, ${p.appends.toFixed(1)} appends = fsyncs, ` +
      `${p.entries.toFixed(1)} entries of ${p.entryChars.toFixed(0)} B, ${p.messages.toFixed(1)} messages`,
  });
  // The same as users run it: each gateway and ledger server in its own process.
  const [count, inFlight] = quick ? [48, 16] : [480, 16];
  const q = await transfersInProcesses(count, inFlight);
  const perTransfer = q.cpu.origin + q.cpu.destination + q.cpu.ledgers + q.cpu.bench + q.cpu.rest;
  const ms = (s: number) => (s * 1000).toFixed(1);
  const ceiling = (s: number) => (1 / s).toFixed(0);
  results.rate(
    'transfers',
    `transfers in processes: two gateway processes (LevelDB, WebSocket), two ledger servers, ${inFlight} in flight`,
    q.perSecond,
    availableParallelism() / perTransfer,
    `all ${availableParallelism()} cores at the run's CPU per transfer`,
    {
      target: '≥ 50 %',
      note:
        `${count} transfers; CPU ms per transfer: origin ${ms(q.cpu.origin)}, destination ${ms(q.cpu.destination)}, ` +
        `ledgers ${ms(q.cpu.ledgers)}, the bench ${ms(q.cpu.bench)}, the rest ${ms(q.cpu.rest)}; ` +
        `one core each caps the origin at ${ceiling(q.cpu.origin)}/s and the destination at ` +
        `${ceiling(q.cpu.destination)}/s; cores busy ${(q.busy * 100).toFixed(0)} %`,
    },
  );
  return runs;
}
