// A real two-gateway recovery (recovery-04 §5.4.2) with both gateways' logs notarized on an anvil chain
// (storage/notarized.ts, ledgers/evm/notary.ts): the origin crashes after sending the lock assertion, the
// destination goes on, the origin restarts and its RECOVER-UPDATE copy of the destination's chain passes through
// its notarized store. Honest: the transfer commits and the chain holds both logs as the stores do. Equivocating
// destination (its stored history re-signed after it was notarized): the origin refuses the RECOVER-UPDATE
// entries against the notarized hashes, stores none of them, and the session is disputed for an operator.
import { rewriteHistory } from '../support/rewrite-history.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { deployNotary } from '../../ledgers/evm/deploy.ts';
import { EvmNotary } from '../../ledgers/evm/notary.ts';
import { notarizedStore } from '../../storage/notarized.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';
import {
  checkInvariants,
  DESTINATION,
  makePair,
  ORIGIN,
  outcomes,
  type Pair,
  until,
  crashOriginAfterSending,
} from '../support/satp-pair.ts';

const [ADMIN, ORIGIN_KEY, DESTINATION_KEY] = ANVIL_KEYS;
let anvil: Anvil;
let notaries: Record<'origin' | 'destination', EvmNotary>;

beforeAll(async () => {
  anvil = await startAnvil();
  const endpoint = { url: anvil.url, chainId: anvil.chainId };
  const writers = [ORIGIN_KEY, DESTINATION_KEY].map((k) => privateKeyToAccount(k).address);
  const { address: contract } = await deployNotary(endpoint, ADMIN, writers);
  notaries = {
    origin: await EvmNotary.connect({ endpoint, contract, privateKey: ORIGIN_KEY }),
    destination: await EvmNotary.connect({ endpoint, contract, privateKey: DESTINATION_KEY }),
  };
});
afterAll(async () => {
  await anvil?.stop();
});

/** Both gateways see their stores through notarizedStore, each publishing with its own writer account. */
const notarizedPair = (mode: 'hashes' | 'entries', honest = { origin: true, destination: true }) =>
  makePair({ wrapStore: (who, store) => (honest[who] ? notarizedStore(store, notaries[who], { mode }) : store) });

/** The origin down after its lock assertion, the destination answered meanwhile: the §5.4.2 setting. */
async function originDownAfterLockAssertion(pair: Pair, sessionId: string) {
  const down = crashOriginAfterSending(pair, 'lock-assert-msg');
  await pair.origin.gw.startTransfer(pair.request(sessionId));
  await until(
    pair,
    () =>
      !!down() &&
      Object.values(pair.destination.gw.session(sessionId)?.sent ?? {}).some((t) =>
        t.endsWith('assertion-receipt-msg'),
      ),
    30,
  );
  return down()!;
}

describe.each(['hashes', 'entries'] as const)('two-gateway recovery over notarized logs, mode %s', (mode) => {
  it('§5.4.2 honest: RECOVER-UPDATE passes the notary, the transfer commits, the chain holds both logs', async () => {
    const pair = await notarizedPair(mode);
    const sessionId = `s-notary-${mode}`;
    const down = await originDownAfterLockAssertion(pair, sessionId);
    await pair.clock.advance(5_000);
    await down.restart();
    await until(
      pair,
      () => !!outcomeOf(pair.origin.gw.session(sessionId)) && !!outcomeOf(pair.destination.gw.session(sessionId)),
      60,
    );
    expect(await outcomes(pair, sessionId)).toEqual(['committed', 'committed']);
    await checkInvariants(pair, sessionId);
    // Each gateway's own log is on the chain as its store holds it; the origin's copy of the destination's log
    // (brought by RECOVER-UPDATE) is a prefix of the notarized one.
    for (const [who, id] of [
      ['origin', ORIGIN.id],
      ['destination', DESTINATION.id],
    ] as const) {
      const stored = await pair[who].store.getLog(`${sessionId}/${id}`);
      expect(await notaries.origin.hashRange(`${sessionId}/${id}`, 1, 1000)).toEqual(stored.map((e) => e.entryHash));
    }
    const copy = await pair.origin.store.getLog(`${sessionId}/${DESTINATION.id}`);
    expect(copy.length).toBeGreaterThan(0);
    const notarized = await notaries.origin.hashRange(`${sessionId}/${DESTINATION.id}`, 1, copy.length);
    expect(copy.map((e) => e.entryHash)).toEqual(notarized);
  });

  it('§5.4.2 equivocating destination: its re-signed history is refused by the notarized hashes', async () => {
    const honest = { origin: true, destination: true };
    const pair = await notarizedPair(mode, honest);
    const sessionId = `s-notary-eq-${mode}`;
    const logId = `${sessionId}/${DESTINATION.id}`;
    const down = await originDownAfterLockAssertion(pair, sessionId);
    // What the origin holds of the destination's log before the crash.
    const known = (await pair.origin.store.getHead(logId))?.seq ?? 0;
    const notarizedBefore = await notaries.origin.hashRange(logId, 1, 1000);
    expect(notarizedBefore.length).toBeGreaterThan(known);
    // The destination rewrites its history past what the origin knows, and from now on writes it without the
    // notary (its own wrapper would refuse to publish the fork): every entry re-signed with its own key, so the
    // rewritten chain verifies by signatures.
    honest.destination = false;
    pair.drop = () => true;
    await rewriteHistory(pair.destination.store.driver, logId, known + 1, DESTINATION.signer);
    pair.destination.gw.close();
    await pair.restart('destination');
    pair.drop = () => false;
    await down.restart();
    await until(pair, () => pair.origin.gw.session(sessionId)?.status.kind === 'disputed', 30, 'origin disputed');
    // The origin stored none of the rewritten entries: its copy is still what it knew, and matches the chain.
    const copy = await pair.origin.store.getLog(logId);
    expect(copy.length).toBe(known);
    expect(copy.map((e) => e.entryHash)).toEqual(notarizedBefore.slice(0, known));
    expect(pair.origin.reports.some((r) => r.report.kind === 'needs-operator' && /dispute/.test(r.report.detail))).toBe(
      true,
    );
    // The notary still holds the destination's original history: a slot is never rewritten.
    expect(await notaries.origin.hashRange(logId, 1, 1000)).toEqual(notarizedBefore);
  });
});
