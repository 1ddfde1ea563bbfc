// The PostgreSQL LogStore driver (`postgres`, porsager/postgres: pure JavaScript, on Node and Deno). Several
// gateway processes may share one database: every append is one transaction whose conditional UPDATE (or INSERT …
// ON CONFLICT) of the head row decides, under PostgreSQL's row lock, which of two racing writers extends the chain;
// the loser changes nothing and gets CHAIN_CONFLICT. No lock lives in this process, so it holds across processes.
//
// Fencing: each log's head row carries an epoch. A driver appends as the holder of an epoch (`open(…, { epoch })` or
// `withEpoch(n)`, 0 by default); an append whose epoch is below the log's is refused with FENCED and writes nothing.
// `fence(logId, epoch)` raises a log's epoch (never lowers it), and a successful append raises it to the holder's
// epoch too, so the first write of a new holder fences the old one even if it never called fence().
//
// Gateway leases (recovery-04 §5.1, the primary/backup heartbeat): the row of a gateway in gateway_leases names the
// process that holds it, its epoch and when it expires, all by the database's clock (never a process's, which may
// be skewed). The primary takes it with acquireLease() and keeps it with renewLease(); once it lapses a backup takes
// it with acquireLease() at epoch + 1. The lease fences the whole gateway: an append to any log `<session>/<gateway>`,
// also one created later, is refused with FENCED when the gateway's lease epoch is above the writer's, so after a
// takeover at epoch n the old holder writes nowhere; the new one appends as withEpoch(n). A gateway with no lease row
// (or a log id that is not `<session>/<gateway>`) has only the per-log fence.
import postgres from 'postgres';
import { EMPTY_HEAD, parseLogId } from '../kernel/entry.ts';
import type { ChainHead } from '../kernel/entry.ts';
import { SatpError } from '../kernel/errors.ts';
import type { LogStoreDriver, StoreCapabilities, StoredHead } from './driver.ts';

/** The client's connection: a postgres:// URL, or the options of porsager/postgres. */
export type PostgresConnection = string | postgres.Options<Record<string, postgres.PostgresType>>;

export interface PostgresDriverOptions {
  /** The schema holding the tables log_entries, log_heads and gateway_leases, created if missing (default `satp`). */
  schema?: string;
  /** The fencing epoch this driver appends as (default 0). */
  epoch?: number;
}

/** A gateway's lease, as the database holds it. */
export interface Lease {
  gateway: string;
  holder: string;
  epoch: number;
  /** ms since epoch, by the database's clock */
  expiresAt: number;
  /** expired by the database's clock now */
  expired: boolean;
}

type Sql = postgres.Sql<Record<string, never>>;
type Row = postgres.Row;

/** Schema names are interpolated as identifiers: keep them plain (lower case, digits, underscores). */
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * What the driver and its withEpoch() views share: one connection pool, closed once by whoever closes first, and the
 * appends waiting for the next group transaction.
 */
interface Shared {
  sql: Sql;
  schema: string;
  closed: boolean;
  queue: Pending[];
  writing: boolean;
}

/** One append waiting for the transaction that will carry it, with the epoch of the view that made it. */
interface Pending {
  logId: string;
  expected: ChainHead;
  texts: readonly string[];
  next: StoredHead;
  epoch: number;
  chars: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: appends that arrive while a transaction is in flight wait and share the next one, so they share one
 * commit (one WAL flush), as appends share a synced batch in LevelDB. A group is bounded by these. Each append of a
 * group of several runs in its own savepoint, so one refused (CHAIN_CONFLICT, FENCED) writes nothing and fails alone.
 */
const MAX_GROUP_APPENDS = 256;
const MAX_GROUP_CHARS = 8 * 1024 * 1024;

const checkEpoch = (epoch: number): number => {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a safe integer ≥ 0: ${epoch}`);
  return epoch;
};

const checkTtl = (ttlMs: number): number => {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a finite number > 0: ${ttlMs}`);
  return ttlMs;
};

/** A gateway_leases row selected with `expired` (expires_at <= clock_timestamp()). */
const toLease = (row: Row): Lease => ({
  gateway: row.gateway as string,
  holder: row.holder as string,
  epoch: Number(row.epoch),
  expiresAt: (row.expires_at as Date).getTime(),
  expired: row.expired as boolean,
});

export class PostgresDriver implements LogStoreDriver {
  readonly name = 'postgres';
  /** Durable: a commit returns once its WAL is flushed (synchronous_commit is forced on for our connections). */
  readonly capabilities: StoreCapabilities = { persistent: true, durable: true };
  /** The fencing epoch this driver's appends carry. */
  readonly epoch: number;
  readonly #shared: Shared;

  private constructor(shared: Shared, epoch: number) {
    this.#shared = shared;
    this.epoch = checkEpoch(epoch);
  }

  /** The client, for tests and operators that need the raw rows; appends must go through append(). */
  get sql(): Sql {
    return this.#shared.sql;
  }

  get schema(): string {
    return this.#shared.schema;
  }

  /**
   * Connects and creates the schema and tables if missing. Safe when several processes open the same database at
   * once: the creation runs under a transaction-scoped advisory lock, since CREATE … IF NOT EXISTS alone can race.
   */
  static async open(connection: PostgresConnection, options: PostgresDriverOptions = {}): Promise<PostgresDriver> {
    const schema = options.schema ?? 'satp';
    if (!SCHEMA.test(schema)) throw new RangeError(`schema must match ${SCHEMA}: ${JSON.stringify(schema)}`);
    const epoch = checkEpoch(options.epoch ?? 0);
    const base = typeof connection === 'string' ? {} : connection;
    const settings = {
      onnotice: () => undefined, // "relation … already exists, skipping" is expected on every open
      ...base,
      // Durability is the driver's promise, not the server's default: force it on for our sessions.
      connection: { ...base.connection, synchronous_commit: 'on' },
    };
    const sql = (typeof connection === 'string' ? postgres(connection, settings) : postgres(settings)) as Sql;
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${`satp-recovery:${schema}`}))`;
        await tx`create schema if not exists ${tx(schema)}`;
        await tx`create table if not exists ${tx(`${schema}.log_entries`)} (
          log_id text not null,
          seq bigint not null,
          text text not null,
          primary key (log_id, seq)
        )`;
        // seq 0 is a log with no entries yet whose epoch was raised by fence(): head() reports no head for it.
        await tx`create table if not exists ${tx(`${schema}.log_heads`)} (
          log_id text primary key,
          seq bigint not null,
          hash text not null,
          open boolean not null,
          epoch bigint not null default 0
        )`;
        await tx`create index if not exists log_heads_open on ${tx(`${schema}.log_heads`)} (log_id) where open`;
        await tx`create table if not exists ${tx(`${schema}.gateway_leases`)} (
          gateway text primary key,
          holder text not null,
          epoch bigint not null,
          expires_at timestamptz not null
        )`;
      });
    } catch (err) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw new SatpError('STORAGE_FAILURE', `cannot open the PostgreSQL store (schema ${schema})`, { cause: err });
    }
    return new PostgresDriver({ sql, schema, closed: false, queue: [], writing: false }, epoch);
  }

  /** A view of this driver appending as the holder of `epoch`; it shares the connections (closing either ends both). */
  withEpoch(epoch: number): PostgresDriver {
    return new PostgresDriver(this.#shared, epoch);
  }

  async head(logId: string): Promise<StoredHead | undefined> {
    const [row] = await this.#do(
      (sql) => sql`select seq, hash, open from ${sql(this.#table('log_heads'))} where log_id = ${logId} and seq > 0`,
    );
    return row && { seq: Number(row.seq), hash: row.hash as string, open: row.open as boolean };
  }

  append(logId: string, expected: ChainHead, texts: readonly string[], next: StoredHead): Promise<void> {
    if (this.#shared.closed) return Promise.reject(new SatpError('STORE_CLOSED', 'the PostgreSQL store is closed'));
    const chars = texts.reduce((n, t) => n + t.length, 0);
    return new Promise((resolve, reject) => {
      this.#shared.queue.push({ logId, expected, texts, next, epoch: this.epoch, chars, resolve, reject });
      if (!this.#shared.writing) void this.#drain();
    });
  }

  /** Commits the waiting appends, group after group, until none waits. */
  async #drain(): Promise<void> {
    const shared = this.#shared;
    shared.writing = true;
    try {
      while (shared.queue.length > 0) {
        let n = 0;
        let chars = 0;
        while (
          n < shared.queue.length &&
          n < MAX_GROUP_APPENDS &&
          (n === 0 || chars + shared.queue[n]!.chars <= MAX_GROUP_CHARS)
        )
          chars += shared.queue[n++]!.chars;
        await this.#commitGroup(shared.queue.splice(0, n));
      }
    } finally {
      shared.writing = false;
    }
  }

  /**
   * One transaction for a group of appends. Its appends run in order of log id (a stable sort keeps a log's own
   * appends in the order they came), so two processes' groups lock head rows in the same order and never deadlock.
   * Each settles only once the transaction has committed, or failed: then every append of the group fails, and what
   * it did is unknown to its caller, as for a single append whose commit failed.
   */
  async #commitGroup(group: Pending[]): Promise<void> {
    const ordered = [...group].sort((x, y) => (x.logId < y.logId ? -1 : x.logId > y.logId ? 1 : 0));
    const refusals = new Map<Pending, SatpError>();
    try {
      await this.#do((sql) =>
        sql.begin(async (tx) => {
          if (ordered.length === 1) return this.#appendIn(tx, ordered[0]!);
          for (const a of ordered) {
            try {
              await tx.savepoint((sp) => this.#appendIn(sp, a));
            } catch (err) {
              if (!(err instanceof SatpError)) throw err;
              refusals.set(a, err);
            }
          }
        }),
      );
    } catch (err) {
      for (const a of group) a.reject(err);
      return;
    }
    for (const a of group) {
      const refused = refusals.get(a);
      if (refused) a.reject(refused);
      else a.resolve();
    }
  }

  /** One append's statements, inside the group's transaction (or its own savepoint there). */
  async #appendIn(tx: postgres.TransactionSql<Record<string, never>>, a: Pending): Promise<void> {
    const { logId, expected, texts, next, epoch } = a;
    const heads = this.#table('log_heads');
    const entries = this.#table('log_entries');
    const leases = this.#table('gateway_leases');
    const gateway = parseLogId(logId)?.author;
    // The gateway fence first, before anything is written. FOR SHARE locks the lease row against a takeover:
    // acquireLease() locks it FOR NO KEY UPDATE and then updates it, which conflicts with FOR SHARE (FOR KEY
    // SHARE would not do: the update changes no key column). So either this append locked the row first, and the
    // takeover waits until this transaction has committed (the append lands before the takeover, which the new
    // holder then sees), or the takeover locked it first, and this select waits for it to commit and then (READ
    // COMMITTED re-reads a row updated meanwhile) returns the new epoch, and the append is refused. An append
    // never commits after a takeover it did not see. The one gap: with no lease row there is nothing to lock,
    // so an append racing the gateway's very first acquireLease (epoch 1) may land after it; only writers at
    // epoch 0 could be fenced by epoch 1, and a primary that takes its lease before appending never races it.
    if (gateway !== undefined) {
      const [lease] = await tx`select epoch from ${tx(leases)} where gateway = ${gateway} for share`;
      if (lease && Number(lease.epoch) > epoch) {
        throw new SatpError(
          'FENCED',
          `gateway ${gateway} (log ${logId}) is leased at epoch ${lease.epoch}; this writer holds ${epoch}`,
          { detail: { logId, epoch: Number(lease.epoch), holder: epoch } },
        );
      }
    }
    // The head row decides: the UPDATE (or the upsert of a new log, whose row may exist with seq 0 if it was
    // fenced) matches only if the head is still `expected` and the log's epoch is not above ours. Racing
    // writers serialize on the row lock; the loser re-checks the committed row and matches nothing.
    const moved =
      expected.seq === EMPTY_HEAD.seq
        ? await tx`insert into ${tx(heads)} as h (log_id, seq, hash, open, epoch)
            values (${logId}, ${next.seq}, ${next.hash}, ${next.open}, ${epoch})
            on conflict (log_id) do update
              set seq = excluded.seq, hash = excluded.hash, open = excluded.open,
                epoch = greatest(h.epoch, excluded.epoch)
              where h.seq = 0 and h.epoch <= excluded.epoch`
        : await tx`update ${tx(heads)}
            set seq = ${next.seq}, hash = ${next.hash}, open = ${next.open}, epoch = greatest(epoch, ${epoch})
            where log_id = ${logId} and seq = ${expected.seq} and hash = ${expected.hash} and epoch <= ${epoch}`;
    if (moved.count !== 1) {
      const [row] = await tx`select seq, epoch from ${tx(heads)} where log_id = ${logId}`;
      if (row && Number(row.epoch) > epoch) {
        throw new SatpError('FENCED', `log ${logId} is fenced at epoch ${row.epoch}; this writer holds ${epoch}`, {
          detail: { logId, epoch: Number(row.epoch), holder: epoch },
        });
      }
      throw new SatpError('CHAIN_CONFLICT', `log ${logId} moved: head is seq ${row ? Number(row.seq) : 0}`);
    }
    if (texts.length > 0) {
      await tx`insert into ${tx(entries)} (log_id, seq, text)
        select ${logId}, ${expected.seq} + n, t
        from unnest(${tx.array([...texts])}::text[]) with ordinality as u(t, n)`;
    }
  }

  async read(logId: string, from: number, to: number): Promise<string[]> {
    if (to < from) return [];
    const rows = await this.#do(
      (sql) => sql`select text from ${sql(this.#table('log_entries'))}
        where log_id = ${logId} and seq between ${Math.max(1, from)} and ${Math.min(to, Number.MAX_SAFE_INTEGER)}
        order by seq`,
    );
    return rows.map((r) => r.text as string);
  }

  /** Ids of every log this store holds, open or ended (an auditor's listing; a gateway needs only openLogs). */
  async logs(): Promise<string[]> {
    const rows = await this.#do(
      (sql) => sql`select log_id from ${sql(this.#table('log_heads'))} where seq > 0 order by log_id`,
    );
    return rows.map((r) => r.log_id as string);
  }

  async openLogs(): Promise<string[]> {
    const rows = await this.#do((sql) => sql`select log_id from ${sql(this.#table('log_heads'))} where open`);
    return rows.map((r) => r.log_id as string);
  }

  /**
   * Raises the log's fencing epoch to `epoch` if it is higher (never lowers it). From then on appends by holders of
   * a lower epoch are refused with FENCED. Works on a log with no entries yet.
   */
  async fence(logId: string, epoch: number): Promise<void> {
    checkEpoch(epoch);
    const heads = this.#table('log_heads');
    await this.#do(
      (sql) => sql`insert into ${sql(heads)} as h (log_id, seq, hash, open, epoch)
        values (${logId}, ${EMPTY_HEAD.seq}, ${EMPTY_HEAD.hash}, false, ${epoch})
        on conflict (log_id) do update set epoch = greatest(h.epoch, excluded.epoch)`,
    );
  }

  /** The log's fencing epoch (0 for a log never fenced or written). */
  async epochOf(logId: string): Promise<number> {
    const [row] = await this.#do(
      (sql) => sql`select epoch from ${sql(this.#table('log_heads'))} where log_id = ${logId}`,
    );
    return row ? Number(row.epoch) : 0;
  }

  /**
   * Takes or renews the lease of `gateway` for `holder` for ttlMs, by the database's clock (never the caller's):
   * no lease yet -> epoch 1; held by `holder` and not expired -> renewed, same epoch; expired (whoever held it) ->
   * taken with epoch + 1; held by someone else and not expired -> undefined, nothing changes. Atomic under concurrent
   * callers. A holder that re-takes its own expired lease gets epoch + 1 too: it may have been fenced meanwhile.
   */
  async acquireLease(gateway: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    const leases = this.#table('gateway_leases');
    return this.#do((sql) =>
      sql.begin(async (tx) => {
        // A gateway never leased gets a row at epoch 0 that expired at -infinity, which the update below takes at
        // epoch 1 in this same transaction: no one ever sees it. DO NOTHING waits for a racing inserter to finish.
        await tx`insert into ${tx(leases)} (gateway, holder, epoch, expires_at)
          values (${gateway}, ${holder}, 0, '-infinity') on conflict (gateway) do nothing`;
        // Lock the row first, so that the clock is read below only once the row is ours: racing acquirers serialize
        // here, each deciding on the row as the previous one committed it. The lock also waits for appends holding
        // the row FOR SHARE (see append()).
        await tx`select 1 from ${tx(leases)} where gateway = ${gateway} for no key update`;
        const [row] = await tx`update ${tx(leases)} as l
          set holder = ${holder},
            epoch = case when l.expires_at <= t.now then l.epoch + 1 else l.epoch end,
            expires_at = t.now + ${ttlMs}::float8 * interval '1 millisecond'
          from (select clock_timestamp() as now) as t
          where l.gateway = ${gateway} and (l.expires_at <= t.now or l.holder = ${holder})
          returning l.gateway, l.holder, l.epoch, l.expires_at, l.expires_at <= clock_timestamp() as expired`;
        return row && toLease(row);
      }),
    );
  }

  /**
   * Extends the lease only if `holder` still holds it at `epoch` and it has not expired; false otherwise (lost). It
   * then expires ttlMs from now by the database's clock.
   */
  async renewLease(gateway: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    checkEpoch(epoch);
    checkTtl(ttlMs);
    const renewed = await this.#do(
      (sql) => sql`update ${sql(this.#table('gateway_leases'))}
        set expires_at = clock_timestamp() + ${ttlMs}::float8 * interval '1 millisecond'
        where gateway = ${gateway} and holder = ${holder} and epoch = ${epoch} and expires_at > clock_timestamp()`,
    );
    return renewed.count === 1;
  }

  /** The lease as it stands, or undefined if never taken. */
  async lease(gateway: string): Promise<Lease | undefined> {
    const [row] = await this.#do(
      (sql) => sql`select gateway, holder, epoch, expires_at, expires_at <= clock_timestamp() as expired
        from ${sql(this.#table('gateway_leases'))} where gateway = ${gateway}`,
    );
    return row && toLease(row);
  }

  async close(): Promise<void> {
    if (this.#shared.closed) return;
    this.#shared.closed = true;
    // Appends still waiting for a group fail; one in flight settles with its transaction.
    for (const a of this.#shared.queue.splice(0))
      a.reject(new SatpError('STORE_CLOSED', 'the PostgreSQL store is closed'));
    await this.#shared.sql.end({ timeout: 5 });
  }

  #table(name: 'log_entries' | 'log_heads' | 'gateway_leases'): string {
    return `${this.#shared.schema}.${name}`;
  }

  async #do<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.#shared.closed) throw new SatpError('STORE_CLOSED', 'the PostgreSQL store is closed');
    try {
      return await work(this.#shared.sql);
    } catch (err) {
      if (err instanceof SatpError) throw err;
      throw new SatpError('STORAGE_FAILURE', `PostgreSQL failed: ${String(err)}`, { cause: err });
    }
  }
}
