// Closed-session history for the recovery scenario, written straight through the LevelDB driver: recovery
// never reads it (boot lists open logs through the open-session index), so the texts are precomputed
// copies of one real chain, appended unsynced in waves that group commit turns into large batches.
import { EMPTY_HEAD } from '../../kernel/entry.ts';
import { LevelDriver } from '../../storage/level.ts';
import { ORIGIN_ID } from './identities.ts';
import { now } from './measure.ts';

/** How many appends are issued at once; group commit folds them into batches of up to 8 MiB. */
const WAVE = 2_000;
const FAKE_HASH = 'f'.repeat(64);

/**
 * Adds `entries` entries to the store at `dir`, as closed sessions `h<n>/gw-origin` (n from `firstSession`)
 * of `texts.length` entries each. Returns the sessions written and the milliseconds it took.
 */
export async function writeHistory(
  dir: string,
  firstSession: number,
  entries: number,
  texts: readonly string[],
): Promise<{ sessions: number; ms: number }> {
  const t = now();
  const driver = await LevelDriver.open(dir, { sync: false });
  const sessions = Math.ceil(entries / texts.length);
  try {
    for (let s = 0; s < sessions; s += WAVE) {
      const wave = Array.from({ length: Math.min(WAVE, sessions - s) }, (_, k) => firstSession + s + k);
      await Promise.all(
        wave.map((n) =>
          driver.append(`h${n}/${ORIGIN_ID}`, EMPTY_HEAD, texts, { seq: texts.length, hash: FAKE_HASH, open: false }),
        ),
      );
    }
  } finally {
    await driver.close();
  }
  return { sessions, ms: now() - t };
}
