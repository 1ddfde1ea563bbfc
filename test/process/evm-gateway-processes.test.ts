// Issue 13: gateway processes in front of two real EVM chains (anvil from npm, the SatpAsset contract), broken two
// ways. First the SIGKILL storm of test/support/sigkill-storm.ts, 30+ kills under Node (SATP_EVM_KILLS sets more):
// every asset ends on exactly one chain with the right owner, read from the contracts. Then the chains themselves:
// both anvils are stopped in the middle of transfers and started again on their saved state (--dump-state,
// --load-state); the gateways wait, settle the calls whose outcome they never saw by operation id, and finish.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Anvil, restartAnvil } from '../../ledgers/evm/anvil.ts';
import { type Bundle, bundleGateway } from '../support/gateway-bundle.ts';
import { Cluster } from '../support/gateway-cluster.ts';
import type { TransferSpec } from '../support/gateway-invariants.ts';
import { describeSigkillStorm } from '../support/sigkill-storm.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';

describeSigkillStorm({
  ledgers: 'evm',
  kills: Number(process.env.SATP_EVM_KILLS ?? (runtime === 'deno' ? 6 : 30)),
  expectRollbacks: false,
});

const TRANSFERS = 6;
/** Longer than a chain's downtime plus EvmLedger's receipt wait (60 s), with room to settle. */
const LOCK_SECONDS = 180;
const FLAGS = ['--retransmit-ms', '400', '--deadline-grace-ms', '500', '--burn-margin-ms', '300'];

describe(`gateway processes (${runtime}) while both anvil chains stop and restart on their saved state`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satp-evm-restart-'));
  let cluster: Cluster | undefined;
  let bundle: Bundle | undefined;
  const restarted: Anvil[] = [];

  afterAll(async () => {
    await cluster?.destroy();
    await Promise.allSettled(restarted.map((a) => a.stop('SIGKILL')));
    bundle?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the gateways wait for the chains, settle unknown outcomes by op id, and every transfer commits', async () => {
    if (runtime === 'node') bundle = await bundleGateway();
    const specs: TransferSpec[] = Array.from({ length: TRANSFERS }, (_, i) => ({
      sessionId: `r-${i}`,
      assetId: `asset-${i}`,
      originator: `owner-${i}`,
      beneficiary: `beneficiary-${i}`,
    }));
    cluster = await Cluster.start({
      dir,
      runtime,
      ledgers: 'evm',
      assets: specs.map((s) => `${s.assetId}:${s.originator}`),
      flags: FLAGS,
      ...(bundle && { bundle: bundle.path }),
    });
    const c = cluster;
    const { origin, destination } = c.members;
    // Chain B stops first (SIGTERM: anvil writes its state and exits), so every transfer finds it down at its mint;
    // once the destination has seen that (an event, not a wait), chain A stops too, with the transfers locked on it.
    await c.ledgers.destination.anvil!.stop();
    const before = destination.child!.events.length;
    // Long locks: the chains' downtime must not push any transfer past its deadline. Nor may a transaction that a
    // stopping chain accepted and then lost with its mempool (Anvil.stop turns mining off before anvil writes its
    // state): the gateway notices only when its receipt wait ends (EvmLedger's 60 s), then settles the op by id. A
    // 60 s lock once expired that way, in a run that took 63 s, and the transfers rolled back (safely).
    for (const s of specs) {
      const r = await origin.child!.request({ cmd: 'transfer', ...s, lockSeconds: LOCK_SECONDS });
      expect(r.started, JSON.stringify(r)).toBe(true);
    }
    await destination.child!.waitFor(
      (e) => e.event === 'ledger' && e.failed !== undefined,
      30_000,
      'a mint on the stopped chain B',
      before,
    );
    await c.ledgers.origin.anvil!.stop();
    for (const role of ['origin', 'destination'] as const) {
      const again = await restartAnvil(c.ledgers[role].anvil!);
      restarted.push(again);
    }
    // Settle: until neither gateway holds an open session (bounded in rounds and time).
    const settleBy = Date.now() + 120_000;
    let open = '';
    for (let round = 0; round < 200 && Date.now() < settleBy; round++) {
      const [so, sd] = await Promise.all([
        origin.child!.request({ cmd: 'status' }),
        destination.child!.request({ cmd: 'status' }),
      ]);
      open = `origin ${JSON.stringify(so.open)}, destination ${JSON.stringify(sd.open)}`;
      if ((so.open as string[]).length === 0 && (sd.open as string[]).length === 0) break;
      const from = [origin, destination].map((m) => m.child!.events.length);
      await Promise.race(
        [origin, destination].map((m, i) =>
          m.child!.waitFor((e) => e.event === 'outcome', 2_000, 'an outcome', from[i]),
        ),
      ).catch(() => undefined);
    }
    const history = [...origin.history, ...destination.history];
    const failed = history.filter((e) => e.event === 'ledger' && e.failed !== undefined).length;
    const settledByStatus = history.filter((e) => e.event === 'ledger' && e.call === 'status').length;
    const result = await c.stopAndCheck(specs);
    expect(result.clean, 'both gateways exited 0').toBe(true);
    console.log(
      `anvil restart: ${TRANSFERS} transfers, ${failed} ledger calls failed while the chains were down, ` +
        `${settledByStatus} settled by op id (status); ${result.committed} committed; still open at the end: ${open}`,
    );
    for (const e of history.filter((x) => x.event === 'outcome' && x.outcome !== 'committed'))
      console.log(`not committed: ${JSON.stringify(e)}`);
    expect(result.problems).toEqual([]);
    expect(failed, 'some ledger calls met a stopped chain').toBeGreaterThan(0);
    expect(result.committed, `every transfer committed (${open})`).toBe(TRANSFERS);
  }, 300_000);
});
