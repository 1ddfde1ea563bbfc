// Enforces per-log access control on every Log Storage API route: finds a log's profile (that of its
// first entry, which every later entry must repeat) and answers FORBIDDEN when the caller may not.
import { SatpError } from '../kernel/errors.ts';
import type { LogStore } from '../storage/log-store.ts';
import type { CallerRole } from './auth.ts';
import { type AccessProfile, AUTHOR_ONLY, mayRead, mayWrite, parseAccessProfile } from './access.ts';

/** Thrown to answer 403; carries the HTTP-layer code FORBIDDEN, which is not a SatpError code. */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Who calls: an authenticated gateway id and its configured role. */
export interface Caller {
  id: string;
  role: CallerRole;
}

export interface EstablishedProfile {
  text: string;
  profile: AccessProfile;
}

export class LogAccessGuard {
  readonly #store: LogStore;
  readonly #cache = new Map<string, EstablishedProfile>();
  readonly #cacheSize: number;

  constructor(store: LogStore, cacheSize = 10_000) {
    this.#store = store;
    this.#cacheSize = cacheSize;
  }

  /**
   * The profile of a log, from its first entry; undefined while the log is empty. The first entry
   * never changes once stored, so the answer is cached. A stored text outside the grammar (written
   * by another tool) reads as author-only: access control fails closed.
   */
  async profileOf(logId: string): Promise<EstablishedProfile | undefined> {
    const cached = this.#cache.get(logId);
    if (cached) return cached;
    const first = await this.#store.getLogEntry(logId, 1);
    if (!first) return undefined;
    const found = {
      text: first.accessControlProfile,
      profile: parseAccessProfile(first.accessControlProfile) ?? AUTHOR_ONLY,
    };
    if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(logId, found);
    return found;
  }

  /**
   * Whether `caller` may read. The author and operators always may; an empty log holds nothing to
   * protect, so every caller may read it; otherwise the log's profile decides.
   */
  async canRead(logId: string, author: string, caller: Caller): Promise<boolean> {
    if (caller.id === author || caller.role === 'operator') return true;
    const established = await this.profileOf(logId);
    return established === undefined || mayRead(established.profile, author, caller.id);
  }

  async assertRead(logId: string, author: string, caller: Caller): Promise<void> {
    if (!(await this.canRead(logId, author, caller)))
      throw new ForbiddenError(`gateway ${caller.id} may not read log ${logId}`);
  }

  /**
   * Only the author (or an operator) starts a chain; afterwards the author, the profile's backups
   * and operators append. Whoever sends them, entries are verified against the author's key.
   */
  async assertWrite(logId: string, author: string, caller: Caller): Promise<EstablishedProfile | undefined> {
    const established = await this.profileOf(logId);
    if (caller.id === author || caller.role === 'operator') return established;
    if (established && mayWrite(established.profile, author, caller.id)) return established;
    throw new ForbiddenError(
      `gateway ${caller.id} may not write log ${logId}: a gateway writes only the chains it authors (or backs up)`,
    );
  }
}

/**
 * Checks that every entry of a write belongs to the log the route names and carries a profile in
 * the grammar, the same as the log's (or, for a new log, as the batch's first entry). Refusals are
 * INVALID_INPUT; the LogStore then checks shape, hashes, signatures and the chain link.
 */
export function checkEntriesFor(
  entries: readonly unknown[],
  sessionId: string,
  author: string,
  established: EstablishedProfile | undefined,
): void {
  let profileText = established?.text;
  entries.forEach((value, i) => {
    const e = value as { sessionId?: unknown; author?: unknown; accessControlProfile?: unknown } | null;
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw new SatpError('INVALID_INPUT', `entry ${i} is not an object`);
    if (e.sessionId !== sessionId || e.author !== author) {
      throw new SatpError('INVALID_INPUT', `entry ${i} belongs to another log than ${sessionId}/${author}`);
    }
    const text = e.accessControlProfile;
    if (typeof text !== 'string' || parseAccessProfile(text) === undefined) {
      throw new SatpError(
        'INVALID_INPUT',
        `entry ${i}: accessControlProfile is outside the grammar (docs/log-storage-api.md)`,
      );
    }
    profileText ??= text;
    if (text !== profileText)
      throw new SatpError(
        'INVALID_INPUT',
        `entry ${i}: accessControlProfile differs from the log's ${JSON.stringify(profileText)}`,
      );
  });
}
