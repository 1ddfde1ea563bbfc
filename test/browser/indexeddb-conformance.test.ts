// The storage conformance suite against the browser's own IndexedDB (not fake-indexeddb): run in Chromium by
// test/runtimes/cli.ts. Under Node and Deno, test/conformance/storage-conformance.test.ts runs the same suite on
// fake-indexeddb.
import { describe, expect, it } from 'vitest';
import { logStoreConformance } from '../../storage/conformance.ts';
import { indexedDbHarnessOf } from '../support/store-harness-idb.ts';

describe('the IndexedDB under test', () => {
  it("is the browser's own", () => {
    expect(String(globalThis.indexedDB)).toBe('[object IDBFactory]');
    expect((globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent).toMatch(/Chrome\//);
  });
});

logStoreConformance(indexedDbHarnessOf('indexeddb (Chromium)', { indexedDB: globalThis.indexedDB, IDBKeyRange }));
