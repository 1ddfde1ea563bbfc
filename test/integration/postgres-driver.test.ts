// The PostgreSQL driver beyond the conformance suite: writers on separate connections racing on one head (the
// conditional UPDATE decides, not a lock in this process), fencing epochs, concurrent opens of one schema, and gateway
// leases (taken, renewed, lapsed and taken over, fencing every log of the gateway).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_HEAD } from '../../kernel/entry.ts';
import type { ChainHead } from '../../kernel/entry.ts';
import { SatpError } from '../../kernel/errors.ts';
import { type Lease, PostgresDriver } from '../../storage/postgres.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres-cluster.ts';

let cluster: PostgresCluster;
let schemas = 0;
const opened: PostgresDriver[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
});

afterAll(async () => {
  for (const d of opened) await d.close().catch(() => undefined);
  await cluster?.stop();
});

/** A driver with its own connection pool on `schema`. */
async function open(schema: string, epoch?: number): Promise<PostgresDriver> {
  const d = await PostgresDriver.open(cluster.url, { schema, epoch });
  opened.push(d);
  return d;
}

const freshSchema = () => `driver_${++schemas}`;
const codeOf = (err: unknown) => (err instanceof SatpError ? err.code : String(err));
const next = (seq: number, tag: string) => ({ seq, hash: `hash-${seq}-${tag}`, open: true });

describe('PostgresDriver: racing writers on separate connections', () => {
  it('25 rounds of two drivers appending on one head: one wins each, the other gets CHAIN_CONFLICT', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const logId = 'race';
    let head: ChainHead = EMPTY_HEAD;
    const winners: string[] = [];
    for (let round = 1; round <= 25; round++) {
      const [na, nb] = [next(round, 'a'), next(round, 'b')];
      const results = await Promise.allSettled([
        a.append(logId, head, [`a${round}`], na),
        b.append(logId, head, [`b${round}`], nb),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won.length, `round ${round}`).toBe(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(codeOf(lost.reason)).toBe('CHAIN_CONFLICT');
      const winner = results[0]!.status === 'fulfilled' ? 'a' : 'b';
      winners.push(`${winner}${round}`);
      head = winner === 'a' ? na : nb;
      // Both connections see the winner's head, and only the winner's entry was written.
      expect(await a.head(logId)).toEqual(head);
      expect(await b.head(logId)).toEqual(head);
    }
    expect(await a.read(logId, 1, 25)).toEqual(winners);
    expect(await b.openLogs()).toEqual([logId]);
  });

  it('a new log: two drivers creating it at once, one wins and the other gets CHAIN_CONFLICT', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    for (let i = 0; i < 20; i++) {
      const logId = `new-${i}`;
      const results = await Promise.allSettled([
        a.append(logId, EMPTY_HEAD, ['a'], next(1, 'a')),
        b.append(logId, EMPTY_HEAD, ['b'], next(1, 'b')),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(codeOf(lost.reason)).toBe('CHAIN_CONFLICT');
      expect((await a.read(logId, 1, 9)).length).toBe(1);
    }
  });

  it('four drivers opening the same new schema at once all succeed, and share the tables', async () => {
    const schema = freshSchema();
    const drivers = await Promise.all([open(schema), open(schema), open(schema), open(schema)]);
    await drivers[0]!.append('shared', EMPTY_HEAD, ['x'], next(1, 'x'));
    for (const d of drivers) expect(await d.head('shared')).toEqual(next(1, 'x'));
  });
});

describe('PostgresDriver: fencing epochs', () => {
  it('a writer at epoch 1 is refused with FENCED once another raised the epoch to 2, the new one appends', async () => {
    const schema = freshSchema();
    const first = await open(schema, 1);
    const second = await open(schema, 2);
    const logId = 'fenced';
    await first.append(logId, EMPTY_HEAD, ['one'], next(1, 'one'));
    await second.fence(logId, 2);
    const refused = await first.append(logId, next(1, 'one'), ['two'], next(2, 'two')).catch((err: unknown) => err);
    expect(codeOf(refused)).toBe('FENCED');
    // Nothing of the refused append was written.
    expect(await first.head(logId)).toEqual(next(1, 'one'));
    expect(await first.read(logId, 1, 9)).toEqual(['one']);
    await second.append(logId, next(1, 'one'), ['two'], next(2, 'two'));
    expect(await second.read(logId, 1, 9)).toEqual(['one', 'two']);
    expect(await second.epochOf(logId)).toBe(2);
  });

  it('epochs never go down: fencing lower is a no-op, and the old holder stays fenced', async () => {
    const d = await open(freshSchema());
    const logId = 'monotonic';
    await d.fence(logId, 5);
    await d.fence(logId, 3);
    await d.fence(logId, 0);
    expect(await d.epochOf(logId)).toBe(5);
    await d.fence(logId, 7);
    expect(await d.epochOf(logId)).toBe(7);
    expect(
      codeOf(
        await d
          .withEpoch(6)
          .append(logId, EMPTY_HEAD, ['x'], next(1, 'x'))
          .catch((e: unknown) => e),
      ),
    ).toBe('FENCED');
  });

  it('a fenced log with no entries has no head and is not open, and its holder creates it', async () => {
    const d = await open(freshSchema());
    await d.fence('empty', 3);
    expect(await d.head('empty')).toBeUndefined();
    expect(await d.openLogs()).toEqual([]);
    expect(await d.read('empty', 1, 9)).toEqual([]);
    const refused = await d
      .withEpoch(2)
      .append('empty', EMPTY_HEAD, ['x'], next(1, 'x'))
      .catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('FENCED');
    expect(await d.head('empty')).toBeUndefined();
    await d.withEpoch(3).append('empty', EMPTY_HEAD, ['x'], next(1, 'x'));
    expect(await d.head('empty')).toEqual(next(1, 'x'));
    expect(await d.openLogs()).toEqual(['empty']);
  });

  it("an append by a higher epoch raises the log's epoch, fencing the old holder without a fence() call", async () => {
    const schema = freshSchema();
    const old = await open(schema, 1);
    const newer = (await open(schema)).withEpoch(4);
    await old.append('takeover', EMPTY_HEAD, ['1'], next(1, 'a'));
    await newer.append('takeover', next(1, 'a'), ['2'], next(2, 'b'));
    expect(await newer.epochOf('takeover')).toBe(4);
    const refused = await old.append('takeover', next(2, 'b'), ['3'], next(3, 'c')).catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('FENCED');
    expect(await old.read('takeover', 1, 9)).toEqual(['1', '2']);
  });

  it('a stale head at a current epoch is still CHAIN_CONFLICT, not FENCED', async () => {
    const d = (await open(freshSchema())).withEpoch(2);
    await d.append('stale', EMPTY_HEAD, ['1'], next(1, 'a'));
    const refused = await d.append('stale', EMPTY_HEAD, ['1'], next(1, 'b')).catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('CHAIN_CONFLICT');
  });

  it('refuses an epoch or schema that is not a plain value', async () => {
    const d = await open(freshSchema());
    expect(() => d.withEpoch(-1)).toThrow(RangeError);
    expect(() => d.withEpoch(1.5)).toThrow(RangeError);
    await expect(d.fence('x', Number.NaN)).rejects.toThrow(RangeError);
    await expect(PostgresDriver.open(cluster.url, { schema: 'a; drop table x' })).rejects.toThrow(RangeError);
  });

  it('a closed driver, and its epoch views, refuse with STORE_CLOSED', async () => {
    const d = await open(freshSchema(), 1);
    const view = d.withEpoch(2);
    await d.close();
    expect(codeOf(await view.head('x').catch((e: unknown) => e))).toBe('STORE_CLOSED');
    expect(codeOf(await d.fence('x', 3).catch((e: unknown) => e))).toBe('STORE_CLOSED');
  });
});

describe('PostgresDriver: gateway leases', () => {
  const LIVE = 60_000;

  /** Polls lease() until it has expired by the database's clock: at most 50 tries, 20 ms apart. */
  async function lapsed(d: PostgresDriver, gateway: string): Promise<Lease> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const lease = await d.lease(gateway);
      if (lease?.expired) return lease;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the lease of ${gateway} did not expire`);
  }

  it('the first acquire gives epoch 1, the holder renews it at that epoch, another holder gets nothing', async () => {
    const d = await open(freshSchema());
    expect(await d.lease('gw')).toBeUndefined();
    const first = await d.acquireLease('gw', 'primary', LIVE);
    expect(first).toMatchObject({ gateway: 'gw', holder: 'primary', epoch: 1, expired: false });
    expect(await d.lease('gw')).toEqual(first);
    expect(await d.renewLease('gw', 'primary', 1, 2 * LIVE)).toBe(true);
    const renewed = (await d.lease('gw'))!;
    expect(renewed).toMatchObject({ holder: 'primary', epoch: 1, expired: false });
    expect(renewed.expiresAt).toBeGreaterThan(first!.expiresAt);
    // acquireLease by the holder of a live lease renews it too, at the same epoch.
    const again = await d.acquireLease('gw', 'primary', 3 * LIVE);
    expect(again).toMatchObject({ holder: 'primary', epoch: 1, expired: false });
    expect(again!.expiresAt).toBeGreaterThan(renewed.expiresAt);
    expect(await d.acquireLease('gw', 'backup', LIVE)).toBeUndefined();
    expect(await d.renewLease('gw', 'backup', 1, LIVE)).toBe(false);
    expect(await d.renewLease('gw', 'primary', 2, LIVE)).toBe(false);
    expect(await d.lease('gw')).toEqual(again);
  });

  it('once it lapses another holder takes it at epoch 2; the old holder can neither renew nor retake it', async () => {
    const d = await open(freshSchema());
    expect((await d.acquireLease('gw', 'primary', 1))?.epoch).toBe(1);
    await lapsed(d, 'gw');
    // A lapsed lease cannot be renewed, even by its holder.
    expect(await d.renewLease('gw', 'primary', 1, LIVE)).toBe(false);
    const taken = await d.acquireLease('gw', 'backup', LIVE);
    expect(taken).toMatchObject({ gateway: 'gw', holder: 'backup', epoch: 2, expired: false });
    expect(await d.renewLease('gw', 'primary', 1, LIVE)).toBe(false);
    expect(await d.acquireLease('gw', 'primary', LIVE)).toBeUndefined();
    expect(await d.lease('gw')).toEqual(taken);
    // The same holder re-taking its own lapsed lease starts a new epoch too.
    expect(await d.renewLease('gw', 'backup', 2, 1)).toBe(true);
    await lapsed(d, 'gw');
    expect(await d.acquireLease('gw', 'backup', LIVE)).toMatchObject({ holder: 'backup', epoch: 3, expired: false });
  });

  it('after a takeover at epoch 2 the old holder is FENCED on every log of the gateway, new ones too', async () => {
    const schema = freshSchema();
    const base = await open(schema);
    const old = base.withEpoch(1);
    const newer = (await open(schema)).withEpoch(2);
    expect((await base.acquireLease('gw-a', 'primary', 1))?.epoch).toBe(1);
    await old.append('s1/gw-a', EMPTY_HEAD, ['one'], next(1, 'one'));
    await lapsed(base, 'gw-a');
    expect((await base.acquireLease('gw-a', 'backup', LIVE))?.epoch).toBe(2);

    // An existing log of the gateway: refused, and nothing written.
    const refused = await old.append('s1/gw-a', next(1, 'one'), ['two'], next(2, 'two')).catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('FENCED');
    expect((refused as SatpError).detail).toEqual({ logId: 's1/gw-a', epoch: 2, holder: 1 });
    expect(await base.head('s1/gw-a')).toEqual(next(1, 'one'));
    expect(await base.read('s1/gw-a', 1, 9)).toEqual(['one']);
    expect(await base.epochOf('s1/gw-a')).toBe(1);
    // A log of the gateway created after the takeover: refused, and it does not exist.
    const created = await old.append('s2/gw-a', EMPTY_HEAD, ['x'], next(1, 'x')).catch((e: unknown) => e);
    expect(codeOf(created)).toBe('FENCED');
    expect(await base.head('s2/gw-a')).toBeUndefined();
    expect(await base.epochOf('s2/gw-a')).toBe(0);
    expect(await base.openLogs()).toEqual(['s1/gw-a']);

    // The new holder appends to both.
    await newer.append('s1/gw-a', next(1, 'one'), ['two'], next(2, 'two'));
    await newer.append('s2/gw-a', EMPTY_HEAD, ['x'], next(1, 'x'));
    expect(await base.read('s1/gw-a', 1, 9)).toEqual(['one', 'two']);
    expect(await base.read('s2/gw-a', 1, 9)).toEqual(['x']);
    expect(await base.epochOf('s1/gw-a')).toBe(2);

    // Another gateway, leased or not, and a log id that names no gateway: untouched by gw-a's lease.
    await old.append('s1/gw-b', EMPTY_HEAD, ['b'], next(1, 'b'));
    expect((await base.acquireLease('gw-c', 'primary', LIVE))?.epoch).toBe(1);
    await old.append('s1/gw-c', EMPTY_HEAD, ['c'], next(1, 'c'));
    await old.append('gw-a', EMPTY_HEAD, ['plain'], next(1, 'plain'));
    expect(await base.head('s1/gw-b')).toEqual(next(1, 'b'));
    expect(await base.head('s1/gw-c')).toEqual(next(1, 'c'));
    expect(await base.head('gw-a')).toEqual(next(1, 'plain'));
  });

  it('an append racing a takeover that has not committed waits for it, then is refused with FENCED', async () => {
    const schema = freshSchema();
    const base = await open(schema);
    const old = base.withEpoch(1);
    await base.acquireLease('gw', 'primary', LIVE);
    await old.append('s/gw', EMPTY_HEAD, ['one'], next(1, 'one'));
    let append: Promise<unknown> | undefined;
    // The takeover's update, held uncommitted while the old holder appends on another connection.
    await base.sql.begin(async (tx) => {
      await tx`update ${tx(`${schema}.gateway_leases`)} set holder = 'backup', epoch = 2 where gateway = 'gw'`;
      append = old.append('s/gw', next(1, 'one'), ['two'], next(2, 'two')).catch((e: unknown) => e);
      // The append blocks on the lease row (polled: at most 50 tries, 20 ms apart).
      let waiting = false;
      for (let attempt = 0; attempt < 50 && !waiting; attempt++) {
        const [row] = await base.sql`select count(*)::int as n from pg_stat_activity
          where wait_event_type = 'Lock' and query like '%for share%'`;
        waiting = row!.n === 1;
        if (!waiting) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(waiting).toBe(true);
    });
    expect(codeOf(await append)).toBe('FENCED');
    expect(await base.read('s/gw', 1, 9)).toEqual(['one']);
  });

  it('10 rounds of two holders acquiring a lapsed lease at once: one wins each, the epoch rises by one', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    expect((await a.acquireLease('gw', 'first', 1))?.epoch).toBe(1);
    let epoch = 1;
    for (let round = 1; round <= 10; round++) {
      await lapsed(a, 'gw');
      // A live ttl: the loser must see the winner's lease as live, however long it waited for the row.
      const results = await Promise.all([a.acquireLease('gw', 'a', LIVE), b.acquireLease('gw', 'b', LIVE)]);
      const won = results.filter((r) => r !== undefined);
      expect(won.length, `round ${round}`).toBe(1);
      epoch++;
      expect(won[0]!.epoch, `round ${round}`).toBe(epoch);
      expect(await b.lease('gw')).toEqual({ ...won[0], expired: false });
      // The winner lets it lapse for the next round: renewed to expire 1 ms from now.
      expect(await a.renewLease('gw', won[0]!.holder, epoch, 1)).toBe(true);
    }
    expect((await a.lease('gw'))?.epoch).toBe(11);
  });

  it('refuses a ttl that is not a positive number', async () => {
    const d = await open(freshSchema());
    await expect(d.acquireLease('gw', 'h', 0)).rejects.toThrow(RangeError);
    await expect(d.acquireLease('gw', 'h', Number.NaN)).rejects.toThrow(RangeError);
    await expect(d.renewLease('gw', 'h', 1, -5)).rejects.toThrow(RangeError);
    expect(await d.lease('gw')).toBeUndefined();
  });
});

describe('PostgresDriver: group commit', () => {
  /** Counts the transactions the driver opens (each group commits once). */
  function countBegins(d: PostgresDriver): () => number {
    const sql = d.sql as unknown as { begin: (...args: unknown[]) => unknown };
    const begin = sql.begin.bind(sql);
    let n = 0;
    sql.begin = (...args: unknown[]) => {
      n++;
      return begin(...args);
    };
    return () => n;
  }

  it('64 appends to 64 logs issued at once share transactions, and every one lands', async () => {
    const d = await open(freshSchema());
    const begins = countBegins(d);
    const logs = Array.from({ length: 64 }, (_, i) => `s-${String(i).padStart(2, '0')}/gw-a`);
    await Promise.all(logs.map((l) => d.append(l, EMPTY_HEAD, [`${l} 1`, `${l} 2`], next(2, l))));
    // The first append starts a transaction alone; the other 63 arrive while it is in flight and share the next.
    expect(begins()).toBe(2);
    for (const l of logs) {
      expect(await d.head(l)).toEqual(next(2, l));
      expect(await d.read(l, 1, 2)).toEqual([`${l} 1`, `${l} 2`]);
    }
  });

  it('in one group an append refused with CHAIN_CONFLICT or FENCED writes nothing and fails alone', async () => {
    const schema = freshSchema();
    const d = await open(schema, 1);
    await d.append('b/gw-a', EMPTY_HEAD, ['b1'], next(1, 'b'));
    await d.fence('c/gw-a', 5);
    const begins = countBegins(d);
    // The first occupies a transaction; the four after it form one group, in which b is stale and c is fenced.
    const first = d.append('a0/gw-a', EMPTY_HEAD, ['a0'], next(1, 'a0'));
    const results = await Promise.allSettled([
      d.append('a/gw-a', EMPTY_HEAD, ['a1'], next(1, 'a')),
      d.append('b/gw-a', EMPTY_HEAD, ['b-stale'], next(1, 'b-stale')),
      d.append('c/gw-a', EMPTY_HEAD, ['c1'], next(1, 'c')),
      d.append('d/gw-a', EMPTY_HEAD, ['d1'], next(1, 'd')),
    ]);
    await first;
    expect(begins()).toBe(2);
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : codeOf(r.reason)))).toEqual([
      'ok',
      'CHAIN_CONFLICT',
      'FENCED',
      'ok',
    ]);
    const other = await open(schema);
    expect(await other.head('a/gw-a')).toEqual(next(1, 'a'));
    expect(await other.head('b/gw-a')).toEqual(next(1, 'b'));
    expect(await other.read('b/gw-a', 1, 5)).toEqual(['b1']);
    expect(await other.head('c/gw-a')).toBeUndefined();
    expect(await other.read('c/gw-a', 1, 5)).toEqual([]);
    expect(await other.head('d/gw-a')).toEqual(next(1, 'd'));
  });

  it('appends of two epoch views in one group each carry their own epoch', async () => {
    const d = await open(freshSchema(), 1);
    await d.fence('old/gw-a', 2);
    const first = d.append('x/gw-a', EMPTY_HEAD, ['x'], next(1, 'x'));
    const [low, high] = await Promise.allSettled([
      d.append('old/gw-a', EMPTY_HEAD, ['low'], next(1, 'low')),
      d.withEpoch(2).append('old/gw-a', EMPTY_HEAD, ['high'], next(1, 'high')),
    ]);
    await first;
    expect(low.status === 'rejected' && codeOf(low.reason)).toBe('FENCED');
    expect(high.status).toBe('fulfilled');
    expect(await d.read('old/gw-a', 1, 1)).toEqual(['high']);
  });

  it('appends still waiting when the driver closes fail with STORE_CLOSED; the one in flight settles', async () => {
    const d = await open(freshSchema());
    const inFlight = d.append('p/gw-a', EMPTY_HEAD, ['p'], next(1, 'p'));
    const waiting = d.append('q/gw-a', EMPTY_HEAD, ['q'], next(1, 'q'));
    const closed = d.close();
    expect(codeOf(await waiting.catch((e: unknown) => e))).toBe('STORE_CLOSED');
    await inFlight.catch(() => undefined); // committed or cut off by the close: either way it settles
    await closed;
  });
});
