// startGateway's wrapStore (gateway/start.ts) with the notary of storage/notarized.ts: two gateways built by the
// embedding call move an asset with every append of both logs notarized on an anvil chain before its effects run,
// and the chain then holds, entry for entry, the hashes the two stores hold (recovery-04 §3.3, the ledger as notary).
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIdOf } from '../../kernel/entry.ts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { deployNotary } from '../../ledgers/evm/deploy.ts';
import { EvmNotary } from '../../ledgers/evm/notary.ts';
import { notarizedStore } from '../../storage/notarized.ts';
import { embeddedWorld, transferOf } from '../support/embedded-pair.ts';
import { DESTINATION, ORIGIN } from '../support/satp-pair.ts';

let anvil: Anvil;
const notaries: Record<string, EvmNotary> = {};

beforeAll(async () => {
  anvil = await startAnvil();
  const endpoint = { url: anvil.url, chainId: anvil.chainId };
  const keys = { [ORIGIN.id]: ANVIL_KEYS[1], [DESTINATION.id]: ANVIL_KEYS[2] };
  const writers = Object.values(keys).map((k) => privateKeyToAccount(k).address);
  const { address: contract } = await deployNotary(endpoint, ANVIL_KEYS[0], writers);
  for (const [gw, privateKey] of Object.entries(keys))
    notaries[gw] = await EvmNotary.connect({ endpoint, contract, privateKey });
}, 60_000);
afterAll(async () => {
  await anvil?.stop();
});

describe('startGateway with a notarized log store', () => {
  it('commits a transfer, and the chain holds the hash of every entry of both logs', async () => {
    const w = embeddedWorld();
    const notarized = (gw: string) => ({
      wrapStore: (s: Parameters<typeof notarizedStore>[0]) => notarizedStore(s, notaries[gw]!, { mode: 'hashes' }),
    });
    const origin = await w.start(ORIGIN, notarized(ORIGIN.id));
    const destination = await w.start(DESTINATION, notarized(DESTINATION.id));
    const request = transferOf('s-notary')(0);
    expect(await origin.transfer(request)).toEqual({ accepted: true });
    expect(await w.runUntilEnded(origin, request.sessionId)).toBe('committed');
    expect(await destination.whenEnded(request.sessionId)).toBe('committed');
    for (const [gw, running] of [
      [ORIGIN.id, origin],
      [DESTINATION.id, destination],
    ] as const) {
      const logId = logIdOf(request.sessionId, gw);
      const { entries } = await running.store.readPage(logId, 1, 1_000);
      expect(entries.length).toBeGreaterThan(5);
      expect(await notaries[gw]!.head(logId)).toBe(entries.length + 1);
      const onChain = await notaries[gw]!.hashRange(logId, 1, entries.length);
      expect(onChain).toEqual(entries.map((e) => e.entryHash));
    }
    await Promise.all([origin.close(), destination.close()]);
  }, 120_000);

  it('publishes at boot what a crash left unpublished in an open log, before the gateway resumes it', async () => {
    const w = embeddedWorld();
    const request = transferOf('s-notary-boot')(1);
    const logId = logIdOf(request.sessionId, ORIGIN.id);
    // The origin starts a transfer on a store without the notary (as a crash between an append and its publication
    // leaves it), its peer down, so the session stays open; then it crashes.
    const first = await w.start(ORIGIN);
    expect(await first.transfer(request)).toEqual({ accepted: true });
    const { entries } = await first.store.readPage(logId, 1, 1_000);
    expect(entries.length).toBeGreaterThan(0);
    await w.crash(ORIGIN);
    expect(await notaries[ORIGIN.id]!.head(logId)).toBe(1);
    // Started again with the notary: the catch-up comes before boot, and publishes the log as the store holds it.
    const said: string[] = [];
    const logger = {
      info: (message: string, fields: Record<string, unknown>) => said.push(`${message} ${fields.logs ?? ''}`),
    };
    const again = await w.start(ORIGIN, {
      logger,
      wrapStore: (s) => notarizedStore(s, notaries[ORIGIN.id]!, { mode: 'hashes' }),
    });
    expect(said.filter((m) => /^(notary|gateway booted)/.test(m))).toEqual(['notary caught up 1', 'gateway booted ']);
    expect(await notaries[ORIGIN.id]!.hashRange(logId, 1, entries.length)).toEqual(entries.map((e) => e.entryHash));
    await again.close();
  }, 120_000);
});
