// Bug: LogStore checked an entry it was handed, then, after awaiting the signature checks and the log's lock, read
// the same object again for the chain link, the head and the text it stored. A caller that changed the object in
// between (reusing it for the next entry, say) got an entry stored that had never been checked: a wrong entryHash
// became the log's head and an unchecked signature went to disk, so the log no longer verified. The store now takes
// its own copy of what it is handed, synchronously in the call, and checks and stores that copy.
import { describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import type { Verifier } from '../../kernel/crypto/types.ts';
import type { LogEntry } from '../../kernel/entry.ts';
import { deepFreeze } from '../../kernel/seal.ts';
import { logIdFor, makeChain, outside, trustedKeys } from '../../storage/conformance/fixtures.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { type LogNotary, notarizedStore } from '../../storage/notarized.ts';

const SESSION = 'caller-changes';
const LOG = logIdFor(SESSION);

/**
 * A store whose verifier, once armed, runs `during` at its nth verification after arming: the caller acting while the
 * store awaits the signature checks of what it was handed.
 */
function storeActingDuringVerification(): { store: LogStore; arm: (nth: number, during: () => void) => void } {
  const inner = defaultVerifier();
  let armed: { left: number; during: () => void } | undefined;
  const verifier: Verifier = {
    ...inner,
    verify: (...args: Parameters<Verifier['verify']>) => {
      if (armed && --armed.left === 0) {
        const { during } = armed;
        armed = undefined;
        during();
      }
      return inner.verify(...args);
    },
  };
  return {
    store: new LogStore(new MemoryDriver(), { keys: trustedKeys, verifier }),
    arm: (nth, during) => {
      armed = { left: nth, during };
    },
  };
}

/** A notary in memory, mode "entries": what each log was sent, in seq order. */
function memoryNotary(): LogNotary & { sent: Map<string, LogEntry[]> } {
  const sent = new Map<string, LogEntry[]>();
  const log = (id: string): LogEntry[] => {
    if (!sent.has(id)) sent.set(id, []);
    return sent.get(id)!;
  };
  return {
    sent,
    head: async (id) => log(id).length + 1,
    hashRange: async (id, from, to) =>
      log(id)
        .slice(from - 1, to)
        .map((e) => e.entryHash),
    notarize: async () => {
      throw new Error('mode entries only');
    },
    publish: async (id, firstSeq, entries) => {
      const held = log(id);
      if (firstSeq !== held.length + 1) throw new Error(`publish at ${firstSeq}, head ${held.length + 1}`);
      held.push(...entries.map((e) => outside(e)));
      return { gasUsed: 0n, appended: true };
    },
    entries: async (id) => [...log(id)],
  };
}

/** Changes the seal of a plain (unfrozen) entry: another entry's hash and signature, as a reused object would. */
function reuse(target: LogEntry, other: LogEntry): void {
  const t = target as { entryHash: string; messageSignature: string };
  t.entryHash = other.entryHash;
  t.messageSignature = other.messageSignature;
}

describe('LogStore keeps what it checked, whatever its caller does with the objects it handed over', () => {
  it('writeLogEntries: an entry changed while its signature is checked is stored as checked', async () => {
    const chain = await makeChain(SESSION, 3);
    const mine = chain.map((e) => outside(e));
    const { store, arm } = storeActingDuringVerification();
    await store.writeLogEntries(mine.slice(0, 2));
    arm(1, () => reuse(mine[2]!, chain[0]!));
    const head = await store.writeLogEntries([mine[2]]);

    expect(head).toEqual({ seq: 3, hash: chain[2]!.entryHash });
    expect((await store.verifyLog(LOG)).ok).toBe(true);
    expect(await store.getLog(LOG)).toEqual(chain.map((e) => outside(e)));
  });

  it('updateLog: a source changed by its caller while its signatures are checked is stored as verified', async () => {
    const chain = await makeChain(SESSION, 3);
    const source = chain.map((e) => outside(e));
    const { store, arm } = storeActingDuringVerification();
    // At the last entry's verification, when every entry's content and link have been checked.
    arm(3, () => reuse(source[1]!, chain[0]!));
    const result = await store.updateLog(LOG, source);

    expect(result.head).toEqual({ seq: 3, hash: chain[2]!.entryHash });
    expect(result.appended).toEqual(chain.map((e) => outside(e)));
    expect((await store.verifyLog(LOG)).ok).toBe(true);
    expect(await store.getLog(LOG)).toEqual(chain.map((e) => outside(e)));
  });

  it('an entry changed right after the call returns its promise is stored as it was at the call', async () => {
    const chain = await makeChain(SESSION, 2);
    const store = new LogStore(new MemoryDriver(), { keys: trustedKeys, verifier: defaultVerifier() });
    const first = outside(chain[0]!);
    const written = store.writeLogEntries([first]);
    reuse(first, chain[1]!);
    expect(await written).toEqual({ seq: 1, hash: chain[0]!.entryHash });
    expect(await store.getLog(LOG)).toEqual([outside(chain[0]!)]);
  });

  it('a notarized store stores and publishes an entry as handed over, though changed meanwhile', async () => {
    const chain = await makeChain(SESSION, 3);
    const notary = memoryNotary();
    const inner = new LogStore(new MemoryDriver(), { keys: trustedKeys, verifier: defaultVerifier() });
    const store = notarizedStore(inner, notary, { mode: 'entries' });
    await store.writeLogEntries(chain.slice(0, 2).map((e) => outside(e)));
    const third = outside(chain[2]!);
    // The wrapper awaits the notary's head before the inner store sees the entry.
    const written = store.writeLogEntries([third]);
    reuse(third, chain[0]!);
    expect(await written).toEqual({ seq: 3, hash: chain[2]!.entryHash });
    expect(await inner.getLog(LOG)).toEqual(chain.map((e) => outside(e)));
    expect(notary.sent.get(LOG)).toEqual(chain.map((e) => outside(e)));
  });

  // The store keeps a value uncopied when deepFreeze froze it; deepFreeze skipped any frozen object before, so one
  // frozen only at its top came out with everything inside it still changeable.
  it('deepFreeze freezes what is inside an object frozen only at its top', () => {
    const entry = Object.freeze({ payload: { amount: 1 }, list: [{ a: 1 }] });
    deepFreeze(entry);
    expect(Object.isFrozen(entry.payload) && Object.isFrozen(entry.list) && Object.isFrozen(entry.list[0])).toBe(true);
  });
});
