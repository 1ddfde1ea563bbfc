// The one invariants module (test/support/invariants.ts) against a real committed transfer, then against that
// run broken one way at a time: each break must be named, so no harness's "no violations" can be vacuous.
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../kernel/entry.ts';
import { type ChainView, checkRun, type LedgerView, type Rules, type TransferView } from '../support/invariants.ts';
import { makePair, observePair, outcomes } from '../support/satp-pair.ts';

interface Run {
  chains: ChainView[];
  ledgers: LedgerView[];
  transfer: TransferView;
}

const RULES: Rules = { agreement: 'exact', closedWorld: true };

async function committedRun(): Promise<Run> {
  const pair = await makePair();
  await pair.origin.gw.startTransfer(pair.request('s-inv'));
  expect(await outcomes(pair, 's-inv')).toEqual(['committed', 'committed']);
  return observePair(pair, 's-inv');
}

const named = (r: Run, rules = RULES) =>
  checkRun(r.chains, r.ledgers, [r.transfer], rules).violations.map((v) => v.invariant);

const own = (r: Run, gateway: string) => r.chains.find((c) => c.holder === gateway && c.author === gateway)!;
const withEntries = (c: ChainView, entries: LogEntry[]): ChainView => ({ ...c, entries });
const replaceChain = (r: Run, c: ChainView, next: ChainView): Run => ({
  ...r,
  chains: r.chains.map((x) => (x === c ? next : x)),
});

describe('the invariants module names every break of a real run', () => {
  it('a clean committed run has no violation and its outcome is read from the chain', async () => {
    const r = await committedRun();
    const verdict = checkRun(r.chains, r.ledgers, [r.transfer], RULES);
    expect(verdict.violations).toEqual([]);
    expect(verdict.outcomes.get('s-inv')).toBe('committed');
    expect(r.ledgers.flatMap((l) => l.records).length).toBeGreaterThanOrEqual(4);
  });

  it('breaks, one at a time', async () => {
    const r = await committedRun();
    const origin = own(r, r.transfer.origin.gateway);
    const destination = own(r, r.transfer.destination.gateway);
    const [ledgerA, ledgerB] = r.ledgers as [LedgerView, LedgerView];
    const asset = ledgerB.assets.get('asset-1')!;
    const cases: [string, Run, string][] = [
      ['a chain that does not verify', replaceChain(r, origin, { ...origin, fault: 'bad signature' }), 'chains verify'],
      [
        'an open chain',
        replaceChain(r, destination, withEntries(destination, destination.entries.slice(0, -1))),
        'every session ends',
      ],
      [
        'the asset live on both ledgers',
        { ...r, ledgers: [{ ...ledgerA, assets: new Map([['asset-1', { ...asset, owner: 'alice' }]]) }, ledgerB] },
        'the asset exists on exactly one ledger',
      ],
      [
        'the asset with someone else',
        { ...r, ledgers: [ledgerA, { ...ledgerB, assets: new Map([['asset-1', { ...asset, owner: 'mallory' }]]) }] },
        'committed: burned on origin, owned by the beneficiary on destination',
      ],
      [
        'an op applied twice',
        { ...r, ledgers: [{ ...ledgerA, records: ledgerA.records.map((x) => ({ ...x, applied: 2 })) }, ledgerB] },
        'no ledger operation applied twice',
      ],
      [
        'an op with no exec logged',
        replaceChain(
          r,
          origin,
          withEntries(
            origin,
            origin.entries.filter((e) => e.operation !== 'exec'),
          ),
        ),
        'every ledger operation was logged (exec) before it was called',
      ],
      [
        'a receipt the ledger does not hold',
        {
          ...r,
          ledgers: [
            {
              ...ledgerA,
              records: ledgerA.records.map((x) => ({ ...x, receipt: { ...x.receipt, proof: 'another' } })),
            },
            ledgerB,
          ],
        },
        'a gateway logs the receipt its ledger recorded',
      ],
      [
        'an op the ledger recorded that no session accounts for',
        { ...r, ledgers: [{ ...ledgerA, recorded: ledgerA.records.length + 1 }, ledgerB] },
        'every ledger operation belongs to a transfer',
      ],
      [
        'a committed run whose assign never took effect',
        {
          ...r,
          ledgers: [
            ledgerA,
            {
              ...ledgerB,
              records: ledgerB.records.map((x) => (x.receipt.kind === 'assign' ? { ...x, applied: 0 } : x)),
            },
          ],
        },
        'committed: lock, burn, mint and assign all applied',
      ],
      [
        'a dispute in a chain',
        replaceChain(
          r,
          origin,
          withEntries(origin, [
            ...origin.entries.slice(0, -1),
            { ...origin.entries.at(-2)!, payload: { kind: 'dispute', detail: 'two chains' } },
            origin.entries.at(-1)!,
          ]),
        ),
        'no dispute without tampering',
      ],
      [
        'a message acted on twice',
        (() => {
          const ack = origin.entries.find((e) => e.operation === 'ack')!;
          return replaceChain(r, origin, withEntries(origin, [ack, ...origin.entries]));
        })(),
        'no message acted on twice',
      ],
      [
        'outcomes that differ',
        replaceChain(
          r,
          destination,
          withEntries(destination, [
            ...destination.entries.slice(0, -1),
            {
              ...destination.entries.at(-1)!,
              payload: { ...(destination.entries.at(-1)!.payload as object), outcome: 'rolled-back' },
            },
          ]),
        ),
        'outcomes agree',
      ],
      [
        "a chain of a session that is not the run's",
        { ...r, chains: [...r.chains, { ...origin, sessionId: 's-other', logId: 's-other/gw-origin' }] },
        'every chain belongs to a transfer',
      ],
    ];
    // A copy of the origin's chain at the destination, as recovery brings one: a prefix is fine, a changed entry
    // is not.
    const copy: ChainView = { ...origin, holder: r.transfer.destination.gateway, entries: origin.entries.slice(0, 3) };
    expect(named({ ...r, chains: [...r.chains, copy] })).toEqual([]);
    const changed = { ...copy.entries[1]!, actionResponse: 'changed' } as LogEntry;
    cases.push([
      "a copy that is not a prefix of its author's chain",
      { ...r, chains: [...r.chains, withEntries(copy, [copy.entries[0]!, changed, copy.entries[2]!])] },
      "a copy of the peer's chain is a prefix of it",
    ]);
    for (const [what, broken, invariant] of cases) expect(named(broken), what).toContain(invariant);
    // Seen by a harness whose ledgers hold other sessions too, a foreign chain is no break; a ledger that says it
    // recorded more ops than it shows still is.
    const open = { agreement: 'exact', closedWorld: false } as const;
    const byName = (what: string) => cases.find((c) => c[0] === what)![1];
    expect(named(byName("a chain of a session that is not the run's"), open)).toEqual([]);
    expect(named(byName('an op the ledger recorded that no session accounts for'), open)).toEqual([
      'every ledger operation belongs to a transfer',
    ]);
  });

  it("'moved' agreement accepts a rejection against a rollback, 'exact' does not", async () => {
    const r = await committedRun();
    const o = own(r, r.transfer.origin.gateway);
    const d = own(r, r.transfer.destination.gateway);
    const ending = (c: ChainView, outcome: string) =>
      withEntries(c, [...c.entries.slice(0, -1), { ...c.entries.at(-1)!, payload: { kind: 'end', outcome } }]);
    const run = replaceChain(replaceChain(r, o, ending(o, 'rolled-back')), d, ending(d, 'rejected'));
    expect(named(run)).toContain('outcomes agree');
    expect(named(run, { agreement: 'moved', closedWorld: true })).not.toContain('outcomes agree');
  });
});
