// StoreHarnesses for the conformance suite: memory, LevelDB (a temp dir per case) and IndexedDB (fake-indexeddb,
// a fresh database per case), each with its own way to reach the raw stored text behind the store's back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import type { LogStoreDriver } from '../../storage/driver.ts';
import type { StoreHarness } from '../../storage/conformance.ts';
import { LevelDriver } from '../../storage/level.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { indexedDbHarnessOf } from './store-harness-idb.ts';

function memoryLog(driver: LogStoreDriver, logId: string, seq: number): string[] {
  const log = (driver as MemoryDriver).logs.get(logId);
  if (!log || log[seq - 1] === undefined) throw new RangeError(`memory log ${logId} has no seq ${seq}`);
  return log;
}

export const memoryHarness: StoreHarness = {
  name: 'memory',
  capabilities: { persistent: false, durable: false },
  create: async () => new MemoryDriver(),
  async tamper(driver, logId, seq, mutate) {
    const log = memoryLog(driver, logId, seq);
    log[seq - 1] = mutate(log[seq - 1]!);
  },
  async remove(driver, logId, seq) {
    memoryLog(driver, logId, seq).splice(seq - 1, 1);
  },
};

// The LevelDB driver's entry keys (storage/level.ts): sublevel 'e', `<logId>!<seq as 14 hex digits>`.
const levelEntries = (driver: LogStoreDriver) =>
  (driver as LevelDriver).db.sublevel<string, string>('e', { valueEncoding: 'utf8' });
const levelKey = (logId: string, seq: number) => `${logId}!${seq.toString(16).padStart(14, '0')}`;
const levelDirs = new WeakMap<LogStoreDriver, string>();

export const levelHarness: StoreHarness = {
  name: 'level',
  capabilities: { persistent: true, durable: true },
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'satp-conformance-level-'));
    const driver = await LevelDriver.open(dir);
    levelDirs.set(driver, dir);
    return driver;
  },
  async reopen(driver) {
    const dir = levelDirs.get(driver)!;
    await driver.close();
    const again = await LevelDriver.open(dir);
    levelDirs.set(again, dir);
    return again;
  },
  async tamper(driver, logId, seq, mutate) {
    const text = await levelEntries(driver).get(levelKey(logId, seq));
    if (text === undefined) throw new RangeError(`level log ${logId} has no seq ${seq}`);
    await levelEntries(driver).put(levelKey(logId, seq), mutate(text));
  },
  async remove(driver, logId, seq) {
    await levelEntries(driver).del(levelKey(logId, seq));
  },
  async destroy(driver) {
    await driver.close();
    const dir = levelDirs.get(driver);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
};

export const indexedDbHarness: StoreHarness = indexedDbHarnessOf('indexeddb (fake-indexeddb)', {
  indexedDB,
  IDBKeyRange,
});
