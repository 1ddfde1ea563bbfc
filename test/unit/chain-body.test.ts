// Issue 15: the reducer builds each new entry with chainBody, which canonicalizes the payload once and hands the
// texts it hashed to sealEntry instead of sealEntry canonicalizing the body again. These tests hold that shortcut to
// what the long way gives: the same body, the same hash, the same sealed entry, and no way for the text to go stale.
import { describe, expect, it } from 'vitest';
import { type ChainContext, EMPTY_HEAD, entryHashOf, type EntryStep, nextEntryBody } from '../../kernel/entry.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { chainBody, checkEntryContent, isDeepFrozen, sealEntry, sealedText } from '../../kernel/seal.ts';
import { chainContext, G1 } from '../support/fixtures.ts';

const step = (i: number): EntryStep => ({
  phase: 'transfer-initiation',
  step: '1.1',
  operation: 'exec',
  timestamp: 1_700_000_000_000 + i,
  // Members out of JCS order, nested, with text that JSON escapes: what the canonical form must sort and keep.
  payload: { z: i, a: { y: ['é', '"q"', { b: 1, a: null }], x: true }, m: `line\n${i}` },
});

const contextOf = async (): Promise<ChainContext> => chainContext('s-chain-body');

describe('chainBody', () => {
  it('builds the body nextEntryBody builds, hashed as entryHashOf hashes it', async () => {
    const ctx = await contextOf();
    let head = EMPTY_HEAD;
    for (let i = 0; i < 5; i++) {
      const { body, hash } = chainBody(ctx, head, step(i));
      expect(body).toEqual(nextEntryBody(ctx, head, step(i)));
      expect(hash).toBe(entryHashOf(body));
      head = { seq: body.seqNumber, hash };
    }
  });

  it('seals into the entry the long way gives, with the hash it named', async () => {
    const ctx = await contextOf();
    const { body, hash } = chainBody(ctx, EMPTY_HEAD, step(1));
    const short = await sealEntry(body, G1.signer);
    const long = await sealEntry(nextEntryBody(ctx, EMPTY_HEAD, step(1)), G1.signer);
    expect(short.entryHash).toBe(hash);
    // The fixtures' noble signer is deterministic (RFC 6979): the two entries are the same, signature included.
    expect(short).toEqual(long);
    expect(sealedText(short)).toBe(sealedText(long));
    expect(checkEntryContent(JSON.parse(sealedText(short)!))).toMatchObject({ ok: true });
    expect(sealedText(short)!.startsWith(canonicalJson(body as unknown as Json).slice(0, -1))).toBe(true);
    // Built from the frozen body, not parsed from the sealed text: the same members in the same order, the
    // same values, frozen all the way down.
    expect(Object.keys(short)).toEqual(Object.keys(JSON.parse(sealedText(short)!)));
    expect(JSON.parse(JSON.stringify(short))).toEqual(JSON.parse(sealedText(short)!));
    expect(isDeepFrozen(short)).toBe(true);
    expect(Object.isFrozen(short)).toBe(true);
    expect(Object.isFrozen((short.payload as { a: { y: unknown[] } }).a.y)).toBe(true);
    expect(checkEntryContent(short)).toMatchObject({ ok: true });
  });

  it('freezes the body and its payload, so the texts it keeps for sealEntry cannot go stale', async () => {
    const ctx = await contextOf();
    const s = step(2);
    const { body } = chainBody(ctx, EMPTY_HEAD, s);
    expect(isDeepFrozen(body)).toBe(true);
    expect(Object.isFrozen(s.payload)).toBe(true);
    expect(() => {
      (body.payload as { z: number }).z = 99;
    }).toThrow(TypeError);
    expect(() => {
      ((body.payload as { a: { y: unknown[] } }).a.y as unknown[]).push('more');
    }).toThrow(TypeError);
    // A copy the caller changes is a body of its own: sealEntry canonicalizes it afresh.
    const changed = { ...body, payload: { ...(body.payload as Record<string, Json>), z: 99 } };
    const sealed = await sealEntry(changed, G1.signer);
    expect((sealed.payload as { z: number }).z).toBe(99);
    expect(checkEntryContent(JSON.parse(sealedText(sealed)!))).toMatchObject({ ok: false, reason: 'bad-payload-hash' });
  });

  it('a wrong payload text given to nextEntryBody gives a payloadHash that sealing refuses', async () => {
    const ctx = await contextOf();
    const body = nextEntryBody(ctx, EMPTY_HEAD, step(3), '{"not":"the payload"}');
    const sealed = await sealEntry(body, G1.signer);
    expect(checkEntryContent(JSON.parse(sealedText(sealed)!))).toMatchObject({ ok: false, reason: 'bad-payload-hash' });
  });
});
