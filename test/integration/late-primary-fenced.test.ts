// A late primary is fenced (issue 12; recovery-04 §5.1, primary-backup): the primary's log lives in a shared
// PostgreSQL database; a backup takes the session over by raising the log's fencing epoch. When the primary
// acts again, its conditional append is refused with FENCED: it steps down from the session, sends nothing
// and calls no ledger for it, and refuses everything about it from then on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { logIdOf } from '../../kernel/entry.ts';
import { SatpError } from '../../kernel/errors.ts';
import { LogStore } from '../../storage/log-store.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { startPostgres, type PostgresCluster } from '../support/postgres-cluster.ts';
import { DESTINATION, keys, makePair, ORIGIN, typeOf, until } from '../support/satp-pair.ts';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('a late primary is fenced', () => {
  it('its next append is refused with FENCED: it steps down, and no ledger call or message follows', async () => {
    const primary = await PostgresDriver.open(cluster.url, { schema: 'late_primary', epoch: 1 });
    try {
      const pair = await makePair({
        wrapStore: (who, store) =>
          who === 'origin' ? new LogStore(primary, { keys, verifier: defaultVerifier() }) : store,
      });
      const sid = 's-late-primary';
      const logId = logIdOf(sid, ORIGIN.id);
      // The destination promises; its commit-ready does not reach the primary before the takeover.
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
      await pair.origin.gw.startTransfer(pair.request(sid));
      await until(pair, () => pair.destination.gw.session(sid)?.promised === true, 20, 'promised');
      const before = await primary.head(logId);
      expect(before?.open).toBe(true);

      // The backup takes the log over: epoch 2 (its own driver view on the same database).
      await primary.withEpoch(2).fence(logId, 2);
      expect(await primary.epochOf(logId)).toBe(2);

      // The commit-ready now arrives: the primary would log the burn's exec and call its ledger. (Until then it
      // may resend its commit-prepare, already logged: a resend appends nothing, so nothing fences it.)
      pair.drop = () => false;
      await until(pair, () => pair.origin.gw.fenced().has(sid), 20, 'the primary steps down');
      const steppedDownAt = pair.wire.length;
      // Long past every resend and the lock's deadline: still nothing from the primary for this session.
      await until(pair, () => false, 90, 'quiet').catch(() => undefined);

      expect(pair.origin.gw.fenced().get(sid)).toMatch(/fenced/);
      expect(pair.origin.gw.session(sid), 'its state is forgotten').toBeUndefined();
      expect(await primary.head(logId), 'nothing was appended past the fence').toEqual(before);
      const burns = pair.origin.ledger
        .ops()
        .filter((r) => r.receipt.opId.startsWith(`${sid}:`) && r.receipt.kind === 'burn');
      expect(burns, 'no burn was ever asked of the ledger').toEqual([]);
      const after = pair.wire.slice(steppedDownAt);
      const sentAfter = after.filter((w) => w.from === ORIGIN.id && w.to === DESTINATION.id);
      expect(
        sentAfter.map((w) => typeOf(w.env)),
        'no message for the session once it stepped down',
      ).toEqual([]);
      expect(
        after.some((w) => w.from === DESTINATION.id),
        'the peer kept trying meanwhile',
      ).toBe(true);
      expect(pair.origin.reports.filter((r) => r.sessionId === sid && r.report.kind === 'needs-operator')).toEqual([
        { sessionId: sid, report: { kind: 'needs-operator', detail: expect.stringMatching(/^stepped down/) } },
      ]);
    } finally {
      await primary.close();
    }
  }, 120_000);

  it('a primary cut off from the store during a takeover: its retries meet the fence; it steps down', async () => {
    const primary = await PostgresDriver.open(cluster.url, { schema: 'partitioned_primary', epoch: 1 });
    try {
      const logStore = new LogStore(primary, { keys, verifier: defaultVerifier() });
      let partitioned = false;
      // The primary's view of the store: while partitioned, every call fails as a store out of reach would.
      const cut = new Proxy(logStore, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) =>
            partitioned
              ? Promise.reject(new SatpError('STORAGE_FAILURE', 'partitioned from the store'))
              : v.apply(target, args);
        },
      });
      const pair = await makePair({ wrapStore: (who, store) => (who === 'origin' ? cut : store) });
      const sid = 's-partitioned-primary';
      const logId = logIdOf(sid, ORIGIN.id);
      pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
      await pair.origin.gw.startTransfer(pair.request(sid));
      await until(pair, () => pair.destination.gw.session(sid)?.promised === true, 20, 'promised');
      const before = await primary.head(logId);
      // The partition: the commit-ready now reaches the primary, which cannot log the burn's exec; it retries.
      partitioned = true;
      pair.drop = () => false;
      await until(
        pair,
        () => pair.origin.reports.some((r) => r.sessionId === sid && /the store failed/.test(JSON.stringify(r.report))),
        20,
        'the primary retries against the partition',
      );
      // Meanwhile the backup takes the log over (a higher epoch, on its own connection), then the partition heals.
      const backup = await PostgresDriver.open(cluster.url, { schema: 'partitioned_primary', epoch: 2 });
      await backup.fence(logId, 2);
      await backup.close();
      partitioned = false;
      await until(pair, () => pair.origin.gw.fenced().has(sid), 30, 'the primary steps down');
      expect(await primary.head(logId), 'nothing was appended past the fence').toEqual(before);
      const burns = pair.origin.ledger.ops().filter((r) => r.receipt.kind === 'burn');
      expect(burns, 'no burn was ever asked of the ledger').toEqual([]);
    } finally {
      await primary.close();
    }
  }, 120_000);
});
