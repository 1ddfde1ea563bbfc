// Issue 15: a recovered gateway that lacks many entries gets them in pages sized by their text, not by a count
// that leaves most of a page's room unused; fewer round trips, and every page still bounded and verified.
import { describe, expect, it } from 'vitest';
import { type ChainHead, type EntryBody, entryHashOf, nextEntryBody } from '../../kernel/entry.ts';
import { sealEntry } from '../../kernel/seal.ts';
import { RECOVER_PAGE, RECOVER_PAGE_CHARS } from '../../kernel/satp/index.ts';
import { replay } from '../../kernel/satp/state.ts';
import {
  checkInvariants,
  crashOriginOn,
  crashSide,
  DESTINATION,
  makePair,
  messageOf,
  outcomes,
  typeOf,
  until,
} from '../support/satp-pair.ts';

const SID = 's-pages';
const LACK = 700;

describe('recovery pages (RECOVER-UPDATE)', () => {
  it(`a gateway lacking ${LACK} entries gets them in pages as full as RECOVER_PAGE_CHARS allows`, async () => {
    const pair = await makePair();
    const down = crashOriginOn(pair, DESTINATION, 'proposal-receipt-msg');
    await pair.origin.gw.startTransfer(pair.request(SID));
    await until(pair, () => !!down(), 30, 'the origin down at the receipt');
    pair.intercept = () => undefined;

    // While the origin is down the destination's chain grows by LACK entries its state ignores, each about as long
    // as an average transfer entry (the destination restarts to take them up, as after its own crash).
    const destination = crashSide(pair, 'destination');
    const logId = `${SID}/${DESTINATION.id}`;
    const state = replay(await pair.destination.store.getLog(logId))!;
    let head: ChainHead = state.head;
    const bodies: EntryBody[] = [];
    for (let k = 0; k < LACK; k++) {
      const body = nextEntryBody(state.chain, head, {
        phase: 'transfer-initiation',
        step: '1.2',
        operation: 'done',
        timestamp: pair.clock.now(),
        payload: { kind: 'record', what: `waiting ${k} ${'x'.repeat(600)}` },
      });
      bodies.push(body);
      head = { seq: body.seqNumber, hash: entryHashOf(body) };
    }
    for (let i = 0; i < bodies.length; i += 100)
      await pair.destination.store.writeLogEntries(
        await Promise.all(bodies.slice(i, i + 100).map((b) => sealEntry(b, DESTINATION.signer))),
      );
    await destination.restart();

    // When the destination reads each page of its chain, by the count of messages on the wire then.
    const reads: { from: number; wire: number }[] = [];
    const store = pair.destination.store;
    const readPage = store.readPage.bind(store);
    store.readPage = (log, first, limit, maxChars) => {
      if (log === logId) reads.push({ from: first, wire: pair.wire.length });
      return readPage(log, first, limit, maxChars);
    };
    const from = pair.wire.length;
    await down()!.restart();
    await until(pair, () => pair.wire.slice(from).some((w) => typeOf(w.env) === 'recover-success-msg'), 60);
    expect(await outcomes(pair, SID)).toEqual(['committed', 'committed']);

    const pages = pair.wire
      .slice(from)
      .filter((w) => w.from === DESTINATION.id && typeOf(w.env) === 'recover-update-msg')
      .map((w) => messageOf(w.env) as unknown as { recoveredLogs: object[]; more: boolean });
    const chars = (entries: object[]) => entries.reduce((n, e) => n + JSON.stringify(e).length, 0);
    // Each page is bounded by count and text, and every page but the last is full: the entry after it (the next
    // page's second: each page starts at the entry its RECOVER holds already) would not have fitted.
    for (const [i, p] of pages.entries()) {
      expect(p.recoveredLogs.length, `page ${i}`).toBeLessThanOrEqual(RECOVER_PAGE);
      expect(chars(p.recoveredLogs), `page ${i}`).toBeLessThanOrEqual(RECOVER_PAGE_CHARS);
      expect(p.more, `page ${i} says more`).toBe(i < pages.length - 1);
      if (p.more)
        expect(
          chars(p.recoveredLogs) + chars(pages[i + 1]!.recoveredLogs.slice(1, 2)),
          `page ${i} full`,
        ).toBeGreaterThan(RECOVER_PAGE_CHARS);
    }
    // The pages tile the destination's chain: each starts at the last entry of the one before, entry for entry.
    const chain = await pair.destination.store.getLog(logId);
    let next = 1;
    for (const p of pages) {
      const seqs = p.recoveredLogs.map((e) => (e as { seqNumber: number }).seqNumber);
      expect(seqs[0]).toBe(next);
      expect(p.recoveredLogs).toEqual(chain.slice(seqs[0]! - 1, seqs[seqs.length - 1]));
      next = seqs[seqs.length - 1]!;
    }
    // Every page after the first was read ahead: before the RECOVER asking for it was on the wire.
    const asked = pair.wire
      .map((w, i) => ({ w, i }))
      .filter(({ w, i }) => i >= from && w.from !== DESTINATION.id && typeOf(w.env) === 'recover-msg')
      .map(({ w, i }) => ({ at: i, view: (messageOf(w.env) as unknown as { peerSeqNumber: number }).peerSeqNumber }));
    for (const [i, p] of pages.entries()) {
      if (i === 0) continue;
      const first = (p.recoveredLogs[0] as { seqNumber: number }).seqNumber;
      const read = reads.find((r) => r.from === first);
      const ask = asked.find((a) => a.view === first);
      expect(read && ask && read.wire <= ask.at, `page ${i} read before it was asked for`).toBe(true);
    }
    // Far more than 128 entries of this size fit a page: fewer pages than a count of 128 would have taken.
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.length).toBeLessThan(Math.ceil(LACK / 128));
    // The copy holds all the destination wrote before the recovery, and the run keeps every invariant.
    expect(await pair.origin.store.getLogLength(logId)).toBeGreaterThanOrEqual(head.seq);
    await checkInvariants(pair, SID);
  });
});
