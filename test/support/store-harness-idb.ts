// The conformance suite's IndexedDB harness over any IndexedDB: fake-indexeddb under Node and Deno
// (store-harnesses.ts), the browser's own in Chromium (test/browser/). A fresh database per case; the raw stored
// text reached behind the store's back to tamper with it.
import { promisifyRequest } from 'idb-keyval';
import type { StoreHarness } from '../../storage/conformance.ts';
import { entryKey, IndexedDbDriver } from '../../storage/indexeddb.ts';

let databases = 0;

export function indexedDbHarnessOf(
  name: string,
  idb: { indexedDB: IDBFactory; IDBKeyRange: typeof IDBKeyRange },
): StoreHarness {
  const { indexedDB } = idb;
  const run = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  return {
    name,
    capabilities: { persistent: true, durable: true },
    create: () => IndexedDbDriver.open(`satp-conformance-${run}-${++databases}`, idb),
    async reopen(driver) {
      await driver.close();
      return IndexedDbDriver.open((driver as IndexedDbDriver).databaseName, idb);
    },
    tamper: (driver, logId, seq, mutate) =>
      (driver as IndexedDbDriver).store('readwrite', (s) => {
        const read = s.get(entryKey(logId, seq)) as IDBRequest<unknown>;
        read.onsuccess = () => {
          if (typeof read.result !== 'string') throw new RangeError(`indexeddb log ${logId} has no seq ${seq}`);
          s.put(mutate(read.result), entryKey(logId, seq));
        };
        return promisifyRequest(s.transaction);
      }),
    remove: (driver, logId, seq) =>
      (driver as IndexedDbDriver).store('readwrite', (s) => {
        s.delete(entryKey(logId, seq));
        return promisifyRequest(s.transaction);
      }),
    async destroy(driver) {
      await driver.close();
      await promisifyRequest(indexedDB.deleteDatabase((driver as IndexedDbDriver).databaseName));
    },
  };
}
