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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { type Bundle, bundleGateway } from '../support/gateway-bundle.ts';
import type { TransferSpec } from '../support/gateway-invariants.ts';
import { type LedgerProcess, startLedgerProcess } from '../support/ledger-process.ts';
import { haOrgs, type Side, sideOf } from '../support/ha-orgs.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres-cluster.ts';
import { mulberry32 } from '../support/prng.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
const KILLS = Number(process.env.SATP_HA_MULTI_KILLS ?? (runtime === 'deno' ? 3 : 6));
const SEED = Number(process.env.SATP_HA_SEED ?? Math.floor(Math.random() * 2 ** 32));
const NEW_PER_ROUND = 3;
const MAX_KILL_DELAY_MS = 800;
/** As in ha-gateway-processes.test.ts: a process stalled for 1.8 s stops by itself, so 2 s on a loaded machine. */
const TTL_MS = 2_000;
const FLAGS = ['--retransmit-ms', '400', '--deadline-grace-ms', '500', '--burn-margin-ms', '300'];
const FLAGS_MIN_LOCK = ['--min-lock-seconds', '1'];

// a scheduled moment (a kill), never a wait for state
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`several active gateway processes per side over PostgreSQL (${runtime})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'satp-multi-'));
  let cluster: PostgresCluster | undefined;
  const ledgers: LedgerProcess[] = [];
  let stop: (() => Promise<void>) | undefined;
  let bundle: Bundle | undefined;

  afterAll(async () => {
    await stop?.();
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
    const ledgerKey = async (url: string) => (await (await HttpLedger.connect(url)).health()).publicJwk;
    const [keyA, keyB] = [await ledgerKey(la.url), await ledgerKey(lb.url)];

    const orgs = await haOrgs({
      runtime,
      ...(bundle && { bundle: bundle.path }),
      dir,
      pg: cluster.url,
      perSide: 2,
      schemas: { a: 'multi_a', b: 'multi_b' },
      ledgers: {
        a: { url: la.url, id: 'ledger-a', publicJwk: keyA },
        b: { url: lb.url, id: 'ledger-b', publicJwk: keyB },
      },
      ttlMs: TTL_MS,
      flags: [...FLAGS, ...FLAGS_MIN_LOCK, '--metrics-port', '0'],
    });
    stop = orgs.killAll;
    const { ids, procs, actsFor, serving, launch } = orgs;
    const all = [...ids.a, ...ids.b];
    const partner = (id: string) => ids[sideOf(id)].find((x) => x !== id)!;
    await orgs.start();

    const transfers: TransferSpec[] = [];
    /** Each takeover: the gateway, from which process to which, how long after the kill, sessions it resumed. */
    const takeovers: { gw: string; from: string; to: string; ms: number; resumed: number }[] = [];
    let doubleDuty = 0;
    for (let k = 0; k < KILLS; k++) {
      // New transfers between gateways their own processes act for (a backup starts and accepts none).
      const ownActing = (side: Side) => ids[side].filter((id) => actsFor(procs[id]!).includes(id));
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
      const candidates = all.filter((id) => actsFor(procs[id]!).length > 0);
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
      if (actsFor(heir).length > 1) {
        doubleDuty++;
        // The heir's /metrics shows both gateways it acts for, each under its own label.
        const at = heir.events.find((e) => e.event === 'metrics')?.url;
        const text = await (await fetch(String(at))).text();
        for (const gw of ids[sideOf(victim)])
          expect(text, `${partner(victim)}'s metrics`).toMatch(
            new RegExp(`^satp_sessions_recovered_total\\{gateway="${gw}"\\} \\d+$`, 'm'),
          );
      }
      const back = await launch(victim);
      for (const gw of [victim, partner(victim)])
        await back.waitFor((e) => e.event === 'standby' && e.gw === gw, 60_000, `${victim} stands by for ${gw}`);
    }
    expect(doubleDuty, 'after each kill one process acted for both gateways of its organization').toBe(KILLS);

    // Settle: wait, by asking, until no process holds an open session; then the invariants over both sides.
    await orgs.settleAndStop(120_000);
    const report = await orgs.check(transfers);
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
