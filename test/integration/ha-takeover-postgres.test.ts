// Primary-backup over one PostgreSQL (issue 12; recovery-04 §5.1, §6.1): the origin gateway's log and its lease
// live in a real PostgreSQL cluster. Two holders stand for it, the primary (its own certificate) and a backup
// (a certificate the primary's lists). Whichever acts is stopped for good at a random point of a stream of
// transfers (its gateway closed, its lease no longer renewed, nothing given back); the other takes the lapsed lease
// at the next epoch (gateway/ha.ts), takes the open sessions over (Gateway.takeOver) and finishes them; the stopped
// one comes back as the standby. Then every session must have ended committed or rolled back, every asset be on
// exactly one ledger with the right owner, every chain verify and both gateways' logs agree.
//
// Lease time runs on the wall clock (the database's), the gateways on the simulator's: the test waits for each
// takeover as an event, without moving the gateways' time, so no deadline passes while a lease lapses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdLease, type Lease, type LeaseHolder } from '../../gateway/ha.ts';
import { realClock } from '../../gateway/clock.ts';
import { x5cOf } from '../../identity/x509.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { Signer } from '../../kernel/crypto/types.ts';
import { SatpError } from '../../kernel/errors.ts';
import { logIdOf } from '../../kernel/entry.ts';
import { takeoverOf } from '../../kernel/takeover.ts';
import { LogStore } from '../../storage/log-store.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { webCryptoTestGateway } from '../support/fixtures.ts';
import { startPostgres, type PostgresCluster } from '../support/postgres-cluster.ts';
import { ownerPki } from '../support/owner-pki.ts';
import { mulberry32 } from '../support/prng.ts';
import { checkInvariants, keys, makePair, ORIGIN, type Pair, until } from '../support/satp-pair.ts';

/**
 * Stops of the acting holder: each costs a lease's ttl of real time. test/process/ha-gateway-processes.test.ts kills
 * real processes 50 times; this one, in one process, checks every chain and copy after each run of takeovers.
 */
const KILLS = process.env.SATP_RUNTIME === 'deno' ? 10 : 20;
/**
 * The lease's ttl, and how often it is renewed: a holder counts its lease lost only after 900 ms without a renewal,
 * far more than a loaded machine delays a timer; if it happens anyway, the holder stops, and the other takes over.
 */
const TTL_MS = 1_000;
const RENEW_MS = 100;
const SEED = 1_202_611;
/** Real time the test waits for one takeover at most (a lease lapses in TTL_MS). */
const TAKEOVER_WAIT_MS = 20_000;

let cluster: PostgresCluster;
const drivers: PostgresDriver[] = [];
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  for (const d of drivers) await d.close().catch(() => undefined);
  await cluster?.stop();
}, 60_000);

describe('primary-backup over one PostgreSQL: the active holder stopped for good, again and again', () => {
  it(`${KILLS} stops at random points of a stream of transfers: the other holder takes over each time`, async () => {
    const random = mulberry32(SEED);
    const backupKey = (await generateWebCryptoSigner()).signer;
    const { certs, authority } = await ownerPki({
      [ORIGIN.id]: { publicJwk: ORIGIN.jwk, backups: { 'gw-origin-backup-1': backupKey.publicJwk } },
    });
    const holders: Record<string, { signer: Signer; certificate: string }> = {
      [ORIGIN.id]: { signer: (await webCryptoTestGateway(ORIGIN)).signer, certificate: x5cOf(certs[ORIGIN.id]!) },
      'gw-origin-backup-1': { signer: backupKey, certificate: x5cOf(certs['gw-origin-backup-1']!) },
    };

    const pg = await PostgresDriver.open(cluster.url, { schema: 'ha_stream' });
    drivers.push(pg);
    const storeAt = (epoch: number) =>
      new LogStore(pg.withEpoch(epoch), { keys, verifier: defaultVerifier(), successor: authority });
    const assets = Array.from({ length: 2 * KILLS + 2 }, (_, i) => `asset-${i + 1}`);
    const pair: Pair = await makePair({ assets, successor: authority, stores: { origin: storeAt(0) } });

    // The leases: each holder runs holdLease; the one that gets it acts for gw-origin. Acquisitions queue up, so
    // one that comes unasked (the acting holder lost its lease by itself) is still the next one taken.
    let active: string | undefined;
    const taken: Lease[] = [];
    let wake: (() => void) | undefined;
    const lost: string[] = [];
    let stopActive: (() => void) | undefined;
    const leases: Record<string, LeaseHolder> = {};
    const stand = (name: string) => {
      leases[name] = holdLease({
        leases: pg,
        gateway: ORIGIN.id,
        holder: name,
        ttlMs: TTL_MS,
        renewMs: RENEW_MS,
        clock: realClock,
        onAcquired: (lease) => {
          taken.push(lease);
          wake?.();
        },
        // A holder that cannot be sure of its lease stops acting at once (the store's fence covers the rest).
        onLost: (why) => {
          lost.push(`${name}: ${why}`);
          if (name === active) stopActive?.();
        },
      });
    };
    const nextHolder = async (): Promise<Lease> => {
      const deadline = Date.now() + TAKEOVER_WAIT_MS;
      while (taken.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no holder took the lease in time');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
      return taken.shift()!;
    };

    // The primary takes the lease first and starts acting.
    stand(ORIGIN.id);
    const first = await nextHolder();
    expect(first).toMatchObject({ holder: ORIGIN.id, epoch: 1 });
    active = ORIGIN.id;
    await pair.replace('origin', { ...holders[ORIGIN.id]!, name: ORIGIN.id, epoch: first.epoch }, storeAt(first.epoch));
    stand('gw-origin-backup-1');

    const sessions: string[] = [];
    let nextAsset = 0;
    const epochs: number[] = [first.epoch];
    const stops: string[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // New transfers only while the primary acts: a backup finishes sessions and starts none.
      if (active === ORIGIN.id)
        for (let i = 0; i < 2; i++) {
          const sid = `s-ha-${kill}-${i}`;
          const r = await pair.origin.gw.startTransfer(pair.request(sid, { assetId: assets[nextAsset++]! }));
          expect(r, sid).toEqual({ accepted: true });
          sessions.push(sid);
        }
      // Stop the active holder for good as the n-th message of this round leaves or reaches it (n at random; that
      // message still arrives): its gateway closes, its lease is no longer renewed, nothing is given back.
      const stopped = active!;
      const target = 1 + Math.floor(random() * 12);
      let seen = 0;
      let down = false;
      const before = pair.drop;
      const stop = () => {
        if (down) return;
        down = true;
        leases[stopped]!.stop();
        pair.origin.gw.close();
        pair.drop = (f, t, e) => f === ORIGIN.id || t === ORIGIN.id || before(f, t, e);
      };
      stopActive = stop;
      pair.intercept = (f, t) => {
        if (!down && (f === ORIGIN.id || t === ORIGIN.id) && ++seen === target) stop();
        return undefined;
      };
      await until(pair, () => down, 30, 'the stop').catch(() => undefined);
      if (!down) stop(); // the round went quiet before its n-th message: stop it at rest
      pair.intercept = () => undefined;
      stops.push(seen === target ? `msg ${target}` : 'at rest');
      const next = await nextHolder();
      expect(next.holder, `kill ${kill}: the other holder took over`).not.toBe(stopped);
      expect(next.epoch, 'at the next epoch').toBe(epochs.at(-1)! + 1);
      epochs.push(next.epoch);
      active = next.holder;
      stopActive = undefined;
      pair.drop = before;
      await pair.replace('origin', { ...holders[active]!, name: active, epoch: next.epoch }, storeAt(next.epoch));
      // The stopped holder's store is fenced: whatever it still had in flight cannot land.
      const stale = pg.withEpoch(next.epoch - 1);
      const code = await stale
        .append(logIdOf(`s-fence-${kill}`, ORIGIN.id), { seq: 0, hash: '0'.repeat(64) }, ['{}'], {
          seq: 1,
          hash: 'f'.repeat(64),
          open: true,
        })
        .then(
          () => 'appended',
          (e: unknown) => (e instanceof SatpError ? e.code : String(e)),
        );
      expect(code, `kill ${kill}: the stopped holder's epoch is fenced`).toBe('FENCED');
      stand(stopped); // it comes back as the standby
    }

    // Let everything finish; then check every session.
    const ended = () =>
      sessions.every(
        (sid) =>
          pair.origin.gw.session(sid)?.status.kind === 'ended' &&
          pair.destination.gw.session(sid)?.status.kind === 'ended',
      );
    for (const sid of sessions) void pair.origin.gw.whenEnded(sid);
    await until(pair, ended, 900, 'every session ends');
    for (const h of Object.values(leases)) h.stop();
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < sessions.length; i++) {
      const sid = sessions[i]!;
      const outcome = await checkInvariants(pair, sid, assets[i]!);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    // Takeovers happened in the chains: the shared log holds the backup's and the primary's takeover entries.
    let takeovers = 0;
    for (const sid of sessions)
      takeovers += (await pair.origin.store.getLog(logIdOf(sid, ORIGIN.id))).filter((e) => takeoverOf(e)).length;
    expect(takeovers, 'open sessions were taken over').toBeGreaterThan(0);
    expect(outcomes.committed ?? 0, 'transfers still commit across takeovers').toBeGreaterThan(0);
    console.log(
      `ha stream: ${KILLS} stops (${stops.join(', ')}), epochs ${epochs.join(',')}, ` +
        `outcomes ${JSON.stringify(outcomes)}, ${takeovers} takeover entries, leases lost unasked: ${lost.length}`,
    );
  }, 240_000);
});
