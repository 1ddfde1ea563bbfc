// What a driver hands the conformance suite (StoreHarness), and the per-test store every case runs on.
import { it } from 'vitest';
import type { LogStoreDriver, StoreCapabilities } from '../driver.ts';
import { LogStore } from '../log-store.ts';
import { verifyContext } from './fixtures.ts';

export interface StoreHarness {
  /** Shown in the test names. */
  name: string;
  /**
   * What the driver declares. The suite registers the capability-gated cases from this (never a silent
   * skip: a false capability gets a case asserting the driver declares it) and checks the driver agrees.
   */
  capabilities: StoreCapabilities;
  /** A fresh, empty driver. */
  create(): Promise<LogStoreDriver>;
  /** Closes the driver and opens the same data again. Required when capabilities.persistent. */
  reopen?(driver: LogStoreDriver): Promise<LogStoreDriver>;
  /** Rewrites one stored entry's text behind the store's back (as disk corruption or an attacker would). */
  tamper(driver: LogStoreDriver, logId: string, seq: number, mutate: (text: string) => string): Promise<void>;
  /** Deletes one stored entry behind the store's back, leaving the head as it is. */
  remove(driver: LogStoreDriver, logId: string, seq: number): Promise<void>;
  /** Releases what create() made (a temp dir, a database); called after each case with the last driver. */
  destroy?(driver: LogStoreDriver): Promise<void>;
}

/** One case's store: a fresh driver under a LogStore, with the harness's hands on its raw data. */
export class StoreUnderTest {
  driver: LogStoreDriver;
  store: LogStore;
  readonly #harness: StoreHarness;

  private constructor(harness: StoreHarness, driver: LogStoreDriver) {
    this.#harness = harness;
    this.driver = driver;
    this.store = new LogStore(driver, verifyContext());
  }

  static async create(harness: StoreHarness): Promise<StoreUnderTest> {
    return new StoreUnderTest(harness, await harness.create());
  }

  /** Close and open the same data again, under a new LogStore. */
  async reopen(): Promise<void> {
    if (!this.#harness.reopen) throw new TypeError(`the ${this.#harness.name} harness cannot reopen`);
    this.driver = await this.#harness.reopen(this.driver);
    this.store = new LogStore(this.driver, verifyContext());
  }

  tamper(logId: string, seq: number, mutate: (text: string) => string): Promise<void> {
    return this.#harness.tamper(this.driver, logId, seq, mutate);
  }

  remove(logId: string, seq: number): Promise<void> {
    return this.#harness.remove(this.driver, logId, seq);
  }

  async text(logId: string, seq: number): Promise<string> {
    const [text] = await this.driver.read(logId, seq, seq);
    if (text === undefined) throw new RangeError(`log ${logId} has no seq ${seq}`);
    return text;
  }

  /** Exchanges the stored texts of two entries. */
  async swap(logId: string, a: number, b: number): Promise<void> {
    const [ta, tb] = [await this.text(logId, a), await this.text(logId, b)];
    await this.tamper(logId, a, () => tb);
    await this.tamper(logId, b, () => ta);
  }

  async dispose(): Promise<void> {
    // A case may have closed the driver already; closing again is harmless and its error is not the case's.
    await this.driver.close().catch(() => undefined);
    await this.#harness.destroy?.(this.driver);
  }
}

/** Registers one case that runs `body` on a fresh store and always releases it. */
export function storeTest(harness: StoreHarness, name: string, body: (t: StoreUnderTest) => Promise<void>): void {
  it(name, async () => {
    const t = await StoreUnderTest.create(harness);
    try {
      await body(t);
    } finally {
      await t.dispose();
    }
  });
}
