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
  ORIGIN,
  outcomes,
  typeOf,
  until,
} from '../support/satp-pair.ts';

const SID = 's-pages';
const LACK = 700;

/**
 * A pair whose origin went down at the proposal's receipt and lacks `lack` entries of the destination's chain, each
 * about as long as an average transfer entry: the destination's chain grew while the origin was down (the destination
 * restarted to take them up, as after its own crash). The origin is still down; `down()!.restart()` brings it back.
 */
async function lacking(lack: number) {
  const pair = await makePair();
  const down = crashOriginOn(pair, DESTINATION, 'proposal-receipt-msg');
  await pair.origin.gw.startTransfer(pair.request(SID));
  await until(pair, () => !!down(), 30, 'the origin down at the receipt');
  pair.intercept = () => undefined;

  // Entries the destination's state ignores, written while both are down.
  const destination = crashSide(pair, 'destination');
  const logId = `${SID}/${DESTINATION.id}`;
  const state = replay(await pair.destination.store.getLog(logId))!;
  let head: ChainHead = state.head;
  const bodies: EntryBody[] = [];
  for (let k = 0; k < lack; k++) {
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
  return { pair, down, logId, head };
}

type Page = { recoveredLogs: { seqNumber: number }[]; more: boolean };

/**
 * Brings the origin back and runs the pair until the destination confirmed the recovery (RECOVER-SUCCESS) and the
 * transfer ended on both sides, and checks that it committed; `from`: where on the wire that began, `pages`: the
 * destination's RECOVER-UPDATEs. The clock runs until both ended: the destination recovers too (its RECOVER went out
 * while the origin was down, and is resent by its timer), and holds its answers to the origin until then.
 */
async function recoverOrigin(
  pair: Awaited<ReturnType<typeof makePair>>,
  down: () => { restart(): Promise<void> } | undefined,
) {
  const from = pair.wire.length;
  await down()!.restart();
  const since = () => pair.wire.slice(from).filter((w) => w.from === DESTINATION.id);
  const ended = (side: typeof pair.origin) => side.gw.session(SID)?.status.kind === 'ended';
  const done = () => ended(pair.origin) && ended(pair.destination);
  await until(pair, () => since().some((w) => typeOf(w.env) === 'recover-success-msg') && done(), 60);
  expect(await outcomes(pair, SID)).toEqual(['committed', 'committed']);
  const pages = since()
    .filter((w) => typeOf(w.env) === 'recover-update-msg')
    .map((w) => messageOf(w.env) as unknown as Page);
  return { from, pages };
}

describe('recovery pages (RECOVER-UPDATE)', () => {
  it(`a gateway lacking ${LACK} entries gets them in pages as full as RECOVER_PAGE_CHARS allows`, async () => {
    const { pair, down, logId, head } = await lacking(LACK);

    // When the destination reads each page of its chain, by the count of messages on the wire then.
    const reads: { from: number; wire: number }[] = [];
    const store = pair.destination.store;
    const readPage = store.readPage.bind(store);
    store.readPage = (log, first, limit, maxChars) => {
      if (log === logId) reads.push({ from: first, wire: pair.wire.length });
      return readPage(log, first, limit, maxChars);
    };
    const { from, pages } = await recoverOrigin(pair, down);
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
  it('the next page is asked for before the page before it is verified and appended', async () => {
    const { pair, down, logId } = await lacking(LACK);
    // The views of the RECOVERs the origin handed to its outbox, and, as each page reached the copy, those so far.
    const asked: number[] = [];
    pair.intercept = (from, _to, env) => {
      if (from === ORIGIN.id && typeOf(env) === 'recover-msg')
        asked.push((messageOf(env) as unknown as { peerSeqNumber: number }).peerSeqNumber);
      return undefined;
    };
    const applied: { end: number; asked: number[] }[] = [];
    const store = pair.origin.store;
    const updateLog = store.updateLog.bind(store);
    store.updateLog = (log, source) => {
      const entries = source as { seqNumber: number }[];
      if (log === logId) applied.push({ end: entries[entries.length - 1]!.seqNumber, asked: [...asked] });
      return updateLog(log, source);
    };
    const { pages } = await recoverOrigin(pair, down);
    expect(pages.length).toBeGreaterThan(1);
    expect(applied).toHaveLength(pages.length);
    // Each page that says more follows: the RECOVER naming its end was out before the page went to the copy.
    for (const [i, p] of pages.entries()) {
      const end = p.recoveredLogs[p.recoveredLogs.length - 1]!.seqNumber;
      expect(applied[i]!.end).toBe(end);
      expect(applied[i]!.asked.includes(end), `page ${i} (to seq ${end}) asked for ahead`).toBe(p.more);
    }
    await checkInvariants(pair, SID);
  });

  it(
    "a page that does not reach the copy (the store failed) is asked for again from the copy's head; the page " +
      'sent for the RECOVER asked ahead of it is not taken, and nothing is refused',
    async () => {
      const { pair, down, logId, head } = await lacking(LACK);
      const store = pair.origin.store;
      const updateLog = store.updateLog.bind(store);
      let failures = 0;
      store.updateLog = (log, source) => {
        if (log === logId && failures === 0) {
          failures++;
          return Promise.reject(new Error('disk unavailable'));
        }
        return updateLog(log, source);
      };
      const copyBefore = await pair.origin.store.getLogLength(logId);
      const { from } = await recoverOrigin(pair, down);
      expect(failures).toBe(1);
      const sent = pair.wire.slice(from).filter((w) => w.from === ORIGIN.id);
      const views = sent
        .filter((w) => typeOf(w.env) === 'recover-msg')
        .map((w) => (messageOf(w.env) as unknown as { peerSeqNumber: number }).peerSeqNumber);
      // The first RECOVER, one sent ahead of the page that failed, a fresh one from the copy's head as it was, ...
      expect(views[0]).toBe(copyBefore);
      expect(views[1]).toBeGreaterThan(copyBefore);
      expect(views[2]).toBe(copyBefore);
      expect(sent.some((w) => typeOf(w.env) === 'error-msg')).toBe(false);
      expect(await pair.origin.store.getLogLength(logId)).toBeGreaterThanOrEqual(head.seq);
      const skipped = pair.origin.reports.filter(
        (r) => r.report.kind === 'ignored' && r.report.detail.startsWith('RECOVER-UPDATE for a RECOVER that named'),
      );
      expect(skipped).toHaveLength(1);
      await checkInvariants(pair, SID);
    },
  );
});
