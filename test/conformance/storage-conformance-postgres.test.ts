// The storage conformance suite (storage/conformance.ts) against the PostgreSQL driver, on a throwaway cluster
// started once for the file; each case gets its own schema. Fails (never skips) when PostgreSQL is not installed.
import { afterAll, beforeAll } from 'vitest';
import { logStoreConformance } from '../../storage/conformance.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres-cluster.ts';
import { postgresHarnessOf } from '../support/store-harness-postgres.ts';

let cluster: PostgresCluster | undefined;
const harness = postgresHarnessOf(() => {
  if (!cluster) throw new Error('the PostgreSQL cluster did not start (see the beforeAll error)');
  return cluster.url;
});

beforeAll(async () => {
  cluster = await startPostgres();
});

afterAll(async () => {
  await harness.end();
  await cluster?.stop();
});

logStoreConformance(harness);
