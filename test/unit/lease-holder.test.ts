// The primary-backup heartbeat (gateway/ha.ts): a lease in the shared store, renewed by its holder and taken by a
// backup only once it lapsed. Driven by the simulator's clock over an in-memory lease table that keeps the store's
// time; no wall clock. What a user relies on: at no moment do two holders both believe they hold the lease.
import { describe, expect, it } from 'vitest';
import { holdLease, type Lease, type LeaseStore } from '../../gateway/ha.ts';
import { ManualClock } from '../support/satp-pair.ts';

/** A lease table with the semantics of storage/postgres.ts, on the given clock (the store's). */
class MemoryLeases implements LeaseStore {
  rows = new Map<string, { holder: string; epoch: number; expiresAt: number }>();
  /** While true every call fails, as a store out of reach. */
  unreachable = false;
  constructor(readonly now: () => number) {}
  #reach() {
    if (this.unreachable) return Promise.reject(new Error('store unreachable'));
    return Promise.resolve();
  }
  #lease(gateway: string): Lease | undefined {
    const r = this.rows.get(gateway);
    return r && { gateway, ...r, expired: r.expiresAt <= this.now() };
  }
  async acquireLease(gateway: string, holder: string, ttlMs: number) {
    await this.#reach();
    const r = this.rows.get(gateway);
    const now = this.now();
    if (r && r.expiresAt > now && r.holder !== holder) return undefined;
    const epoch = !r ? 1 : r.expiresAt <= now ? r.epoch + 1 : r.epoch;
    this.rows.set(gateway, { holder, epoch, expiresAt: now + ttlMs });
    return this.#lease(gateway);
  }
  async renewLease(gateway: string, holder: string, epoch: number, ttlMs: number) {
    await this.#reach();
    const r = this.rows.get(gateway);
    if (!r || r.holder !== holder || r.epoch !== epoch || r.expiresAt <= this.now()) return false;
    r.expiresAt = this.now() + ttlMs;
    return true;
  }
  async lease(gateway: string) {
    await this.#reach();
    return this.#lease(gateway);
  }
}

function world() {
  const clock = new ManualClock();
  const leases = new MemoryLeases(() => clock.now());
  /** Who believes it holds the lease, over time: [time, holder, 'got' | 'lost']. */
  const log: [number, string, string][] = [];
  const holder = (name: string, ttlMs = 1_000, lapsedOnly = false) =>
    holdLease({
      leases,
      gateway: 'gw-a',
      holder: name,
      ttlMs,
      lapsedOnly,
      clock: clock.sim.view(name, 'A'),
      onAcquired: (l) => void log.push([clock.now(), name, `got ${l.epoch}`]),
      onLost: () => void log.push([clock.now(), name, 'lost']),
    });
  return { clock, leases, log, holder };
}

/** Checks that the holdings in `log` never overlap in time. */
function exclusive(log: [number, string, string][]) {
  let holding: string | undefined;
  for (const [t, who, what] of log) {
    if (what.startsWith('got')) {
      expect(holding, `${who} took the lease at ${t} while ${holding} held it`).toBeUndefined();
      holding = who;
    } else if (holding === who) holding = undefined;
  }
}

describe('holdLease: the heartbeat of primary-backup (recovery-04 §5.1)', () => {
  it('the primary holds and renews; a backup takes over only a whole ttl after the primary stopped', async () => {
    const w = world();
    const primary = w.holder('primary');
    await w.clock.advance(10);
    const backup = w.holder('backup');
    await w.clock.advance(10_000);
    expect(w.log.map(([, who, what]) => `${who} ${what}`)).toEqual(['primary got 1']);
    expect(primary.held()?.epoch).toBe(1);
    const crashedAt = w.clock.now();
    primary.stop(); // a crash: no renewal from now on
    await w.clock.advance(5_000);
    expect(w.log.map(([, who, what]) => `${who} ${what}`)).toEqual(['primary got 1', 'backup got 2']);
    const [tookAt] = w.log[1]!;
    expect(tookAt - crashedAt, 'not before the ttl ran out').toBeGreaterThanOrEqual(1_000 - 250);
    expect(backup.held()?.epoch).toBe(2);
    backup.stop();
  });

  it('a primary cut off from the store counts its lease lost before the store lets a backup take it', async () => {
    const w = world();
    const primary = w.holder('primary');
    await w.clock.advance(10);
    const backup = w.holder('backup');
    await w.clock.advance(3_000);
    const expiry = w.leases.rows.get('gw-a')!.expiresAt; // by the store's clock, as of its last renewal
    w.leases.unreachable = true; // both lose the store: the primary cannot renew, the backup cannot take
    await w.clock.advance(2_000);
    w.leases.unreachable = false;
    await w.clock.advance(2_000);
    const lines = w.log.map(([, who, what]) => `${who} ${what}`);
    expect(lines).toEqual(['primary got 1', 'primary lost', 'backup got 2']);
    expect(w.log[1]![0], 'the primary stopped before its lease could lapse').toBeLessThan(expiry);
    expect(w.log[2]![0], 'the backup took it only after').toBeGreaterThanOrEqual(expiry);
    exclusive(w.log);
    primary.stop();
    backup.stop();
  });

  it('a renewal refused (the backup took a lapsed lease) is reported lost at once', async () => {
    const w = world();
    const primary = w.holder('primary');
    await w.clock.advance(10);
    // The store's row is taken by another holder behind the primary's back (its lease lapsed during a long pause).
    const row = w.leases.rows.get('gw-a')!;
    w.leases.rows.set('gw-a', { holder: 'backup', epoch: row.epoch + 1, expiresAt: w.clock.now() + 10_000 });
    await w.clock.advance(300);
    expect(w.log.map(([, who, what]) => `${who} ${what}`)).toEqual(['primary got 1', 'primary lost']);
    expect(primary.held()).toBeUndefined();
    primary.stop();
  });

  it('a backup started before the primary waits for it (lapsedOnly): it takes only a lease once held', async () => {
    const w = world();
    const backup = w.holder('backup', 1_000, true);
    await w.clock.advance(5_000);
    expect(w.log, 'no one has held the lease yet: the backup leaves it to the primary').toEqual([]);
    const primary = w.holder('primary');
    await w.clock.advance(3_000);
    expect(w.log.map(([, who, what]) => `${who} ${what}`)).toEqual(['primary got 1']);
    const crashedAt = w.clock.now();
    primary.stop(); // a crash: no renewal from now on
    await w.clock.advance(3_000);
    expect(w.log.map(([, who, what]) => `${who} ${what}`)).toEqual(['primary got 1', 'backup got 2']);
    expect(w.log[1]![0] - crashedAt, 'not before the ttl ran out').toBeGreaterThanOrEqual(1_000 - 250);
    backup.stop();
  });
});
