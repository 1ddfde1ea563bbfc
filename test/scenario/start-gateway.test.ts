// The embedding call (gateway/start.ts): two gateways built by startGateway from a key, a store, a transport, a
// ledger and a clock move an asset; one is crashed mid-transfer and started again on the same store, and its
// boot-time recovery finishes the transfer. The logger and metrics hooks see what happened.
import { describe, expect, it } from 'vitest';
import { embeddedWorld, transferOf } from '../support/embedded-pair.ts';
import type { RunningGateway, StartGatewayOptions } from '../../gateway/start.ts';
import { x5cOf } from '../../identity/x509.ts';
import { ownerPki } from '../support/owner-pki.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { logIdOf } from '../../kernel/entry.ts';
import { takeoverOf } from '../../kernel/takeover.ts';
import { DESTINATION, ORIGIN } from '../support/satp-pair.ts';

const request = transferOf('s-embed');

/** The embedded pair, each start with a logger and a metrics counter this test reads. */
function world() {
  const w = embeddedWorld();
  const counts = new Map<string, number>();
  const lines: string[] = [];
  const start = (me: typeof ORIGIN, extra: Partial<StartGatewayOptions> = {}): Promise<RunningGateway> =>
    w.start(me, {
      logger: { info: (message, fields) => lines.push(`${fields.gateway} ${message}`) },
      metrics: {
        count: (name, labels, by = 1) => {
          const key = `${name}${labels.outcome ? `{${labels.outcome}}` : ''}`;
          counts.set(key, (counts.get(key) ?? 0) + by);
        },
      },
      ...extra,
    });
  return { ...w, counts, lines, start };
}

describe('startGateway, the embedding call', () => {
  it('builds two gateways that move an asset, with the logger and the metrics told', async () => {
    const w = world();
    const origin = await w.start(ORIGIN);
    const destination = await w.start(DESTINATION);
    expect([origin.recovered, destination.recovered]).toEqual([0, 0]);
    expect(await origin.transfer(request(0))).toEqual({ accepted: true });
    expect(await w.runUntilEnded(origin, 's-embed-0')).toBe('committed');
    expect(await destination.whenEnded('s-embed-0')).toBe('committed');
    expect(await w.ledgerB.asset('asset-0')).toMatchObject({ state: 'active', owner: 'bob' });
    expect((await w.ledgerA.asset('asset-0'))?.state).toBe('burned');
    expect(w.counts.get('satp_sessions_ended_total{committed}')).toBe(2);
    expect(w.counts.get('satp_messages_sent_total')).toBeGreaterThanOrEqual(8);
    expect(w.counts.get('satp_messages_received_total')).toBe(w.counts.get('satp_messages_sent_total'));
    expect(w.lines).toContain('gw-origin gateway booted');
    expect(w.lines).toContain('gw-destination session ended');
    await Promise.all([origin.close(), destination.close()]);
  }, 60_000);

  it('recovers a transfer at boot after a crash: a new gateway on the same store finishes it', async () => {
    const w = world();
    const destination = await w.start(DESTINATION);
    let origin = await w.start(ORIGIN);
    // The destination cannot be reached: the origin logs its first steps and its proposal goes nowhere.
    w.net.setReachable(DESTINATION.id, false);
    expect(await origin.transfer(request(1))).toEqual({ accepted: true });
    await w.clock.advance(10);
    expect(origin.gateway.session('s-embed-1')?.status.kind).not.toBe('ended');
    // The crash: the gateway and every timer and promise of it gone; only its store remains.
    await w.crash(ORIGIN);
    w.net.setReachable(DESTINATION.id, true);
    origin = await w.start(ORIGIN);
    expect(origin.recovered).toBe(1);
    expect(w.counts.get('satp_sessions_recovered_total')).toBe(1);
    for (let step = 0; step < 200 && origin.gateway.session('s-embed-1')?.status.kind !== 'ended'; step++)
      await w.clock.advance(500);
    expect(await origin.whenEnded('s-embed-1')).toBe('committed');
    expect(await destination.whenEnded('s-embed-1')).toBe('committed');
    expect(await w.ledgerB.asset('asset-1')).toMatchObject({ state: 'active', owner: 'bob' });
    for (const ledger of [w.ledgerA, w.ledgerB])
      for (const op of ledger.ops()) expect(op.applied).toBeLessThanOrEqual(1);
    await Promise.all([origin.close(), destination.close()]);
  }, 60_000);

  it("starts a backup in a crashed gateway's place: it takes the open transfer over and finishes it", async () => {
    const w = world();
    const backupKey = (await generateWebCryptoSigner()).signer;
    const { certs, authority: successor } = await ownerPki({
      [ORIGIN.id]: { publicJwk: ORIGIN.jwk, backups: { 'gw-origin-backup-1': backupKey.publicJwk } },
    });
    const backupCert = certs['gw-origin-backup-1']!;
    const destination = await w.start(DESTINATION, { successor });
    w.net.setReachable(DESTINATION.id, false);
    const origin = await w.start(ORIGIN, { successor });
    expect(await origin.transfer(request(1))).toEqual({ accepted: true });
    await w.clock.advance(10);
    await w.crash(ORIGIN);
    w.net.setReachable(DESTINATION.id, true);
    // The backup: its own key, the primary's key for the chains, its certificate, the lease epoch it holds.
    const backup = await w.start(ORIGIN, {
      signer: backupKey,
      primaryKey: ORIGIN.jwk,
      successor,
      takeover: { certificate: x5cOf(backupCert), backup: 'gw-origin-backup-1', epoch: 2 },
    });
    expect(backup.recovered, 'the open transfer was taken over').toBe(1);
    for (let step = 0; step < 200 && backup.gateway.session('s-embed-1')?.status.kind !== 'ended'; step++)
      await w.clock.advance(500);
    expect(await backup.whenEnded('s-embed-1')).toBe('committed');
    expect(await destination.whenEnded('s-embed-1')).toBe('committed');
    expect(await w.ledgerB.asset('asset-1')).toMatchObject({ state: 'active', owner: 'bob' });
    const chain = await backup.store.getLog(logIdOf('s-embed-1', ORIGIN.id));
    expect(chain.filter((e) => takeoverOf(e)).length).toBe(1);
    expect((await backup.store.verifyLog(logIdOf('s-embed-1', ORIGIN.id))).ok).toBe(true);
    await Promise.all([backup.close(), destination.close()]);
  }, 60_000);
});
