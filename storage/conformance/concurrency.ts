// Conformance cases for concurrent appends: racing writers on one log never fork it (single writer,
// conditional appends), and writers on different logs never block or lose each other's entries.
import { describe, expect } from 'vitest';
import type { LogEntry } from '../../kernel/entry.ts';
import { SatpError } from '../../kernel/errors.ts';
import { headOf, logIdFor, makeChain, prng, sealNext } from './fixtures.ts';
import { type StoreHarness, storeTest } from './harness.ts';

type Outcome = { entry: LogEntry; landed: boolean; error?: unknown };

const settle = (entry: LogEntry, p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    () => ({ entry, landed: true }),
    (error: unknown) => ({ entry, landed: false, error }),
  );

export function concurrencyCases(h: StoreHarness): void {
  describe('concurrent appends', () => {
    storeTest(
      h,
      '50 concurrent single-entry appends racing on one log: exactly those that extend the chain land, and it verifies',
      async (t) => {
        const session = 'race-one-log';
        const logId = logIdFor(session);
        // 25 entries of one chain and 25 forks, fork k competing with chain entry k for the same seq.
        const chain = await makeChain(session, 25);
        const forks = await Promise.all(chain.map((_, k) => sealNext(session, headOf(chain.slice(0, k)), 100 + k)));
        const racers = [...chain, ...forks];
        const random = prng(50);
        for (let i = racers.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [racers[i], racers[j]] = [racers[j]!, racers[i]!];
        }
        const outcomes = await Promise.all(racers.map((e) => settle(e, t.store.writeLogEntry(e))));
        for (const o of outcomes)
          if (!o.landed) expect(o.error instanceof SatpError && o.error.code, String(o.error)).toBe('CHAIN_CONFLICT');
        const landed = outcomes.filter((o) => o.landed).map((o) => o.entry);
        const stored = await t.store.getLog(logId);
        expect(stored.length).toBeGreaterThan(0);
        expect(new Set(stored.map((e) => e.entryHash))).toEqual(new Set(landed.map((e) => e.entryHash)));
        expect(landed.length).toBe(stored.length);
        expect(await t.store.verifyLog(logId)).toMatchObject({ ok: true, head: headOf(stored) });
      },
    );

    storeTest(h, 'driver.append: 50 concurrent appends expecting the same head, exactly one lands', async (t) => {
      // Below the LogStore's lock: the driver's own check-and-write must be atomic.
      const session = 'race-driver';
      const logId = logIdFor(session);
      const [first] = await makeChain(session, 1);
      await t.store.writeLogEntry(first);
      const head = headOf([first!]);
      const forks = await Promise.all(Array.from({ length: 50 }, (_, k) => sealNext(session, head, 200 + k)));
      const outcomes = await Promise.all(
        forks.map((e) =>
          settle(e, t.driver.append(logId, head, [JSON.stringify(e)], { seq: 2, hash: e.entryHash, open: true })),
        ),
      );
      const landed = outcomes.filter((o) => o.landed);
      expect(landed.length).toBe(1);
      for (const o of outcomes)
        if (!o.landed) expect(o.error instanceof SatpError && o.error.code, String(o.error)).toBe('CHAIN_CONFLICT');
      expect(await t.store.getLog(logId)).toEqual([first, landed[0]!.entry]);
      expect(await t.store.verifyLog(logId)).toMatchObject({ ok: true });
    });

    storeTest(h, 'appends to 100 different logs at once all land, each log verifies, and all are open', async (t) => {
      const sessions = Array.from({ length: 100 }, (_, i) => `parallel-${i}`);
      const chains = await Promise.all(sessions.map((s) => makeChain(s, 2)));
      await Promise.all(chains.map((c) => t.store.writeLogEntries(c)));
      for (let i = 0; i < sessions.length; i++) {
        expect(await t.store.getLog(logIdFor(sessions[i]!))).toEqual(chains[i]);
      }
      const verified = await Promise.all(sessions.map((s) => t.store.verifyLog(logIdFor(s))));
      expect(verified.filter((r) => !r.ok)).toEqual([]);
      expect((await t.store.listOpenLogs()).map((o) => o.logId).sort()).toEqual(
        sessions.map((s) => logIdFor(s)).sort(),
      );
    });
  });
}
