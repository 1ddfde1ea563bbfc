// Named after a bug found by test/process/evm-gateway-processes.test.ts: a chain that could not be read was taken as
// a proof that does not hold. The destination, unable to reach the origin's chain to check the lock receipt, refused
// the lock assertion as a bad signature, and both sides rolled back a transfer that nothing was wrong with. A proof
// that cannot be checked now is neither accepted nor refused: the step waits and is tried again.
import { describe, expect, it } from 'vitest';
import type { Report } from '../../kernel/satp/effects.ts';
import { embeddedWorld, transferOf } from '../support/embedded-pair.ts';
import { fakeChain } from '../support/fake-chain.ts';
import { DESTINATION, ORIGIN } from '../support/satp-pair.ts';

describe('a chain that cannot be read is not a proof that fails', () => {
  it('the destination waits for the origin chain to come back, then the transfer commits', async () => {
    const w = embeddedWorld();
    const [a, b] = [fakeChain(w.ledgerA), fakeChain(w.ledgerB)];
    const views = { originA: a.view(), originB: b.view(), destA: a.view(), destB: b.view() };
    const reports: { gw: string; report: Report }[] = [];
    const onReport = (gw: string) => (_s: string, report: Report) => reports.push({ gw, report });
    const origin = await w.start(ORIGIN, {
      ledger: a.ledger,
      ledgerKey: undefined,
      ledgerChecker: views.originA.checker,
      peers: {
        [DESTINATION.id]: { publicJwk: DESTINATION.jwk, networkId: 'ledger-b', ledgerChecker: views.originB.checker },
      },
      onReport: onReport(ORIGIN.id),
    });
    const destination = await w.start(DESTINATION, {
      ledger: b.ledger,
      ledgerKey: undefined,
      ledgerChecker: views.destB.checker,
      peers: {
        [ORIGIN.id]: {
          publicJwk: ORIGIN.jwk,
          networkId: 'ledger-a',
          ledgerChecker: views.destA.checker,
          ledger: a.ledger,
        },
      },
      onReport: onReport(DESTINATION.id),
    });
    // The destination cannot read chain A: it cannot check the origin's lock receipt.
    views.destA.setDown(true);
    const request = transferOf('s-chain-down')(0);
    expect(await origin.transfer(request)).toEqual({ accepted: true });
    for (let step = 0; step < 100 && views.destA.refusedChecks() < 3; step++) await w.clock.advance(100);
    expect(views.destA.refusedChecks()).toBeGreaterThanOrEqual(3);
    // Nothing was refused or rolled back meanwhile: both sessions run, and the asset is locked on chain A.
    expect(origin.gateway.session(request.sessionId)?.status.kind).toBe('running');
    expect(reports.filter((r) => r.report.kind === 'refused' || r.report.kind === 'ended')).toEqual([]);
    expect(reports.some((r) => r.gw === DESTINATION.id && r.report.kind === 'ignored')).toBe(true);
    expect((await w.ledgerA.asset('asset-0'))?.state).toBe('locked');
    // Chain A readable again: the same message, retried, is checked and the transfer goes through.
    views.destA.setDown(false);
    expect(await w.runUntilEnded(origin, request.sessionId)).toBe('committed');
    expect(await destination.whenEnded(request.sessionId)).toBe('committed');
    expect(await w.ledgerB.asset('asset-0')).toMatchObject({ state: 'active', owner: 'bob' });
    await Promise.all([origin.close(), destination.close()]);
  });
});
