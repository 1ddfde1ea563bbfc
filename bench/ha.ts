// Part 6: primary-backup over PostgreSQL (docs/high-availability.md). The takeover: from the primary's death to
// the backup's RECOVER-SUCCESS for every open session, held against the lease's ttl (the failure detector's
// timeout, which no takeover can beat). And transfers per second with PostgreSQL logs, against LevelDB logs and
// against the bound PostgreSQL's own commits set. The cluster is a throwaway one (initdb, 127.0.0.1, a port chosen
// at run time), as the tests start.
import { holdLease, type Lease, type LeaseHolder } from '../gateway/ha.ts';
import { realClock } from '../gateway/clock.ts';
import { x5cOf } from '../identity/x509.ts';
import { generateWebCryptoSigner } from '../kernel/crypto/webcrypto.ts';
import { EMPTY_HEAD } from '../kernel/entry.ts';
import { LogStore } from '../storage/log-store.ts';
import { MemoryDriver } from '../storage/memory.ts';
import { PostgresDriver } from '../storage/postgres.ts';
import { ownerPki } from '../test/support/owner-pki.ts';
import { startPostgres } from '../test/support/postgres-cluster.ts';
import { Counts, DESTINATION_ID, identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { now } from './lib/measure.ts';
import {
  dialOrigin,
  ledgers,
  serveDestination,
  transferRequest,
  Trouble,
  usePostgres,
  within,
  wireGateway,
} from './lib/pair.ts';
import { check, type Results } from './lib/report.ts';
import { sampleBody } from './lib/sample-entry.ts';
import { sealEntry, sealedText } from '../kernel/seal.ts';
import { boundOf, runTransfers } from './transfers.ts';

const TTL_MS = 1_000;

export async function ha(results: Results, limits: Limits, quick: boolean, say: (line: string) => void) {
  const cluster = await startPostgres();
  usePostgres(cluster.url);
  try {
    const pg = await commitLimits(cluster.url, quick);
    results.rate('ha', 'PostgreSQL append, 1 entry per commit, sequential', pg.one, undefined, '', {
      note: `${pg.chars} B entries`,
    });
    results.rate('ha', 'PostgreSQL append, 64 entries per commit (entries)', pg.batch, undefined, '');
    const plan: [number, number][] = quick
      ? [
          [1, 10],
          [16, 48],
        ]
      : [
          [1, 100],
          [16, 480],
        ];
    for (const [concurrency, count] of plan) {
      const onPg = await runTransfers('postgres', concurrency, count);
      const onLevel = await runTransfers('level', concurrency, count);
      // The transfers part's bound, with PostgreSQL's commits in place of LevelDB's synced puts.
      const bound = boundOf({ ...onPg, store: 'level' }, { ...limits, levelSync1: pg.one, levelSync64: pg.batch });
      results.rate(
        'ha',
        `transfers, PostgreSQL log, ${concurrency} session${concurrency > 1 ? 's' : ''} (${count} transfers)`,
        onPg.perSecond,
        bound.perSecond,
        bound.is.replace('synced puts', 'PostgreSQL commits').replace('synced batches', 'commits'),
        { note: `p50 ${onPg.p50.toFixed(1)} ms, p99 ${onPg.p99.toFixed(1)} ms` },
      );
      results.add({
        section: 'ha',
        name: `transfers/s at ${concurrency} session${concurrency > 1 ? 's' : ''}, PostgreSQL log vs LevelDB log`,
        value: onPg.perSecond,
        unit: '/s',
        bound: onLevel.perSecond,
        boundIs: 'LevelDB log, same run',
        ratio: onPg.perSecond / onLevel.perSecond,
        ratioAs: '×',
      });
      const rates = `PostgreSQL ${onPg.perSecond.toFixed(1)}/s, LevelDB ${onLevel.perSecond.toFixed(1)}/s`;
      say(`  ha: ${concurrency} sessions: ${rates}`);
    }
    for (const open of quick ? [4] : [1, 16]) {
      const t = await takeover(cluster.url, open);
      results.time('ha', `primary death → lease taken by the backup (${open} open)`, t.leaseMs, TTL_MS, 'lease ttl');
      results.time(
        'ha',
        `primary death → backup's RECOVER-SUCCESS for all ${open} open session${open > 1 ? 's' : ''}`,
        t.successMs,
        TTL_MS,
        'lease ttl',
        { note: `takeover entries and RECOVERs ${t.takeoverMs.toFixed(0)} ms after the lease` },
      );
      say(`  ha: takeover of ${open}: lease ${t.leaseMs.toFixed(0)} ms, RECOVER-SUCCESS ${t.successMs.toFixed(0)} ms`);
    }
  } finally {
    usePostgres(undefined);
    await cluster.stop();
  }
}

/** How fast PostgreSQL commits an append of one entry, and of 64 (the store's own conditional append). */
async function commitLimits(url: string, quick: boolean): Promise<{ one: number; batch: number; chars: number }> {
  const d = await PostgresDriver.open(url, { schema: 'bench_limits' });
  try {
    const id = await identities();
    const text = sealedText(await sealEntry(sampleBody(id.origin, id.destination), id.origin))!;
    const hash = (i: number) => i.toString(16).padStart(64, '0');
    const n = quick ? 50 : 400;
    let head = { seq: EMPTY_HEAD.seq, hash: EMPTY_HEAD.hash };
    let t = now();
    for (let i = 1; i <= n; i++) {
      await d.append('limit-1/gw', head, [text], { seq: i, hash: hash(i), open: true });
      head = { seq: i, hash: hash(i) };
    }
    const one = n / ((now() - t) / 1000);
    const batches = quick ? 10 : 60;
    const texts = Array.from({ length: 64 }, () => text);
    head = { seq: EMPTY_HEAD.seq, hash: EMPTY_HEAD.hash };
    t = now();
    for (let b = 1; b <= batches; b++) {
      const seq = b * 64;
      await d.append('limit-64/gw', head, texts, { seq, hash: hash(seq), open: true });
      head = { seq, hash: hash(seq) };
    }
    const batch = (batches * 64) / ((now() - t) / 1000);
    return { one, batch, chars: text.length };
  } finally {
    await d.close();
  }
}

/**
 * A primary holds gw-origin's lease and starts `open` transfers, which the destination does not answer yet; it
 * dies (its gateway and connection gone, its lease no longer renewed). A backup waiting on the lease takes it
 * once it lapses, takes the open sessions over and recovers them with the destination. Times from the death.
 */
async function takeover(
  url: string,
  open: number,
): Promise<{ leaseMs: number; takeoverMs: number; successMs: number }> {
  const id = await identities();
  const counts = new Counts();
  const trouble = new Trouble();
  const backupKey = (await generateWebCryptoSigner()).signer;
  const { certs, authority: successor } = await ownerPki({
    [ORIGIN_ID]: { publicJwk: id.origin.publicJwk, backups: { 'gw-origin-backup-1': backupKey.publicJwk } },
  });
  const backupCert = certs['gw-origin-backup-1']!;
  const schema = `bench_ha_${open}_${Date.now() % 100_000}`;
  const pg = await PostgresDriver.open(url, { schema });
  const store = (epoch: number) =>
    new LogStore(pg.withEpoch(epoch), { keys: id.keys, verifier: id.verifier, successor });
  const { a, b } = ledgers(id, counts, open);
  const server = await serveDestination(id, trouble, { successor });
  const destination = wireGateway({
    id: DESTINATION_ID,
    signer: id.destination,
    store: new LogStore(new MemoryDriver(), { keys: id.keys, verifier: id.verifier, successor }),
    ledger: b,
    peerLedger: a,
    transport: server,
    ids: id,
    counts,
    trouble,
    gateway: { successor },
    // The destination hears nothing from the primary: its sessions stay open at the primary (the proposals wait).
    deliver: () => !primaryAlive,
  });
  let primaryAlive = true;
  const holders: LeaseHolder[] = [];
  const leaseOf = (holder: string) =>
    new Promise<Lease>((resolve) =>
      holders.push(
        holdLease({
          leases: pg,
          gateway: ORIGIN_ID,
          holder,
          ttlMs: TTL_MS,
          renewMs: TTL_MS / 10,
          clock: realClock,
          onAcquired: resolve,
          onLost: (why) => trouble.add(`${holder} lost its lease: ${why}`),
        }),
      ),
    );
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const first = await leaseOf(ORIGIN_ID);
    const primaryLease = holders[0]!;
    const client = await dialOrigin(id, server.url, trouble);
    const primary = wireGateway({
      id: ORIGIN_ID,
      signer: id.origin,
      store: store(first.epoch),
      ledger: a,
      transport: client,
      ids: id,
      counts,
      trouble,
    });
    const sids = Array.from({ length: open }, (_, i) => `ha-${open}-${i}`);
    for (const [i, sid] of sids.entries()) {
      const r = await primary.gw.startTransfer(transferRequest(sid, `asset-${i}`));
      check(r.accepted, `transfer ${sid} started`);
    }
    const backupLease = leaseOf('gw-origin-backup-1'); // the standby, waiting on the lease
    // The death: the primary stops at once; its lease lapses TTL_MS after its last renewal.
    const died = now();
    primaryLease.stop();
    primary.gw.close();
    primary.detach();
    await client.close();
    primaryAlive = false;
    const taken = await within(30_000, 'the backup takes the lease', backupLease);
    const leaseMs = now() - died;
    const backupClient = await dialOrigin(id, server.url, trouble, {
      signer: backupKey,
      certificate: x5cOf(backupCert),
    });
    closers.push(() => backupClient.close());
    let allSynced: () => void = () => {};
    const done = new Promise<void>((resolve) => (allSynced = resolve));
    const backup = wireGateway({
      id: ORIGIN_ID,
      signer: backupKey,
      store: store(taken.epoch),
      ledger: a,
      transport: backupClient,
      ids: id,
      counts,
      trouble,
      gateway: { successor, certificate: x5cOf(backupCert) },
      // After each message it processed: once every session is synced (its RECOVER-SUCCESS came), the time is up.
      afterReceive: () => {
        if (sids.every((s) => backup.gw.session(s)?.recovery?.status === 'synced')) allSynced();
      },
    });
    closers.push(() => backup.gw.close());
    const took = await backup.gw.takeOver({
      backup: 'gw-origin-backup-1',
      certificate: x5cOf(backupCert),
      epoch: taken.epoch,
    });
    const takeoverMs = now() - died - leaseMs;
    check(took === open, `the backup took over ${took} of ${open} open sessions`);
    await within(30_000, 'RECOVER-SUCCESS for every session', done);
    const successMs = now() - died;
    trouble.check('takeover');
    closers.push(
      () => destination.gw.close(),
      () => server.close(),
    );
    return { leaseMs, takeoverMs, successMs };
  } finally {
    for (const h of holders) h.stop();
    for (const c of closers.reverse()) await c();
    await pg.close();
  }
}
