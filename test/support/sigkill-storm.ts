// The SIGKILL storm shared by test/process/gateway-processes-sigkill.test.ts (ledger servers) and
// test/process/evm-gateway-processes.test.ts (two anvil chains): two real gateway processes over WebSocket, each on
// its own LevelDB, run a stream of transfers while one or the other is SIGKILLed at random moments and restarted on
// the same db, keys and port (recovery-04 §5.1, self-healing mode). Afterwards every session ended committed or
// rolled back on both sides, every asset lives on exactly one ledger with the right owner, every chain verifies, and
// no ledger op was applied outside the sessions' own op ids.
//
// The kill moments come from a seeded PRNG; the seed is printed, and SATP_GW_SEED=<seed> replays the same
// choices (process timing still varies). Some victims stay down for seconds, past the lock expiry, so
// rollbacks after a crash (recovery-04 §5.4.3) happen as well as commits.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayEvent } from '../../examples/gateway-child.ts';
import { type Bundle, bundleGateway } from './gateway-bundle.ts';
import { Cluster, type Role } from './gateway-cluster.ts';
import { chooseVictim } from './storm-victims.ts';
import { checkInvariants, type TransferSpec } from './gateway-invariants.ts';
import { mulberry32 } from './prng.ts';

const runtime = process.env.SATP_RUNTIME === 'deno' ? 'deno' : 'node';
/** Node gateways run pre-bundled (same source, ~4× faster start) unless SATP_GW_TSX=1 asks for tsx. */
const viaTsx = runtime === 'node' && process.env.SATP_GW_TSX === '1';
const SEED = Number(process.env.SATP_GW_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Transfers in flight at once (started, not seen ending), and how many new ones between two kills. */
const MAX_ACTIVE = 16;
const NEW_PER_KILL = 3;
/**
 * Transfers started once the kills have stopped: each must commit. Whether any transfer commits while the kills
 * go on depends on the seed and on how fast the gateways start (a Deno gateway's boot can take most of the time
 * between two kills), so that is not asserted; that both gateways still commit after the kills is.
 */
const CALM = 3;
/**
 * The calm transfers' lock: long enough that no load on the machine can make them miss it. With the storm's 8 s,
 * a loaded 2-core machine (seed 190463805, beside two other test runs) rolled two of three back: they started
 * while both gateways still worked through the storm's backlog.
 */
const CALM_LOCK_SECONDS = 60;
/** A kill lands uniformly in [0, this) after the victim is listening: during boot, recovery or a transfer. */
const MAX_KILL_DELAY_MS = 1_000;
/** Some victims stay down this long, past the lock expiry (lockSeconds 2–8): deadlines and rollbacks. */
const LONG_DOWN_CHANCE = 0.08;
const LONG_DOWN_MS = [2_500, 4_500] as const;
const SETTLE_MS = 120_000;
// Fast timings, so a transfer takes well under a second and a deadline a few seconds.
const FLAGS = [
  '--retransmit-ms',
  '400',
  '--deadline-grace-ms',
  '500',
  '--burn-margin-ms',
  '300',
  '--min-lock-seconds',
  '1',
];

interface Tracked {
  spec: TransferSpec;
  lockSeconds: number;
  /** The origin answered started: its chain exists (durable). */
  confirmed: boolean;
  /** Seen ending at the origin (its outcome event, or absent from its open sessions after a boot). */
  ended: boolean;
}

// a scheduled moment (kill, downtime), never a wait for state
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StormOptions {
  /** Ledger server processes, or two anvil chains. */
  ledgers: 'server' | 'evm';
  kills: number;
  /** Whether the run must have rolled some transfers back (enough kills that some stayed down past a deadline). */
  expectRollbacks: boolean;
}

export function describeSigkillStorm(o: StormOptions): void {
  const KILLS = o.kills;
  const MAX_TRANSFERS = KILLS * NEW_PER_KILL;
  const ledgerWords = o.ledgers === 'evm' ? 'two anvil chains' : `ledger servers under ${runtime}`;
  const kind = o.ledgers === 'evm' ? 'EVM ledgers' : 'ledger servers';
  describe(`gateway processes under SIGKILL (${runtime}, ${kind})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'satp-gw-sigkill-'));
    let cluster: Cluster | undefined;
    let bundle: Bundle | undefined;
    const runtimes = new Set<string>();

    afterAll(async () => {
      await cluster?.destroy();
      bundle?.remove();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('ends every transfer committed or rolled back, the asset on exactly one ledger, ' +
      `every chain verifying, across ${KILLS} SIGKILLs of either gateway`, async () => {
      const started = Date.now();
      const random = mulberry32(SEED);
      const transfers = new Map<string, Tracked>();
      const assets = Array.from({ length: MAX_TRANSFERS + CALM }, (_, i) => `asset-${i}:owner-${i}`);
      const how =
        runtime === 'deno'
          ? 'cli/gateway.deno.ts under deno'
          : viaTsx
            ? 'cli/gateway.ts under node + tsx'
            : 'cli/gateway.ts bundled by esbuild, under node';
      console.log(
        `gateway sigkill: seed ${SEED} (replay with SATP_GW_SEED=${SEED}), ${KILLS} kills; ` +
          `gateways: ${how}; ${ledgerWords}`,
      );
      if (runtime === 'node' && !viaTsx) bundle = await bundleGateway();

      const onEvent = (_m: unknown, e: GatewayEvent) => {
        if (e.event === 'listening') runtimes.add(String(e.runtime));
        if (e.event === 'outcome' && e.gw === 'gw-origin') {
          const t = transfers.get(String(e.session));
          if (t) t.ended = true;
        }
      };
      cluster = await Cluster.start({
        dir,
        runtime,
        ledgers: o.ledgers,
        assets,
        flags: FLAGS,
        onEvent,
        ...(bundle && { bundle: bundle.path }),
      });
      const c = cluster;
      const origin = c.members.origin;

      /** Asks the origin to start transfers (new ones up to MAX_ACTIVE, and any not yet confirmed). */
      const submit = async (fresh: boolean) => {
        const active = () => [...transfers.values()].filter((t) => !t.ended).length;
        for (let n = 0; fresh && n < NEW_PER_KILL && active() < MAX_ACTIVE && transfers.size < MAX_TRANSFERS; n++) {
          const i = transfers.size;
          transfers.set(`s-${i}`, {
            spec: {
              sessionId: `s-${i}`,
              assetId: `asset-${i}`,
              originator: `owner-${i}`,
              beneficiary: `beneficiary-${i}`,
            },
            lockSeconds: 2 + Math.floor(random() * 7),
            confirmed: false,
            ended: false,
          });
        }
        for (const t of transfers.values()) {
          if (t.confirmed || !origin.up || !origin.child?.alive) continue;
          try {
            const r = await origin.child.request({ cmd: 'transfer', ...t.spec, lockSeconds: t.lockSeconds }, 10_000);
            if (r.started === true) t.confirmed = true;
          } catch {
            // The origin died before answering; the transfer is asked again after its next boot.
          }
        }
      };

      /**
       * After the origin boots: sessions it no longer holds open have ended (their outcome line may have died with
       * it).
       */
      const refresh = async () => {
        const status = await origin.child!.request({ cmd: 'status' }, 10_000);
        const open = new Set(status.open as string[]);
        for (const t of transfers.values()) if (t.confirmed && !open.has(t.spec.sessionId)) t.ended = true;
      };

      const relaunch = async (role: Role, downMs: number): Promise<void> => {
        if (downMs) await sleep(downMs);
        const child = await c.pair.launch(role, { boot: false });
        // Boot may be cut short by the next kill; then there is nothing to do for this life.
        void child
          .waitFor((e) => e.event === 'booted', 60_000, 'boot')
          .then(async () => {
            if (role === 'origin') await refresh();
          })
          .catch(() => undefined);
      };

      // Each kill: a random one of the two gateways (once it runs again, if it is restarting), at a random
      // moment after that. Restarts run in the background, so the other gateway may be killed meanwhile.
      const pending: Record<Role, Promise<void>> = { origin: Promise.resolve(), destination: Promise.resolve() };
      const tally = { origin: 0, destination: 0, longDowns: 0 };
      for (let k = 0; k < KILLS; k++) {
        await submit(true).catch(() => undefined);
        const coin: Role = random() < 0.5 ? 'origin' : 'destination';
        const role = chooseVictim(coin, ['origin', 'destination'] as const, tally, k, KILLS);
        const delay = Math.floor(random() * MAX_KILL_DELAY_MS);
        const downMs =
          random() < LONG_DOWN_CHANCE
            ? LONG_DOWN_MS[0] + Math.floor(random() * (LONG_DOWN_MS[1] - LONG_DOWN_MS[0]))
            : 0;
        await pending[role]; // listening again after its previous kill
        await sleep(delay);
        await c.pair.kill(role);
        tally[role]++;
        if (downMs) tally.longDowns++;
        pending[role] = relaunch(role, downMs);
      }
      await Promise.all([pending.origin, pending.destination]);
      const killPhaseMs = Date.now() - started;

      // Settle: both gateways up; wait, by their events, until neither holds an open session.
      const settleBy = Date.now() + SETTLE_MS;
      for (const m of Object.values(c.members))
        await m.child!.waitFor((e) => e.event === 'booted', 60_000, `${m.id} boot`);
      // The calm transfers, on assets no other transfer touched; submit(false) below starts them.
      const calm: string[] = [];
      for (let n = 0; n < CALM; n++) {
        const i = transfers.size;
        const sessionId = `s-${i}`;
        calm.push(sessionId);
        transfers.set(sessionId, {
          spec: { sessionId, assetId: `asset-${i}`, originator: `owner-${i}`, beneficiary: `beneficiary-${i}` },
          lockSeconds: CALM_LOCK_SECONDS,
          confirmed: false,
          ended: false,
        });
      }
      let settled = false;
      let stillOpen = '';
      for (let round = 0; round < 500 && Date.now() < settleBy; round++) {
        await submit(false);
        const [so, sd] = await Promise.all([
          origin.child!.request({ cmd: 'status' }),
          c.members.destination.child!.request({ cmd: 'status' }),
        ]);
        const unconfirmed = [...transfers.values()].filter((t) => !t.confirmed).length;
        stillOpen =
          `origin: ${JSON.stringify(so.open)}, destination: ${JSON.stringify(sd.open)}, ` +
          `unconfirmed: ${unconfirmed}`;
        if ((so.open as string[]).length === 0 && (sd.open as string[]).length === 0 && unconfirmed === 0) {
          settled = true;
          break;
        }
        // The next session ending on either side, or 2 s, whichever first; then look again.
        const from = Object.values(c.members).map((m) => m.child!.events.length);
        await Promise.race(
          Object.values(c.members).map((m, i) =>
            m.child!.waitFor((e) => e.event === 'outcome', 2_000, 'an outcome', from[i]),
          ),
        ).catch(() => undefined);
      }
      const settleMs = Date.now() - started - killPhaseMs;
      const exits = await c.pair.stop();
      const history = [...c.members.origin.history, ...c.members.destination.history];
      // SATP_GW_DUMP=<file>: every event of both gateways, in time order, for reading a failure.
      if (process.env.SATP_GW_DUMP)
        writeFileSync(
          process.env.SATP_GW_DUMP,
          [...history]
            .sort((a, b) => a.t - b.t)
            .map((e) => JSON.stringify(e))
            .join('\n'),
        );
      expect(
        settled,
        `every session ended on both gateways within ${SETTLE_MS / 1000} s (seed ${SEED}); still open: ${stillOpen}`,
      ).toBe(true);
      // A failure says how each gateway ended (code, signal, whether it beat the grace) and what it last wrote.
      // stop() answers in the members' order, and each member keeps the child it stopped.
      const stopped = Object.values(c.members).map((m) => m.child);
      // A shutdown that was slow, or that the gateway bounded, says so on stderr: shown here, not failed on (every
      // append was durable before it, and the gateway exits within its bound).
      for (const child of stopped) {
        const lines = (child?.stderr ?? '').split('\n').filter((l) => l.includes('"what":"shutdown '));
        if (lines.length > 0) console.log(`sigkill storm (seed ${SEED}): ${lines.join(' ')}`);
      }
      const endings = exits.map((x, i) =>
        x.graceful && x.code === 0
          ? 'clean'
          : `code ${x.code}, signal ${x.signal}, ${x.graceful ? 'exited within' : 'killed after'} the grace; ` +
            `stderr: ${stopped[i]?.stderr.slice(-1500) ?? '(none)'}`,
      );
      expect(
        exits.map((x) => x.graceful && x.code === 0),
        `both gateways shut down cleanly at the end (seed ${SEED}): origin ${endings[0]}; destination ${endings[1]}`,
      ).toEqual([true, true]);

      const specs = [...transfers.values()].map((t) => t.spec);
      const result = await checkInvariants({
        origin: c.members.origin,
        destination: c.members.destination,
        ledgerA: c.ledgers.origin.reader,
        ledgerB: c.ledgers.destination.reader,
        transfers: specs,
      });
      // No session may need an operator: the two early reports once tolerated here are fixed (a ROLLBACK past
      // the point of no return is refused; an error-msg to a session already rolling back is ignored, see
      // test/scenario/safety-harsher-world.test.ts, "operator reports are for what needs an operator").
      const operator = history.filter((e) => e.event === 'report' && e.kind === 'needs-operator');
      const recovers = history.filter((e) => e.event === 'append' && e.recoveryMessage === 'recover-msg').length;
      console.log(
        `gateway sigkill: ${KILLS} kills (origin ${tally.origin}, destination ${tally.destination}; ` +
          `${tally.longDowns} stayed down past deadlines), ` +
          `${specs.length} transfers: ${result.committed} committed, ${result.rolledBack} rolled back ` +
          `(${result.destinationUnaware} never reached the destination); ` +
          `${recovers} RECOVER sent; ` +
          `${(killPhaseMs / 1000).toFixed(1)} s of kills + ${(settleMs / 1000).toFixed(1)} s to settle, ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s in all under ${runtime}; seed ${SEED}`,
      );
      for (const e of operator.slice(0, 10)) console.log(`needs-operator: ${JSON.stringify(e)}`);
      expect(result.problems, `invariants (seed ${SEED})`).toEqual([]);
      expect(
        operator.map((e) => `${e.gw} ${e.session}: ${e.detail}`),
        'no session needed an operator',
      ).toEqual([]);
      expect(result.committed + result.rolledBack).toBe(specs.length);
      expect(
        calm.map((id) => `${id}: ${result.outcomes[id]}`),
        'the transfers started after the last kill all commit',
      ).toEqual(calm.map((id) => `${id}: committed`));
      if (o.expectRollbacks)
        expect(result.rolledBack, 'some kills landed past a deadline: rollbacks happened').toBeGreaterThan(0);
    }, 600_000);

    it(
      'ran both gateways (' +
        (runtime === 'deno' ? 'cli/gateway.deno.ts' : viaTsx ? 'cli/gateway.ts under tsx' : 'cli/gateway.ts, bundled') +
        `) and ${o.ledgers === 'evm' ? 'two anvil chains' : `both ledger servers under ${runtime}`}, restarting each`,
      () => {
        expect([...runtimes]).toEqual([runtime]);
        expect(cluster?.members.origin.lives).toBeGreaterThan(1);
        expect(cluster?.members.destination.lives).toBeGreaterThan(1);
      },
    );
  });
}
