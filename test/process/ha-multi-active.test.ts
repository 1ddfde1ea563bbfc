// Several active gateways per side (issue 12 item 6; docs/high-availability.md): each organization runs two
// gateway processes over its own PostgreSQL, gw-a1 and gw-a2 for the origin's, gw-b1 and gw-b2 for the
// destination's. Each process holds the lease of its own gateway and acts for it, and stands by for the other one
// (--standby-for, with a backup certificate the other's certificate lists). Transfers run from both origin
// gateways to both destination gateways. At random moments a process that acts for something, on either side, is
// SIGKILLed: the other process of its organization takes each of its gateways over in the same process (a second
// listener, takeover entries, RECOVER with isBackup), the other side is told the new address, and the killed one
// comes back standing by for both. Afterwards every session ended committed or rolled back, every asset is on
// exactly one ledger with the right owner, and every chain of the four gateways verifies.
//
// Kill choices come from a seeded PRNG (printed; SATP_HA_SEED=<seed> replays them).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayChild } from '../../examples/gateway-child.ts';
import { publicKeyOf } from '../../gateway/keys.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { bundleGateway } from '../support/gateway-bundle.ts';
import { checkInvariants, type TransferSpec } from '../support/gateway-invariants.ts';
import { type LedgerProcess, startLedgerProcess } from '../support/ledger-process.ts';
import { ownerPki } from '../support/owner-pki.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres-cluster.ts';
import { mulberry32 } from '../support/prng.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
const KILLS = Number(process.env.SATP_HA_MULTI_KILLS ?? (runtime === 'deno' ? 4 : 12));
const SEED = Number(process.env.SATP_HA_SEED ?? Math.floor(Math.random() * 2 ** 32));
const NEW_PER_ROUND = 3;
const MAX_KILL_DELAY_MS = 800;
/** As in ha-gateway-processes.test.ts: a process stalled for 1.8 s stops by itself, so 2 s on a loaded machine. */
const TTL_MS = 2_000;
const FLAGS = ['--retransmit-ms', '400', '--deadline-grace-ms', '500', '--burn-margin-ms', '300'];
const FLAGS_MIN_LOCK = ['--min-lock-seconds', '1'];

const SIDES = {
  a: { ids: ['gw-a1', 'gw-a2'], schema: 'multi_a', ledger: 'ledger-a' },
  b: { ids: ['gw-b1', 'gw-b2'], schema: 'multi_b', ledger: 'ledger-b' },
} as const;
type Side = keyof typeof SIDES;
const sideOf = (id: string): Side => (id.startsWith('gw-a') ? 'a' : 'b');
const otherSide = (s: Side): Side => (s === 'a' ? 'b' : 'a');

// a scheduled moment (a kill), never a wait for state
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`several active gateway processes per side over PostgreSQL (${runtime})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satp-multi-'));
  let cluster: PostgresCluster | undefined;
  const ledgers: LedgerProcess[] = [];
  const children = new Set<GatewayChild>();
  let bundle: Awaited<ReturnType<typeof bundleGateway>> | undefined;

  afterAll(async () => {
    await Promise.allSettled([...children].map((c) => (c.alive ? c.kill('SIGKILL') : undefined)));
    await Promise.allSettled(ledgers.map((l) => l.kill('SIGKILL')));
    await cluster?.stop();
    bundle?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it(`every transfer between 2 + 2 active gateways ends across ${KILLS} SIGKILLs on both sides`, async () => {
    const random = mulberry32(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    console.log(`ha multi-active: seed ${SEED} (replay with SATP_HA_SEED=${SEED}), ${KILLS} kills, ${runtime}`);
    if (runtime === 'node') bundle = await bundleGateway();
    cluster = await startPostgres();
    const assets = Array.from({ length: KILLS * NEW_PER_ROUND + 4 }, (_, i) => `asset-${i}:owner-${i}`);
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
    const ledgerUrl = { a: la.url, b: lb.url };
    const ledgerKeyOf = async (url: string) => (await (await HttpLedger.connect(url)).health()).publicJwk;
    const ledgerKey = { a: await ledgerKeyOf(la.url), b: await ledgerKeyOf(lb.url) };

    // Identities: each gateway's key and certificate, listing the backup certificate of its organization's other
    // process (the same key as that process's own gateway), all under one owner's CA.
    const file = (name: string) => join(dir, name);
    const ids = [...SIDES.a.ids, ...SIDES.b.ids];
    const jwk: Record<string, PublicJwk> = {};
    for (const id of ids) jwk[id] = await publicKeyOf(file(`${id}.key.json`));
    const partner = (id: string) => SIDES[sideOf(id)].ids.find((x) => x !== id)!;
    const backupName = (holder: string, of: string) => `${holder}-for-${of}`;
    const pki = await ownerPki(
      Object.fromEntries(
        ids.map((id) => [id, { publicJwk: jwk[id]!, backups: { [backupName(partner(id), id)]: jwk[partner(id)]! } }]),
      ),
    );
    for (const [name, cert] of Object.entries(pki.certs)) writeFileSync(file(`${name}.pem`), cert.toString('pem'));
    writeFileSync(
      file('trust.json'),
      JSON.stringify({
        roots: [pki.root.certificate.toString('pem')],
        intermediates: [pki.ca.certificate.toString('pem')],
        primaries: Object.fromEntries(ids.map((id) => [id, pki.certs[id]!.toString('pem')])),
      }),
    );

    /** Where each gateway is served now: its own process, or the one that took it over. */
    const where: Record<string, string> = Object.fromEntries(ids.map((id) => [id, 'ws://127.0.0.1:9/satp/ws']));
    const procs: Record<string, GatewayChild> = {};
    const launch = async (id: string) => {
      const side = sideOf(id);
      const far = otherSide(side);
      const child = await GatewayChild.start(
        runtime,
        [
          '--id',
          id,
          '--port',
          '0',
          '--pg',
          cluster!.url,
          '--pg-schema',
          SIDES[side].schema,
          '--ledger',
          ledgerUrl[side],
          '--ledger-key',
          JSON.stringify(ledgerKey[side]),
          '--peers',
          JSON.stringify(
            Object.fromEntries(
              SIDES[far].ids.map((p) => [
                p,
                { url: where[p], publicJwk: jwk[p], networkId: SIDES[far].ledger, ledgerPublicJwk: ledgerKey[far] },
              ]),
            ),
          ),
          ...SIDES[far].ids.flatMap((p) => ['--peer-ledger', `${p}=${ledgerUrl[far]}`]),
          '--trust',
          file('trust.json'),
          '--lease-ttl-ms',
          String(TTL_MS),
          '--holder',
          id,
          '--keys',
          file(`${id}.key.json`),
          '--cert',
          file(`${id}.pem`),
          '--standby-for',
          JSON.stringify({
            [partner(id)]: { primaryKey: jwk[partner(id)], cert: file(`${backupName(id, partner(id))}.pem`) },
          }),
          ...FLAGS,
          ...FLAGS_MIN_LOCK,
        ],
        { ...(bundle && { bundle: bundle.path }) },
      );
      children.add(child);
      procs[id] = child;
      return child;
    };
    /** The gateways a live process acts for (booted in it). */
    const actsFor = (c: GatewayChild) =>
      c.alive ? c.events.filter((e) => e.event === 'booted').map((e) => String(e.gw)) : [];
    /** Once `gw` booted in `child` (from event index `from` on): note its address and tell the other side. */
    const serving = async (child: GatewayChild, gw: string, from: number, what: string) => {
      await child.waitFor((e) => e.event === 'booted' && e.gw === gw, 60_000, what, from);
      const listening = child.events.filter((e) => e.event === 'listening' && e.gw === gw).at(-1);
      where[gw] = String(listening?.url);
      for (const p of SIDES[otherSide(sideOf(gw))].ids) {
        const peer = procs[p];
        if (!peer?.alive) continue;
        const told = await peer.request({ cmd: 'peer-url', peer: gw, url: where[gw] });
        expect(told.ok, `${p} takes ${gw}'s new address`).toBe(true);
      }
    };

    // Destination side first, then the origins (with the destinations' addresses); each acts for its own.
    for (const id of SIDES.b.ids) await launch(id);
    for (const id of SIDES.b.ids) await serving(procs[id]!, id, 0, `${id} acts`);
    for (const id of SIDES.a.ids) await launch(id);
    for (const id of SIDES.a.ids) await serving(procs[id]!, id, 0, `${id} acts`);

    const transfers: TransferSpec[] = [];
    /** Each takeover: the gateway, from which process to which, how long after the kill, sessions it resumed. */
    const takeovers: { gw: string; from: string; to: string; ms: number; resumed: number }[] = [];
    let doubleDuty = 0;
    for (let k = 0; k < KILLS; k++) {
      // New transfers between gateways their own processes act for (a backup starts and accepts none).
      const ownActing = (side: Side) => SIDES[side].ids.filter((id) => actsFor(procs[id]!).includes(id));
      const [origins, destinations] = [ownActing('a'), ownActing('b')];
      for (let n = 0; n < NEW_PER_ROUND && origins.length > 0 && destinations.length > 0; n++) {
        const i = transfers.length;
        const spec = {
          sessionId: `s-${i}`,
          assetId: `asset-${i}`,
          originator: `owner-${i}`,
          beneficiary: `beneficiary-${i}`,
          origin: pick(origins),
          destination: pick(destinations),
        };
        const r = await procs[spec.origin]!.request(
          {
            cmd: 'transfer',
            sessionId: spec.sessionId,
            assetId: spec.assetId,
            originator: spec.originator,
            beneficiary: spec.beneficiary,
            peer: spec.destination,
            lockSeconds: 30,
          },
          20_000,
        );
        expect(r, `transfer ${spec.sessionId}`).toMatchObject({ started: true });
        transfers.push(spec);
      }
      await sleep(Math.floor(random() * MAX_KILL_DELAY_MS));
      const candidates = ids.filter((id) => actsFor(procs[id]!).length > 0);
      const victim = pick(candidates);
      const lost = actsFor(procs[victim]!);
      const heir = procs[partner(victim)]!;
      const from = heir.events.length;
      const killedAt = Date.now();
      const x = await procs[victim]!.kill('SIGKILL');
      expect(x.signal, `${victim} was killed, not exited`).toBe('SIGKILL');
      for (const gw of lost) {
        await serving(heir, gw, from, `kill ${k + 1}: ${partner(victim)} takes ${gw} over`);
        const booted = heir.events.slice(from).find((e) => e.event === 'booted' && e.gw === gw);
        takeovers.push({
          gw,
          from: victim,
          to: partner(victim),
          ms: Date.now() - killedAt,
          resumed: Number(booted?.sessions),
        });
      }
      if (actsFor(heir).length > 1) doubleDuty++;
      const back = await launch(victim);
      for (const gw of [victim, partner(victim)])
        await back.waitFor((e) => e.event === 'standby' && e.gw === gw, 60_000, `${victim} stands by for ${gw}`);
    }
    expect(doubleDuty, 'after each kill one process acted for both gateways of its organization').toBe(KILLS);

    // Settle: wait, by asking, until no process holds an open session.
    const settleBy = Date.now() + 120_000;
    for (;;) {
      const open: string[] = [];
      for (const id of ids) {
        const s = await procs[id]!.request({ cmd: 'status' });
        open.push(...(s.open as string[]).map((x) => `${id}:${x}`));
      }
      if (open.length === 0) break;
      if (Date.now() > settleBy) throw new Error(`still open after 120 s: ${JSON.stringify(open)}`);
      await sleep(250);
    }
    for (const id of ids) await procs[id]!.stop();

    const sideOfStore = (side: Side) => ({
      id: SIDES[side].ids[0],
      db: '',
      driver: () => PostgresDriver.open(cluster!.url, { schema: SIDES[side].schema }),
      publicJwk: jwk[SIDES[side].ids[0]]!,
      also: { [SIDES[side].ids[1]]: jwk[SIDES[side].ids[1]]! },
    });
    const report = await checkInvariants({
      origin: sideOfStore('a'),
      destination: sideOfStore('b'),
      ledgerA: la.url,
      ledgerB: lb.url,
      transfers,
      successor: pki.authority,
    });
    const ms = takeovers.map((t) => t.ms).sort((a, b) => a - b);
    console.log(
      `ha multi-active: ${KILLS} kills, ${takeovers.length} gateways taken over ` +
        `(${takeovers.filter((t) => t.gw === t.from).length} own, the rest taken over before), ` +
        `${transfers.length} transfers: ${report.committed} committed, ${report.rolledBack} rolled back; ` +
        `${takeovers.reduce((n, t) => n + t.resumed, 0)} open sessions resumed; kill to takeover (ttl ${TTL_MS} ms): ` +
        `median ${ms[Math.floor((ms.length - 1) / 2)]} ms, max ${ms.at(-1)} ms`,
    );
    expect(
      new Set(transfers.map((t) => `${t.origin}>${t.destination}`)).size,
      'transfers ran between several pairs',
    ).toBeGreaterThan(1);
    expect(report.problems).toEqual([]);
    expect(report.committed + report.rolledBack).toBe(transfers.length);
  }, 900_000);
});
