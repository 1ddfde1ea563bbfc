// The conformance suite's PostgreSQL harness: one cluster (test/support/postgres-cluster.ts) for a whole file, a
// fresh schema per case, the raw rows reached with SQL behind the store's back, and reopen as close + open again on
// the same schema.
import postgres from 'postgres';
import type { StoreHarness } from '../../storage/conformance.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { PostgresDriver } from '../../storage/postgres.ts';

export interface PostgresHarness extends StoreHarness {
  /** Ends the harness's own connection (the one that drops each case's schema). Call it before stopping the cluster. */
  end(): Promise<void>;
}

const entries = (driver: LogStoreDriver) => `${(driver as PostgresDriver).schema}.log_entries`;

/** `url` is read when a case starts, so the cluster may be started in beforeAll, after the cases are registered. */
export function postgresHarnessOf(url: () => string): PostgresHarness {
  let schemas = 0;
  let admin: postgres.Sql | undefined;
  const adminSql = () => (admin ??= postgres(url(), { max: 1, onnotice: () => undefined }));
  return {
    name: 'postgres',
    capabilities: { persistent: true, durable: true },
    // Small pools: a case opens one driver, and the cluster is shared by the whole file.
    create: () => PostgresDriver.open({ ...parse(url()), max: 4 }, { schema: `conformance_${++schemas}` }),
    async reopen(driver) {
      await driver.close();
      return PostgresDriver.open({ ...parse(url()), max: 4 }, { schema: (driver as PostgresDriver).schema });
    },
    async tamper(driver, logId, seq, mutate) {
      const sql = (driver as PostgresDriver).sql;
      const [row] = await sql`select text from ${sql(entries(driver))} where log_id = ${logId} and seq = ${seq}`;
      if (!row) throw new RangeError(`postgres log ${logId} has no seq ${seq}`);
      await sql`update ${sql(entries(driver))} set text = ${mutate(row.text as string)}
        where log_id = ${logId} and seq = ${seq}`;
    },
    async remove(driver, logId, seq) {
      const sql = (driver as PostgresDriver).sql;
      await sql`delete from ${sql(entries(driver))} where log_id = ${logId} and seq = ${seq}`;
    },
    async destroy(driver) {
      await driver.close();
      const sql = adminSql();
      await sql`drop schema if exists ${sql((driver as PostgresDriver).schema)} cascade`;
    },
    async end() {
      await admin?.end({ timeout: 5 });
      admin = undefined;
    },
  };
}

/** The URL as client options, so a case can add its own (the pool size). */
function parse(url: string): postgres.Options<Record<string, postgres.PostgresType>> {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    database: u.pathname.slice(1),
  };
}
