// Part 2: durable signed appends through a LogStore over LevelDriver, each entry built (nextEntryBody), sealed
// (hashed, signed) and written (writeLogEntry), one session at a time and 64 sessions at once (group commit).
import { type ChainContext, type ChainHead, EMPTY_HEAD } from '../kernel/entry.ts';
import { chainBody, sealEntry } from '../kernel/seal.ts';
import type { Json } from '../kernel/json.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';
import { identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { inSeries, now } from './lib/measure.ts';
import { check, type Results } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';
import { sampleBody } from './lib/sample-entry.ts';

/** A payload of the size of the average transfer entry (about 1 KiB of canonical JSON). */
const payload = (i: number): Json => ({ kind: 'record', what: `bench append ${i} ${'x'.repeat(900)}` });

async function appendFor(
  store: LogStore,
  ctx: ChainContext,
  ms: number,
  signer: Awaited<ReturnType<typeof identities>>['origin'],
): Promise<number> {
  let head: ChainHead = EMPTY_HEAD;
  const end = now() + ms;
  for (let i = 0; now() < end && i < 10_000_000; i++) {
    // Built as the reducer builds its entries (kernel/satp/reduce.ts).
    const { body } = chainBody(ctx, head, {
      phase: 'lock-evidence',
      step: '2.3',
      operation: 'done',
      payload: payload(i),
      timestamp: 1_700_000_000_000 + i,
    });
    const entry = await sealEntry(body, signer);
    head = await store.writeLogEntry(entry);
  }
  return head.seq;
}

export async function durableAppend(results: Results, limits: Limits, ms: number, sessions = 64): Promise<void> {
  const id = await identities();
  const sample = sampleBody(id.origin, id.destination);
  const ctx = (sessionId: string): ChainContext => ({
    ...sample,
    sessionId,
    contextId: `ctx-${sessionId}`,
    author: ORIGIN_ID,
  });
  for (const [label, n] of [
    ['sequential, 1 session', 1],
    [`group commit, ${sessions} sessions appending concurrently`, sessions],
  ] as const) {
    await withTempDir('append', async (dir) => {
      const store = new LogStore(await LevelDriver.open(dir), { keys: id.keys, verifier: id.verifier });
      try {
        // Warm-up on other sessions, then the measured window.
        await Promise.all(
          Array.from({ length: n }, (_, k) => appendFor(store, ctx(`warm-${k}`), Math.max(50, ms / 10), id.origin)),
        );
        const t = now();
        const counts = await Promise.all(
          Array.from({ length: n }, (_, k) => appendFor(store, ctx(`s-${k}`), ms, id.origin)),
        );
        const seconds = (now() - t) / 1000;
        const total = counts.reduce((a, b) => a + b, 0);
        // Every chain must verify end to end, signatures included, or the rate means nothing.
        for (let k = 0; k < n; k++) {
          const v = await store.verifyLog(`s-${k}/${ORIGIN_ID}`);
          check(
            v.ok && v.head.seq === counts[k],
            `chain s-${k} verifies with ${counts[k]} entries: ${JSON.stringify(v).slice(0, 300)}`,
          );
        }
        const bound =
          n === 1 ? inSeries(limits.signSeq, limits.levelSync1) : Math.min(limits.sign32, limits.levelSync64);
        const boundIs = n === 1 ? '1/(1/sign + 1/sync put)' : `min(sign 32 in flight, sync batch of 64)`;
        results.rate(
          'append',
          `durable signed append, ${label}`,
          total / seconds,
          bound,
          boundIs,
          n === 1 ? {} : { target: '≥ 70 %' },
        );
      } finally {
        await store.close();
      }
    });
  }
}
