// The PostgreSQL driver beyond the conformance suite: writers on separate connections racing on one head (the
// conditional UPDATE decides, not a lock in this process), fencing epochs, and concurrent opens of one schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_HEAD } from '../../kernel/entry.ts';
import type { ChainHead } from '../../kernel/entry.ts';
import { SatpError } from '../../kernel/errors.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
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
