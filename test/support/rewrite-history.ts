// A gateway that rewrites its own history (as if restored from an old backup and re-run): every entry of `logId` in
// a MemoryDriver from seq `fromSeq` on, re-sealed by its author's key with a later timestamp. The rewritten chain
// verifies by signatures, but it is not the one a peer may hold a copy of (or a notary the hashes of). Tests of
// RECOVER-DISPUTE and of the notary use it.
import { type EntryBody, GENESIS_HASH, type LogEntry } from '../../kernel/entry.ts';
import { sealEntry } from '../../kernel/seal.ts';
import type { Signer } from '../../kernel/crypto/types.ts';

/** `driver` is a MemoryDriver (storage/memory.ts), whose stored texts and heads this edits behind its back. */
export async function rewriteHistory(driver: unknown, logId: string, fromSeq: number, signer: Signer): Promise<void> {
  const d = driver as {
    logs: Map<string, string[]>;
    heads: Map<string, { seq: number; hash: string; open: boolean }>;
  };
  const texts = d.logs.get(logId)!;
  let prev = fromSeq <= 1 ? { entryHash: GENESIS_HASH } : (JSON.parse(texts[fromSeq - 2]!) as LogEntry);
  for (let i = fromSeq - 1; i < texts.length; i++) {
    const { entryHash: _h, messageSignature: _s, ...body } = JSON.parse(texts[i]!) as LogEntry;
    const e = await sealEntry(
      { ...body, lastEntryHash: prev.entryHash, timestamp: body.timestamp + 1 } as EntryBody,
      signer,
    );
    texts[i] = JSON.stringify(e);
    prev = e;
  }
  d.heads.set(logId, { seq: texts.length, hash: prev.entryHash, open: true });
}
