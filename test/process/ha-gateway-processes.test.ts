// Primary-backup with real processes (issue 12; recovery-04 §5.1, §6.1): two gateway processes stand for
// gw-origin over one PostgreSQL, the primary (its own key and certificate) and a backup (its own key, a certificate
// the primary's lists), each run with --lease-ttl-ms: only the lease holder acts. The destination is a third
// process on LevelDB that trusts the owner's CA for gw-origin's backups. During a stream of transfers the acting
// process is SIGKILLed for good at random moments; the other takes the lease at the next epoch and the open
// sessions over (takeover entries, RECOVER with isBackup, its certificate in its handshakes and messages), the
// destination is told its address, and the killed one comes back as the standby. Afterwards every session ended
// committed or rolled back, every asset is on exactly one ledger with the right owner, every chain verifies.
//
// Kill moments come from a seeded PRNG (printed; SATP_HA_SEED=<seed> replays the choices).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayChild, type GatewayEvent } from '../../examples/gateway-child.ts';
import { publicKeyOf } from '../../gateway/keys.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { type Bundle, bundleGateway } from '../support/gateway-bundle.ts';
import { checkInvariants, type TransferSpec } from '../support/gateway-invariants.ts';
import { type LedgerProcess, startLedgerProcess } from '../support/ledger-process.ts';
import { ownerPki } from '../support/owner-pki.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres-cluster.ts';
import { mulberry32 } from '../support/prng.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
const KILLS = Number(process.env.SATP_HA_KILLS ?? (runtime === 'deno' ? 8 : 30));
const SEED = Number(process.env.SATP_HA_SEED ?? Math.floor(Math.random() * 2 ** 32));
const NEW_PER_ROUND = 2;
/** A kill lands uniformly in [0, this) after the acting process booted. */
const MAX_KILL_DELAY_MS = 800;
/**
 * The lease's ttl: a process counts its lease lost after 90 % of it without a renewal (it renews every tenth), so
 * a loaded CI machine must stall a gateway for 1.8 s before it stops by itself.
 */
const TTL_MS = 2_000;
const FLAGS = ['--retransmit-ms', '400', '--deadline-grace-ms', '500', '--burn-margin-ms', '300'];
const FLAGS_MIN_LOCK = ['--min-lock-seconds', '1'];
const SCHEMA = 'ha_processes';

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0;

// a scheduled moment (a kill), never a wait for state
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`primary-backup gateway processes over PostgreSQL (${runtime})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satp-ha-'));
  let cluster: PostgresCluster | undefined;
  const ledgers: LedgerProcess[] = [];
  const children = new Set<GatewayChild>();
  let bundle: Bundle | undefined;

  afterAll(async () => {
    await Promise.allSettled([...children].map((c) => (c.alive ? c.kill('SIGKILL') : undefined)));
    await Promise.allSettled(ledgers.map((l) => l.kill('SIGKILL')));
    await cluster?.stop();
    bundle?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(`every transfer ends and every asset is on one ledger across ${KILLS} SIGKILLs of the acting origin`, async () => {
    const random = mulberry32(SEED);
    console.log(`ha processes: seed ${SEED} (replay with SATP_HA_SEED=${SEED}), ${KILLS} kills, ${runtime}`);
    if (runtime === 'node') bundle = await bundleGateway();
    cluster = await startPostgres();
    const assets = Array.from({ length: KILLS * NEW_PER_ROUND + 2 }, (_, i) => `asset-${i}:owner-${i}`);
    const ledgerArgs = (id: string, seeded: string[]) => [
      '--port',
      '0',
      '--db',
      join(dir, id),
      '--id',
      id,
      ...(seeded.length ? ['--assets', seeded.join(',')] : []),
    ];
    ledgers.push(await startLedgerProcess(ledgerArgs('ledger-a', assets)));
    ledgers.push(await startLedgerProcess(ledgerArgs('ledger-b', [])));
    const [la, lb] = ledgers as [LedgerProcess, LedgerProcess];
    const ledgerKey = async (url: string) => (await (await HttpLedger.connect(url)).health()).publicJwk;
    const [keyA, keyB] = [await ledgerKey(la.url), await ledgerKey(lb.url)];

    // Identities: the primary's and the backup's keys and certificates, under the owner's CA.
    const file = (name: string) => join(dir, name);
    const primaryJwk = await publicKeyOf(file('gw-origin.key.json'));
    const backupJwk = await publicKeyOf(file('gw-origin-backup-1.key.json'));
    const destinationJwk = await publicKeyOf(file('gw-destination.key.json'));
    const pki = await ownerPki({
      'gw-origin': { publicJwk: primaryJwk, backups: { 'gw-origin-backup-1': backupJwk } },
    });
    for (const id of ['gw-origin', 'gw-origin-backup-1'])
      writeFileSync(file(`${id}.pem`), pki.certs[id]!.toString('pem'));
    const trust = {
      roots: [pki.root.certificate.toString('pem')],
      intermediates: [pki.ca.certificate.toString('pem')],
      primaries: { 'gw-origin': pki.certs['gw-origin']!.toString('pem') },
    };
    writeFileSync(file('trust.json'), JSON.stringify(trust));

    const start = async (args: string[]) => {
      const child = await GatewayChild.start(runtime, args, { ...(bundle && { bundle: bundle.path }) });
      children.add(child);
      return child;
    };
    const peer = (url: string, publicJwk: PublicJwk, networkId: string, ledgerPublicJwk: PublicJwk) => ({
      url,
      publicJwk,
      networkId,
      ledgerPublicJwk,
    });
    const destination = await start([
      '--id',
      'gw-destination',
      '--port',
      '0',
      '--db',
      file('gw-destination'),
      '--keys',
      file('gw-destination.key.json'),
      '--ledger',
      lb.url,
      '--ledger-key',
      JSON.stringify(keyB),
      '--peers',
      JSON.stringify({ 'gw-origin': peer('ws://127.0.0.1:9/satp/ws', primaryJwk, 'ledger-a', keyA) }),
      '--peer-ledger',
      `gw-origin=${la.url}`,
      '--trust',
      file('trust.json'),
      ...FLAGS,
      ...FLAGS_MIN_LOCK,
    ]);
    await destination.waitFor((e) => e.event === 'booted', 60_000, 'destination boot');
    const holders = {
      'gw-origin': ['--keys', file('gw-origin.key.json'), '--cert', file('gw-origin.pem')],
      'gw-origin-backup-1': [
        '--keys',
        file('gw-origin-backup-1.key.json'),
        '--cert',
        file('gw-origin-backup-1.pem'),
        '--primary-key',
        JSON.stringify(primaryJwk),
      ],
    } as const;
    type Holder = keyof typeof holders;
    const launch = (holder: Holder) =>
      start([
        '--id',
        'gw-origin',
        '--port',
        '0',
        '--pg',
        cluster!.url,
        '--pg-schema',
        SCHEMA,
        '--ledger',
        la.url,
        '--ledger-key',
        JSON.stringify(keyA),
        '--peers',
        JSON.stringify({ 'gw-destination': peer(destination.url, destinationJwk, 'ledger-b', keyB) }),
        '--trust',
        file('trust.json'),
        '--lease-ttl-ms',
        String(TTL_MS),
        '--holder',
        holder,
        ...holders[holder],
        ...FLAGS,
        ...FLAGS_MIN_LOCK,
      ]);
    /** Waits for a holder to act: its lease, then its boot; then the destination is told where it is. */
    const acting = async (child: GatewayChild, what: string) => {
      const booted = await child.waitFor((e) => e.event === 'booted', 60_000, what);
      const told = await destination.request({ cmd: 'peer-url', peer: 'gw-origin', url: child.url });
      expect(told.ok, 'the destination takes the new address').toBe(true);
      return booted;
    };

    const procs: Record<Holder, GatewayChild> = {
      'gw-origin': await launch('gw-origin'),
      'gw-origin-backup-1': undefined as unknown as GatewayChild,
    };
    await acting(procs['gw-origin'], 'the primary acts');
    procs['gw-origin-backup-1'] = await launch('gw-origin-backup-1');
    await procs['gw-origin-backup-1'].waitFor((e) => e.event === 'standby', 60_000, 'the backup stands by');
    let active: Holder = 'gw-origin';

    const transfers: TransferSpec[] = [];
    const epochs: number[] = [];
    const events: GatewayEvent[] = [];
    /** Sessions each takeover found open and resumed. */
    let resumed = 0;
    /** From each SIGKILL to the other holder's boot (its lease taken, its sessions taken over), in ms. */
    const outage: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      // New transfers while the primary acts (a backup starts none: SUCCESSOR_ONLY).
      if (active === 'gw-origin')
        for (let n = 0; n < NEW_PER_ROUND; n++) {
          const i = transfers.length;
          const spec = {
            sessionId: `s-${i}`,
            assetId: `asset-${i}`,
            originator: `owner-${i}`,
            beneficiary: `beneficiary-${i}`,
          };
          const r = await procs[active].request({ cmd: 'transfer', ...spec, lockSeconds: 30 }, 20_000);
          expect(r, `transfer ${spec.sessionId}`).toMatchObject({ started: true });
          transfers.push(spec);
        }
      await sleep(Math.floor(random() * MAX_KILL_DELAY_MS));
      const victim: Holder = active;
      const other: Holder = victim === 'gw-origin' ? 'gw-origin-backup-1' : 'gw-origin';
      const killedAt = Date.now();
      const x = await procs[victim].kill('SIGKILL');
      expect(x.signal, `${victim} was killed, not exited`).toBe('SIGKILL');
      events.push(...procs[victim].events);
      const booted = await acting(procs[other], `kill ${k + 1}: ${other} takes over`);
      outage.push(Date.now() - killedAt);
      const lease = procs[other].events.find((e) => e.event === 'lease');
      epochs.push(Number(lease?.epoch));
      resumed += Number(booted.sessions);
      active = other;
      procs[victim] = await launch(victim);
      await procs[victim].waitFor((e) => e.event === 'standby', 60_000, `${victim} stands by again`);
    }
    expect(epochs, 'each takeover at the next epoch').toEqual(epochs.map((_, i) => epochs[0]! + i));

    // Settle: wait, by asking, until neither side holds an open session.
    const settleBy = Date.now() + 120_000;
    for (;;) {
      const [o, d] = [await procs[active].request({ cmd: 'status' }), await destination.request({ cmd: 'status' })];
      if ((o.open as string[]).length === 0 && (d.open as string[]).length === 0) break;
      if (Date.now() > settleBy)
        throw new Error(
          `still open after 120 s: origin ${JSON.stringify(o.open)}, destination ${JSON.stringify(d.open)}`,
        );
      await sleep(250);
    }
    for (const c of [procs['gw-origin'], procs['gw-origin-backup-1'], destination]) await c.stop();

    const report = await checkInvariants({
      origin: {
        id: 'gw-origin',
        db: '',
        driver: () => PostgresDriver.open(cluster!.url, { schema: SCHEMA }),
        publicJwk: primaryJwk,
      },
      destination: { id: 'gw-destination', db: file('gw-destination'), publicJwk: destinationJwk },
      ledgerA: la.url,
      ledgerB: lb.url,
      transfers,
      successor: pki.authority,
    });
    console.log(
      `ha processes: ${KILLS} kills, epochs ${epochs[0]}..${epochs.at(-1)}, ${transfers.length} transfers: ` +
        `${report.committed} committed, ${report.rolledBack} rolled back; ${resumed} open sessions taken over; ` +
        `kill to takeover (ttl ${TTL_MS} ms): median ${quantile(outage, 0.5)} ms, max ${Math.max(...outage)} ms`,
    );
    if (KILLS >= 10)
      expect(resumed, 'some kills landed mid-transfer, and the other holder finished them').toBeGreaterThan(0);
    expect(report.problems).toEqual([]);
    expect(report.committed + report.rolledBack).toBe(transfers.length);
  }, 900_000);
});
