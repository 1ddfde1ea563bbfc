// Closed-session history for the recovery scenario, written straight through the LevelDB driver: recovery
// never reads it (boot lists open logs through the open-session index), so the texts are precomputed
// copies of one real chain, appended unsynced in waves that group commit turns into large batches.
import { type ChainHead, EMPTY_HEAD, type EntryBody } from '../../kernel/entry.ts';
import type { Signer } from '../../kernel/crypto/types.ts';
import { chainBody, sealEntry } from '../../kernel/seal.ts';
import type { SessionState } from '../../kernel/satp/state.ts';
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

/**
 * Grows a session's chain by `count` entries its state ignores (`record` entries, each about as long as an average
 * transfer entry), signed by `signer`: what a peer that crashed lacks of this chain when it comes back.
 */
export async function growChain(
  store: { writeLogEntries(entries: readonly unknown[]): Promise<unknown> },
  state: SessionState,
  signer: Signer,
  count: number,
): Promise<void> {
  let head: ChainHead = state.head;
  for (let i = 0; i < count; i += 1_024) {
    // Bodies link to each other, so they are chained one by one, then signed together and appended at once.
    const bodies: EntryBody[] = [];
    for (let k = i; k < Math.min(count, i + 1_024); k++) {
      // Built as the reducer builds its entries: the payload canonicalized once (kernel/seal.ts, chainBody).
      const { body, hash } = chainBody(state.chain, head, {
        phase: 'transfer-initiation',
        step: '1.2',
        operation: 'done',
        timestamp: Date.now(),
        payload: { kind: 'record', what: `waiting for transfer-commence ${k} ${'x'.repeat(1_100)}` },
      });
      bodies.push(body);
      head = { seq: body.seqNumber, hash };
    }
    await store.writeLogEntries(await Promise.all(bodies.map((b) => sealEntry(b, signer))));
  }
}
