// The decentralized log storage of docs/decentralized-log.md as a gateway process runs it (--notary): two gateway
// processes on two anvil chains, their logs notarized (mode hashes) on a third. The origin is SIGKILLed right after
// it logs a step, which is after that append landed in its LevelDB and before its publication (the notarized store
// publishes what its inner store wrote): the chain is then behind the log. Restarted, the origin publishes the rest
// (at boot, or at the latest with its next append; test/integration/notarized-gateway.test.ts holds boot to it); the
// transfer commits, and the chain holds, entry for entry, the hashes of both logs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logIdOf } from '../../kernel/entry.ts';
import { EvmNotary } from '../../ledgers/evm/notary.ts';
import { LevelDriver } from '../../storage/level.ts';
import { type Bundle, bundleGateway } from '../support/gateway-bundle.ts';
import { Cluster } from '../support/gateway-cluster.ts';
import { readOwnChain, type TransferSpec } from '../support/gateway-invariants.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
const FLAGS = ['--retransmit-ms', '400', '--deadline-grace-ms', '500', '--burn-margin-ms', '300'];
/** A step the origin logs mid-transfer (3.4: the lock is in place): the crash point. */
const CRASH_AFTER = '3.4';

describe(`gateway processes (${runtime}) with --notary: every append published on a chain`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satp-notary-processes-'));
  let cluster: Cluster | undefined;
  let bundle: Bundle | undefined;

  afterAll(async () => {
    await cluster?.destroy();
    bundle?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a crash between an append and its publication is published at restart; the chain matches both logs', async () => {
    if (runtime === 'node') bundle = await bundleGateway();
    const spec: TransferSpec = { sessionId: 'n-1', assetId: 'asset-n', originator: 'alice', beneficiary: 'bob' };
    cluster = await Cluster.start({
      dir,
      runtime,
      ledgers: 'evm',
      notary: 'hashes',
      assets: [`${spec.assetId}:${spec.originator}`],
      flags: FLAGS,
      ...(bundle && { bundle: bundle.path }),
    });
    const c = cluster;
    const { origin, destination } = c.members;
    const notary = await EvmNotary.connect({ endpoint: c.notary!.spec.endpoint, contract: c.notary!.spec.contract });
    const logs = { origin: logIdOf(spec.sessionId, origin.id), destination: logIdOf(spec.sessionId, destination.id) };

    // The origin again, this time with the crash point; the transfer starts and the origin dies at 3.4.
    await c.pair.kill('origin');
    await c.pair.launch('origin', { extra: ['--crash-after', CRASH_AFTER] });
    const started = await origin.child!.request({ cmd: 'transfer', ...spec, lockSeconds: 120 });
    expect(started.started, JSON.stringify(started)).toBe(true);
    const exit = await Promise.race([
      origin.child!.exited,
      new Promise<undefined>((resolve) => setTimeout(resolve, 60_000, undefined)),
    ]);
    expect(exit?.signal, `the origin died at ${CRASH_AFTER}`).toBe('SIGKILL');

    // What the crash left: the log holds more than the chain (head() is the next seq the notary expects).
    const stored = await LevelDriver.open(origin.db);
    const storedHead = (await stored.head(logs.origin))?.seq ?? 0;
    await stored.close();
    const before = (await notary.head(logs.origin)) - 1;
    expect(storedHead).toBeGreaterThan(0);
    expect(before, 'the crash came before the last append was published').toBeLessThan(storedHead);

    // Restarted without the crash point: by the time it has booted, the chain has caught up with the log.
    await c.pair.launch('origin');
    expect((await notary.head(logs.origin)) - 1).toBeGreaterThanOrEqual(storedHead);
    for (const m of [origin, destination])
      await m.child!.waitFor(
        (e) => e.event === 'outcome' && e.session === spec.sessionId,
        60_000,
        `${m.id}: the transfer's outcome`,
      );
    const result = await c.stopAndCheck([spec]);
    expect(result.clean, 'both gateways exited 0').toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.committed).toBe(1);
    // Entry for entry: the chain holds each log's hashes, no more and no fewer.
    for (const [side, peer, logId] of [
      [origin, destination, logs.origin],
      [destination, origin, logs.destination],
    ] as const) {
      const entries = await readOwnChain(side, peer, spec.sessionId);
      expect(await notary.head(logId), logId).toBe(entries.length + 1);
      expect(await notary.hashRange(logId, 1, entries.length)).toEqual(entries.map((e) => e.entryHash));
    }
    console.log(
      `notary processes (${runtime}): origin killed at ${CRASH_AFTER} with ${storedHead} entries logged and ` +
        `${before} notarized; committed, both logs notarized entry for entry`,
    );
  }, 180_000);
});
