// Per-log access control from the entries' accessControlProfile (recovery-04 §4, §7): a small grammar,
// parsed once per log, deciding who reads and who writes. Pure.
import { ID_PATTERN } from '../kernel/entry.ts';

/**
 * What a profile allows, beyond the chain's author (who always reads and writes its own chain).
 *
 * Grammar (docs/log-storage-api.md, "Access control"):
 *
 *     profile = "" / "author-only" / "GatewayOnly" / clause *( ";" clause )
 *     clause  = "public-read" / "gateways:" ids / "backups:" ids
 *     ids     = id *( "," id )          ; id: the gateway-id alphabet of kernel/entry.ts
 *
 * - `author-only` (also "" and the draft's example value "GatewayOnly"): recovery-04 §4's default,
 *   "only the gateway that created the logs can access them".
 * - `gateways:a,b`: gateways a and b may read; only the author writes.
 * - `public-read`: every authenticated gateway may read.
 * - `backups:c`: gateway c may read and write: the backup of recovery-04 §6 that takes over the
 *   chain, its appends conditional on the head so a stale primary is fenced out
 *   (docs/log-storage-api.md, writeLogEntry).
 *   Entries are still verified against the author's key, whoever sends them.
 */
export interface AccessProfile {
  publicRead: boolean;
  readers: ReadonlySet<string>;
  backups: ReadonlySet<string>;
}

export const AUTHOR_ONLY: AccessProfile = Object.freeze({
  publicRead: false,
  readers: new Set<string>(),
  backups: new Set<string>(),
});

const AUTHOR_ONLY_SPELLINGS = new Set(['', 'author-only', 'GatewayOnly']);

/** The profile a text denotes, or undefined if the text is outside the grammar. */
export function parseAccessProfile(text: string): AccessProfile | undefined {
  if (AUTHOR_ONLY_SPELLINGS.has(text)) return AUTHOR_ONLY;
  let publicRead = false;
  const readers = new Set<string>();
  const backups = new Set<string>();
  const seen = new Set<string>();
  for (const clause of text.split(';')) {
    const colon = clause.indexOf(':');
    const name = colon < 0 ? clause : clause.slice(0, colon);
    if (seen.has(name)) return undefined; // one clause of each kind, so a profile has one reading
    seen.add(name);
    if (name === 'public-read' && colon < 0) {
      publicRead = true;
      continue;
    }
    if ((name !== 'gateways' && name !== 'backups') || colon < 0) return undefined;
    const ids = clause.slice(colon + 1).split(',');
    if (!ids.every((id) => ID_PATTERN.test(id))) return undefined;
    for (const id of ids) (name === 'gateways' ? readers : backups).add(id);
  }
  return { publicRead, readers, backups };
}

/** May `gateway` read the chain written by `author` under `profile`? */
export const mayRead = (profile: AccessProfile, author: string, gateway: string): boolean =>
  gateway === author || profile.publicRead || profile.readers.has(gateway) || profile.backups.has(gateway);

/** May `gateway` append to the chain written by `author` under `profile`? */
export const mayWrite = (profile: AccessProfile, author: string, gateway: string): boolean =>
  gateway === author || profile.backups.has(gateway);
