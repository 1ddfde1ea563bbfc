// Issue 15: a gateway answering a RECOVER reads its own chain back through entryFromSealedText, one hash per entry
// instead of the full content check. These tests hold it to what that check guaranteed for a page: an entry comes
// back only from the text sealEntry wrote for it, unchanged; anything else goes to the full check, and a corrupt
// entry still fails the read.
import { describe, expect, it } from 'vitest';
import { sha256HexOfText } from '../../kernel/hash.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { entryFromSealedText, sealedForm, sealedText } from '../../kernel/seal.ts';
import type { LogEntry } from '../../kernel/entry.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { G1, makeChain, verifyCtx } from '../support/fixtures.ts';

const SID = 's-sealed-text';
const textOf = (e: LogEntry): string => {
  const t = sealedText(e);
  if (t === undefined) throw new Error('not sealed here');
  return t;
};
/** The body of a sealed entry, parsed from its sealed text (the text without the two seal members). */
const bodyOf = (e: LogEntry): Record<string, Json> => {
  const text = textOf(e);
  return JSON.parse(`${text.slice(0, text.indexOf(',"entryHash":"'))}}`) as Record<string, Json>;
};
/** A body's text sealed as a store keeps it, with the entry hash of that text and `signature`. */
const resealed = (body: string, signature: string): string => sealedForm(body, sha256HexOfText(body), signature);

describe('entryFromSealedText', () => {
  it('gives back the sealed entry, its members in JCS order (the seal members among the others)', async () => {
    const chain = await makeChain(SID, 12);
    for (const e of chain) {
      const back = entryFromSealedText(textOf(e));
      expect(back).toEqual(e);
      // In order: JSON.stringify writes the canonical text, which a message carrying the entry relies on.
      expect(JSON.stringify(back)).toBe(canonicalJson(e as unknown as Json));
    }
  });

  it('refuses a text changed anywhere the entry hash covers, or in the hash itself', async () => {
    const [e] = await makeChain(SID, 1);
    const text = textOf(e!);
    const hashAt = text.indexOf(',"entryHash":"');
    expect(hashAt).toBeGreaterThan(0);
    let changed = 0;
    // Every character of the body and of the hash, replaced by another that keeps the text's length.
    for (let i = 0; i < hashAt + 14 + 64; i++) {
      const c = text[i]!;
      const other = c === 'a' ? 'b' : c === '0' ? '1' : c === '"' ? "'" : 'a';
      const bad = text.slice(0, i) + other + text.slice(i + 1);
      expect(entryFromSealedText(bad), `character ${i}`).toBeUndefined();
      changed++;
    }
    expect(changed).toBeGreaterThan(500);
  });

  it('leaves every other form of an entry to the full check', async () => {
    const [e] = await makeChain(SID, 1);
    const text = textOf(e!);
    const canonical = canonicalJson(e as unknown as Json); // the seal members among the others
    expect(entryFromSealedText(canonical)).toBeUndefined();
    expect(entryFromSealedText(`${text} `)).toBeUndefined();
    expect(entryFromSealedText(text.replace('{', '{ '))).toBeUndefined(); // body no longer the hashed text
    expect(entryFromSealedText(text.slice(0, -2))).toBeUndefined();
    expect(entryFromSealedText('')).toBeUndefined();
    // A signature that is not 86 base64url characters.
    const sigAt = text.lastIndexOf('"messageSignature":"') + 20;
    expect(entryFromSealedText(`${text.slice(0, sigAt)}!${text.slice(sigAt + 1)}`)).toBeUndefined();
  });

  it('refuses a body whose members are out of order, though its hash matches', async () => {
    const [e] = await makeChain(SID, 1);
    const body = bodyOf(e!);
    const keys = Object.keys(body).reverse();
    const reversed = `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(body[k]!)}`).join(',')}}`;
    expect(entryFromSealedText(resealed(reversed, e!.messageSignature))).toBeUndefined();
  });

  it('leaves to the full check a sealed text whose keys the seal members go before occur nested ahead', async () => {
    // A member sorted before lastEntryHash that holds lastEntryHash and operation keys of its own: the first
    // ',"lastEntryHash":"' of the text is then not the body's, and the seal members would land inside that member.
    const [e] = await makeChain(SID, 1);
    const canonical = canonicalJson({ ...bodyOf(e!), contextNote: { a: 1, lastEntryHash: 'x', operation: 'y' } });
    expect(canonical.indexOf(',"lastEntryHash":"')).toBeLessThan(canonical.indexOf('"lastEntryHash":"', 100));
    expect(entryFromSealedText(resealed(canonical, e!.messageSignature))).toBeUndefined();
  });

  it('leaves to the full check a sealed text with members between the seal members and their places', async () => {
    // "fee" sorts after entryHash and before lastEntryHash, "note" after messageSignature and before operation: placed
    // before lastEntryHash and operation, the seal members would be out of JCS order.
    const [e] = await makeChain(SID, 1);
    const canonical = canonicalJson({ ...bodyOf(e!), fee: '1', note: 'n' });
    expect(entryFromSealedText(resealed(canonical, e!.messageSignature))).toBeUndefined();
  });
});

describe("readPage: this gateway's own chain, read to answer a RECOVER", () => {
  const logId = `${SID}/${G1.id}`;
  const stored = async () => {
    const driver = new MemoryDriver();
    const store = new LogStore(driver, verifyCtx);
    await store.writeLogEntries(await makeChain(SID, 8));
    return { driver, store };
  };

  it('returns the entries getLog returns', async () => {
    const { store } = await stored();
    const page = await store.readPage(logId, 1, 100);
    expect(page.more).toBe(false);
    expect(page.entries).toEqual(await store.getLog(logId));
  });

  it('still fails on a corrupt entry (STORAGE_FAILURE), through the full check', async () => {
    const { driver, store } = await stored();
    const texts = driver.logs.get(logId)!;
    texts[4] = texts[4]!.replace('"operation":"', '"operation":"x');
    await expect(store.readPage(logId, 1, 100)).rejects.toMatchObject({ code: 'STORAGE_FAILURE' });
  });

  it('reads an entry stored in another form (a copy from a peer) through the full check', async () => {
    const { driver, store } = await stored();
    const texts = driver.logs.get(logId)!;
    const entries = await store.getLog(logId);
    texts[2] = canonicalJson(entries[2] as unknown as Json);
    const page = await store.readPage(logId, 1, 100);
    expect(page.entries).toEqual(entries);
  });
});

describe("a verified copy is stored in its author's bytes", () => {
  const logId = `${SID}/${G1.id}`;
  /** The chain as it arrives in a message: canonicalized with it, the seal members in JCS order among the others. */
  const onTheWire = (chain: LogEntry[]) => chain.map((e) => JSON.parse(canonicalJson(e as unknown as Json)));

  it('updateLog stores the text the author stored, not a serialization of the parsed copy', async () => {
    const chain = await makeChain(SID, 9);
    const author = new MemoryDriver();
    await new LogStore(author, verifyCtx).writeLogEntries(chain);
    const copy = new MemoryDriver();
    const store = new LogStore(copy, verifyCtx);
    await store.updateLog(logId, onTheWire(chain.slice(0, 4)));
    await store.updateLog(logId, onTheWire(chain.slice(3))); // overlapping pages, as recovery sends them
    expect(copy.logs.get(logId)).toEqual(author.logs.get(logId));
    // So the copy reads back on the fast path, and as the same entries.
    expect(copy.logs.get(logId)!.every((t) => entryFromSealedText(t) !== undefined)).toBe(true);
    expect(await store.getLog(logId)).toEqual(chain);
  });

  it('so does writeLogEntries for entries it checks itself', async () => {
    const chain = await makeChain(SID, 5);
    const author = new MemoryDriver();
    await new LogStore(author, verifyCtx).writeLogEntries(chain);
    const copy = new MemoryDriver();
    await new LogStore(copy, verifyCtx).writeLogEntries(onTheWire(chain));
    expect(copy.logs.get(logId)).toEqual(author.logs.get(logId));
  });
});
