// Decentralized log storage with an EVM chain as notary (recovery-04 §3.3; storage/notarized.ts,
// ledgers/evm/notary.ts, contracts/SatpNotary.sol) on a real anvil: appends are notarized before they return,
// the contract is append-only and write-once, a crash between an append and its publication is caught up, a
// RECOVER-UPDATE source that differs from the notarized log is refused before anything is stored, and in mode
// entries a peer's log is rebuilt from the chain alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import type { LogEntry } from '../../kernel/entry.ts';
import { verifyChain } from '../../kernel/chain.ts';
import { hashJson } from '../../kernel/hash.ts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { deployNotary } from '../../ledgers/evm/deploy.ts';
import { EvmNotary } from '../../ledgers/evm/notary.ts';
import { SATP_NOTARY_ABI } from '../../ledgers/evm/satp-notary.ts';
import { abiDrift } from '../support/abi.ts';
import {
  AUTHOR,
  headOf,
  logIdFor,
  makeChain,
  outside,
  refusal,
  reseal,
  sealNext,
  verifyContext,
} from '../../storage/conformance/fixtures.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { entryBytes, entryFromBytes, type LogNotary, logFromChain, notarizedStore } from '../../storage/notarized.ts';
import type { SessionLogStore } from '../../kernel/ports.ts';

const [ADMIN, WRITER_A, WRITER_B, OUTSIDER_KEY] = ANVIL_KEYS;
let anvil: Anvil;
let contract: `0x${string}`;
let endpoint: { url: string; chainId: number };

beforeAll(async () => {
  anvil = await startAnvil();
  endpoint = { url: anvil.url, chainId: anvil.chainId };
  const writers = [WRITER_A, WRITER_B].map((k) => privateKeyToAccount(k).address);
  contract = (await deployNotary(endpoint, ADMIN, writers)).address;
});
afterAll(async () => {
  await anvil?.stop();
});

const notaryAs = (privateKey: `0x${string}`) => EvmNotary.connect({ endpoint, contract, privateKey });
const memoryStore = () => new LogStore(new MemoryDriver(), verifyContext());

/** A notary that throws once on its next write, after nothing was sent: a crash between append and publication. */
function failingOnce(inner: LogNotary): LogNotary & { armed: boolean } {
  const crash = (): Promise<never> => {
    n.armed = false;
    return Promise.reject(new Error('crash before publication'));
  };
  const n = {
    armed: false,
    head: (id: string) => inner.head(id),
    hashRange: (id: string, f: number, t: number) => inner.hashRange(id, f, t),
    entries: (id: string) => inner.entries(id),
    notarize: (id: string, s: number, h: readonly string[]) => {
      if (n.armed) return crash();
      return inner.notarize(id, s, h);
    },
    publish: (id: string, s: number, e: readonly LogEntry[]) => {
      if (n.armed) return crash();
      return inner.publish(id, s, e);
    },
  };
  return n;
}

describe('SatpNotary contract', () => {
  it('the ABI the notary speaks is the compiled one, item for item (contracts/build is the truth)', async () => {
    const { items, drift } = await abiDrift('SatpNotary', SATP_NOTARY_ABI);
    expect(drift).toEqual([]);
    expect(items).toBeGreaterThan(10);
  });

  it('appends contiguously, never rewrites a slot, takes an exact retry as a no-op, only from writers', async () => {
    const a = await notaryAs(WRITER_A);
    const outsider = await notaryAs(OUTSIDER_KEY);
    const chain = await makeChain('notary-contract', 4);
    const logId = logIdFor('notary-contract');
    const hashes = chain.map((e) => e.entryHash);
    expect(await a.head(logId)).toBe(1);
    await expect(outsider.notarize(logId, 1, hashes.slice(0, 2))).rejects.toThrow(/NotWriter/);
    expect((await a.notarize(logId, 1, hashes.slice(0, 2))).appended).toBe(true);
    expect(await a.head(logId)).toBe(3);
    // an exact retry is a no-op; a rewrite of a slot, a gap and an overlap that runs past the end are refused
    expect((await a.notarize(logId, 1, hashes.slice(0, 2))).appended).toBe(false);
    await expect(a.notarize(logId, 2, [hashes[3]!])).rejects.toThrow(/Rewrite/);
    await expect(a.notarize(logId, 4, [hashes[3]!])).rejects.toThrow(/NotContiguous/);
    await expect(a.notarize(logId, 2, hashes.slice(1, 3))).rejects.toThrow(/NotContiguous/);
    await expect(a.notarize(logId, 0, [hashes[0]!])).rejects.toThrow(/NotContiguous/);
    expect(await a.hashAt(logId, 2)).toBe(hashes[1]);
    expect(await a.hashAt(logId, 3)).toBeUndefined();
    expect(await a.hashRange(logId, 1, 9)).toEqual(hashes.slice(0, 2));
    // the admin registers writers; only the admin
    await expect(outsider.setWriter(outsider.account!, true)).rejects.toThrow(/NotAdmin/);
    const admin = await notaryAs(ADMIN);
    await admin.setWriter(outsider.account!, true);
    expect((await outsider.notarize(logId, 3, hashes.slice(2))).appended).toBe(true);
    await admin.setWriter(outsider.account!, false);
    expect(await a.isWriter(outsider.account!)).toBe(false);
  });

  it('mode entries stores the SHA-256 of each entry body (its entryHash); the bytes round-trip', async () => {
    const a = await notaryAs(WRITER_A);
    const chain = await makeChain('notary-bytes', 3);
    const logId = logIdFor('notary-bytes');
    for (const e of chain) expect(entryFromBytes(entryBytes(e))).toEqual(outside(e));
    await a.publish(logId, 1, chain);
    expect(await a.hashRange(logId, 1, 3)).toEqual(chain.map((e) => e.entryHash));
    expect(await a.entries(logId)).toEqual(outside(chain));
  });
});

describe.each(['hashes', 'entries'] as const)('notarizedStore, mode %s', (mode) => {
  it('appends land in the store and on the chain, with equal hashes', async () => {
    const notary = await notaryAs(WRITER_A);
    const store = notarizedStore(memoryStore(), notary, { mode });
    const session = `notarized-append-${mode}`;
    const logId = logIdFor(session);
    const chain = await makeChain(session, 9);
    await store.writeLogEntries(chain.slice(0, 1));
    await store.writeLogEntries(chain.slice(1, 9));
    expect((await store.getHead(logId))?.seq).toBe(9);
    expect(await notary.head(logId)).toBe(10);
    expect(await notary.hashRange(logId, 1, 9)).toEqual(chain.map((e) => e.entryHash));
    expect((await store.verifyLog(logId)).ok).toBe(true);
  });

  it('a crash between the inner append and its publication: the next append or catchUp publishes it', async () => {
    const real = await notaryAs(WRITER_A);
    const notary = failingOnce(real);
    const inner = memoryStore();
    const store = notarizedStore(inner, notary, { mode });
    const session = `notarized-crash-${mode}`;
    const logId = logIdFor(session);
    const chain = await makeChain(session, 6);
    await store.writeLogEntries(chain.slice(0, 2));
    notary.armed = true;
    // The inner append lands, the publication fails: the caller is told the outcome is unknown.
    await refusal(store.writeLogEntries(chain.slice(2, 4)), 'STORAGE_FAILURE');
    expect((await inner.getHead(logId))?.seq).toBe(4);
    expect(await real.head(logId)).toBe(3); // notarized < stored
    // The next append (here through a fresh wrapper, as after a restart) publishes the missing tail first.
    const reopened = notarizedStore(inner, real, { mode });
    await reopened.writeLogEntries(chain.slice(4, 5));
    expect(await real.hashRange(logId, 1, 9)).toEqual(chain.slice(0, 5).map((e) => e.entryHash));
    // And catchUp does it explicitly.
    notary.armed = true;
    await refusal(store.writeLogEntries(chain.slice(5, 6)), 'STORAGE_FAILURE');
    expect(await real.head(logId)).toBe(6);
    expect(await store.catchUp(logId)).toBe(6);
    expect(await real.hashRange(logId, 1, 9)).toEqual(chain.map((e) => e.entryHash));
    expect(await store.catchUp(logId)).toBe(6); // nothing left: no write
    // At boot, for every open log the gateway writes: a third crash, caught up by catchUpOpenLogs.
    const more = await makeChain(session, 2, { from: headOf(chain), offset: 6 });
    notary.armed = true;
    await refusal(store.writeLogEntries(more), 'STORAGE_FAILURE');
    const caught = await notarizedStore(inner, real, { mode }).catchUpOpenLogs(AUTHOR.id);
    expect(caught).toContainEqual({ logId, notarized: 8 });
    expect(await real.head(logId)).toBe(9);
  });

  it('a store rewritten behind the wrapper: an append forking from the notarized log is refused', async () => {
    const notary = await notaryAs(WRITER_A);
    const driver = new MemoryDriver();
    const store = notarizedStore(new LogStore(driver, verifyContext()), notary, { mode });
    const session = `notarized-fork-${mode}`;
    const logId = logIdFor(session);
    const chain = await makeChain(session, 3);
    await store.writeLogEntries(chain);
    // Seq 3 re-signed in the store (the notary holds the original), then an entry that links to the rewrite.
    const FORGED = { i: 2, rewritten: true };
    const forged3 = await reseal(chain[2]!, AUTHOR.signer, (b) => ({
      ...b,
      payload: FORGED,
      payloadHash: hashJson(FORGED),
    }));
    driver.logs.get(logId)![2] = JSON.stringify(forged3);
    driver.heads.set(logId, { seq: 3, hash: forged3.entryHash, open: true });
    const next = await sealNext(session, headOf([forged3]), 3);
    const err = await refusal(
      notarizedStore(new LogStore(driver, verifyContext()), notary, { mode }).writeLogEntries([next]),
      'LOG_DIVERGED',
    );
    expect(err.detail).toMatchObject({ seq: 3, ours: forged3.entryHash, theirs: chain[2]!.entryHash });
    expect((await store.getHead(logId))?.seq).toBe(3);
    expect(await notary.head(logId)).toBe(4);
  });

  it('a tampered RECOVER-UPDATE entry is caught by the notarized hash, nothing stored; the genuine taken', async () => {
    // The peer (AUTHOR) notarized its log through its own store.
    const peer = notarizedStore(memoryStore(), await notaryAs(WRITER_A), { mode });
    const session = `notarized-equivocation-${mode}`;
    const logId = logIdFor(session);
    const chain = await makeChain(session, 5);
    await peer.writeLogEntries(chain);
    // Equivocation: the author's key signs a different entry at seq 3, and a chain after it that links to it.
    // It verifies as a chain by signatures alone.
    const FORGED = { i: 2, forged: true };
    const forged3 = await reseal(chain[2]!, AUTHOR.signer, (b) => ({
      ...b,
      payload: FORGED,
      payloadHash: hashJson(FORGED),
    }));
    const forged4 = await reseal(chain[3]!, AUTHOR.signer, (b) => ({ ...b, lastEntryHash: forged3.entryHash }));
    const forged = [...chain.slice(0, 2), forged3, forged4].map(outside);
    expect((await verifyChain(forged, verifyContext())).ok).toBe(true);
    // The recovering gateway (another writer, its own store) holds the first two entries of the peer's log.
    const innerDriver = new MemoryDriver();
    const recovering = notarizedStore(new LogStore(innerDriver, verifyContext()), await notaryAs(WRITER_B), { mode });
    await recovering.updateLog(logId, outside(chain.slice(0, 2)));
    const before = JSON.stringify(innerDriver.logs.get(logId));
    const err = await refusal(recovering.updateLog(logId, forged), 'LOG_DIVERGED');
    expect(err.detail).toMatchObject({
      seq: 3,
      ours: chain[2]!.entryHash,
      theirs: forged3.entryHash,
      against: 'notary',
    });
    // Only the forged tail, linking to a genuine entry: a store without the notary takes it (its signatures and
    // links verify, and it extends what the store holds); the notarized store refuses it.
    const tail = [forged3, forged4].map(outside);
    const plain = new LogStore(new MemoryDriver(), verifyContext());
    await plain.updateLog(logId, outside(chain.slice(0, 2)));
    expect((await plain.updateLog(logId, tail)).head.seq).toBe(4);
    await refusal(recovering.updateLog(logId, tail), 'LOG_DIVERGED');
    expect(JSON.stringify(innerDriver.logs.get(logId))).toBe(before);
    expect((await recovering.getHead(logId))?.seq).toBe(2);
    // The genuine entries are accepted.
    const r = await recovering.updateLog(logId, outside(chain));
    expect(r.head).toEqual(headOf(chain));
    expect((await recovering.verifyLog(logId)).ok).toBe(true);
  });
});

describe('logFromChain (mode entries): the peer log from the chain alone', () => {
  it('rebuilds the entries the store holds; they verify; a recovering gateway updates its view with them', async () => {
    const notary = await notaryAs(WRITER_A);
    const peerStore = notarizedStore(memoryStore(), notary, { mode: 'entries' });
    const session = 'notarized-from-chain';
    const logId = logIdFor(session);
    const chain = await makeChain(session, 7, { end: true });
    await peerStore.writeLogEntries(chain.slice(0, 3));
    await peerStore.writeLogEntries(chain.slice(3));
    const stored = (await peerStore.readPage(logId, 1, 100)).entries;
    // The peer is down from here on: only the chain is read (a read-only notary, no key).
    const reader = await EvmNotary.connect({ endpoint, contract });
    const rebuilt = await logFromChain(reader, logId, verifyContext());
    expect(rebuilt).toEqual(stored);
    expect((await verifyChain(rebuilt, verifyContext())).ok).toBe(true);
    // The recovering gateway knew the first two entries; its notarized store takes the rest from the chain.
    const recovering: SessionLogStore = notarizedStore(memoryStore(), reader, { mode: 'entries' });
    await recovering.updateLog(logId, outside(chain.slice(0, 2)));
    const r = await recovering.updateLog(logId, rebuilt);
    expect(r.appended.map((e) => e.seqNumber)).toEqual([3, 4, 5, 6, 7]);
    expect(r.head).toEqual(headOf(chain));
    expect((await recovering.getHead(logId))?.open).toBe(false);
  });
});
