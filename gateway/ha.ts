// Primary-backup (recovery-04 §5.1): the heartbeat is a lease in the shared store, the failure detector a
// conservative timeout (the lease's time to live), and the fence the lease's epoch. The primary holds the lease of
// its gateway and renews it; a backup tries to take the same lease and succeeds only once the primary has not
// renewed it for a whole ttl, by the store's clock. The store then refuses every append of the old holder's epoch
// (storage/postgres.ts), so a primary that was only slow, or partitioned from the store, cannot write after the
// takeover, whatever its clock says. Runtime-agnostic: time is the injected Clock. docs/high-availability.md.
import type { Clock } from '../kernel/ports.ts';

/** A gateway's lease as the shared store holds it (storage/postgres.ts implements LeaseStore). */
export interface Lease {
  gateway: string;
  holder: string;
  epoch: number;
  /** When it lapses, ms since the epoch by the store's clock. */
  expiresAt: number;
  expired: boolean;
}

/** What holding a lease needs of the shared store. */
export interface LeaseStore {
  /** Takes or renews the lease; undefined while another holder's lease is live. */
  acquireLease(gateway: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends the lease if `holder` still holds it at `epoch` and it has not lapsed. */
  renewLease(gateway: string, holder: string, epoch: number, ttlMs: number): Promise<boolean>;
  lease(gateway: string): Promise<Lease | undefined>;
}

export interface HoldLeaseOptions {
  leases: LeaseStore;
  /** Whose lease: the gateway id. */
  gateway: string;
  /** Who holds it: this process (the name its certificate gives it). */
  holder: string;
  /**
   * How long a lease lasts without a renewal: the failure detector's timeout. Conservative: longer than any pause
   * of a live primary (GC, a slow disk, a busy store), or a live primary loses its lease (it then stops, safely).
   */
  ttlMs: number;
  /** How often the holder renews, and how often a waiting holder tries to take the lease (default ttlMs / 4). */
  renewMs?: number;
  clock: Clock;
  /**
   * A backup's wait: take the lease only once it was held and lapsed, never a lease no one has held yet. Without
   * it, a backup started before the primary would take the primary's gateway before the primary ever acted.
   */
  lapsedOnly?: boolean;
  /** Once held: the caller starts acting for the gateway, its store appending as `lease.epoch`. */
  onAcquired: (lease: Lease) => void | Promise<void>;
  /**
   * The lease is lost, or may be: a renewal was refused, or none succeeded in time to be sure the lease still
   * holds. The caller must stop acting for the gateway now; the store's fence stops what it does not.
   */
  onLost: (why: string) => void;
  /** A store call failed (the loop goes on). */
  onError?: (err: unknown) => void;
}

export interface LeaseHolder {
  /** The lease held now, if any. */
  held(): Lease | undefined;
  /** Stops trying and renewing. A lease held is not given up: it lapses after its ttl (a clean stop is a crash). */
  stop(): void;
}

/**
 * Takes the lease of `gateway` as soon as it is free (never held, or lapsed), then keeps it. The same call serves
 * the primary (its own gateway) and a backup (another's: it waits until the primary stops renewing). A lease is
 * known to hold until the local time at which its last successful renewal was *asked* plus the ttl (the store set
 * the expiry after that moment); if no renewal succeeds before then, less one renewal period, it counts as lost.
 */
export function holdLease(o: HoldLeaseOptions): LeaseHolder {
  const every = o.renewMs ?? Math.max(1, Math.floor(o.ttlMs / 4));
  let stopped = false;
  let held: Lease | undefined;
  /** Local time until which the held lease surely holds. */
  let sureUntil = 0;
  let timer: unknown;
  const later = (fn: () => Promise<void>) => {
    if (stopped) return;
    timer = o.clock.setTimer(o.clock.now() + every, () => void fn());
  };
  const lose = (why: string) => {
    held = undefined;
    if (!stopped) o.onLost(why);
  };
  const tryAcquire = async (): Promise<void> => {
    if (stopped) return;
    const asked = o.clock.now();
    let lease: Lease | undefined;
    try {
      if (!o.lapsedOnly || (await o.leases.lease(o.gateway)))
        lease = await o.leases.acquireLease(o.gateway, o.holder, o.ttlMs);
    } catch (err) {
      o.onError?.(err);
    }
    if (stopped) return;
    if (!lease) return later(tryAcquire);
    held = lease;
    sureUntil = asked + o.ttlMs;
    try {
      await o.onAcquired(lease);
    } catch (err) {
      o.onError?.(err);
    }
    later(renew);
  };
  const renew = async (): Promise<void> => {
    if (stopped || !held) return;
    const asked = o.clock.now();
    let ok: boolean | undefined;
    try {
      ok = await o.leases.renewLease(o.gateway, o.holder, held.epoch, o.ttlMs);
    } catch (err) {
      o.onError?.(err);
    }
    if (stopped) return;
    if (ok === false) return lose(`the lease of ${o.gateway} at epoch ${held.epoch} was taken or lapsed`);
    if (ok === true) sureUntil = asked + o.ttlMs;
    else if (o.clock.now() + every >= sureUntil)
      return lose(`no renewal of the lease of ${o.gateway} succeeded within its ttl`);
    later(renew);
  };
  void tryAcquire();
  return {
    held: () => held,
    stop: () => {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimer(timer);
    },
  };
}
