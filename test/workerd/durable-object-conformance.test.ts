// The storage conformance suite against real Durable Object storage: run inside workerd, in the Durable Object
// test/runtimes/workerd.ts runs the bundled tests in, whose state it finds at globalThis.__satpDurable. Each case gets
// a fresh key prefix of that one object's storage; tamper and remove rewrite the raw stored text behind the store.
import { describe, expect, it } from 'vitest';
import { logStoreConformance, type StoreHarness } from '../../storage/conformance.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { DurableObjectDriver, type DurableObjectStorageLike } from '../../storage/durable-object.ts';

// Read when a case runs: the runner sets it on its first request, after the bundle's modules were evaluated.
const storage = (): DurableObjectStorageLike | undefined =>
  (globalThis as { __satpDurable?: { state: { storage: DurableObjectStorageLike } } }).__satpDurable?.state.storage;

describe('the storage under test', () => {
  it("is a Durable Object's own storage in workerd", () => {
    const s = storage();
    expect(s, 'globalThis.__satpDurable is not set: run this file with test/runtimes/cli.ts workerd').toBeDefined();
    expect(s?.constructor.name).toBe('DurableObjectStorage');
  });
});

// Prefixes are unique per run, so a run never reads what an earlier one left in the object (the runner's object keeps
// its storage for as long as its workerd process lives).
const run = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
let cases = 0;
const driverOf = (driver: LogStoreDriver) => driver as DurableObjectDriver;

async function rawText(driver: DurableObjectDriver, logId: string, seq: number): Promise<string> {
  const text = await driver.storage.get(driver.entryKey(logId, seq));
  if (typeof text !== 'string') throw new RangeError(`durable-object log ${logId} has no seq ${seq}`);
  return text;
}

const harness: StoreHarness = {
  name: 'durable-object (workerd)',
  capabilities: { persistent: true, durable: true },
  create: async () => new DurableObjectDriver(storage()!, { prefix: `conformance/${run}/${++cases}/` }),
  // The same storage read by a new driver: what a restarted object does (its memory gone, its storage kept).
  async reopen(driver) {
    await driver.close();
    return new DurableObjectDriver(storage()!, { prefix: driverOf(driver).prefix });
  },
  async tamper(driver, logId, seq, mutate) {
    const d = driverOf(driver);
    const text = await rawText(d, logId, seq);
    await d.storage.put({ [d.entryKey(logId, seq)]: mutate(text) });
  },
  async remove(driver, logId, seq) {
    const d = driverOf(driver);
    await rawText(d, logId, seq);
    await d.storage.delete(d.entryKey(logId, seq));
  },
  async destroy(driver) {
    const d = driverOf(driver);
    for (const key of (await d.storage.list({ prefix: d.prefix })).keys()) await d.storage.delete(key);
  },
};

logStoreConformance(harness);
