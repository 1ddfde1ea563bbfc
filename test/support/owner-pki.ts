// The owner's PKI that the primary-backup tests and the bench build (docs/identity.md, docs/high-availability.md):
// a root, the gateways' CA under it, each backup's certificate, each primary's certificate listing its backups'
// hashes, and the successor authority that trusts them. Valid from 1970 to 2100, so the simulator's clock (which
// starts near 2023) and the wall clock both fall inside.
import {
  type Authority,
  certificateHash,
  createAuthority,
  createIntermediate,
  issueGatewayCertificate,
  successorAuthority,
  type x509,
} from '../../identity/x509.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';

const FROM = new Date(0);
const UNTIL = new Date('2100-01-01T00:00:00Z');

export interface OwnerPki {
  root: Authority;
  ca: Authority;
  /** Every certificate issued, primaries' and backups', by gateway id. */
  certs: Record<string, x509.X509Certificate>;
  /** Trusts the backups each primary lists, under `root` through `ca`. */
  authority: SuccessorAuthority;
  /** Issues one more certificate under `ca`, with the same validity (`backups`: hashes it lists). */
  issue(id: string, publicJwk: PublicJwk, backups?: string[]): Promise<x509.X509Certificate>;
}

/** `gateways`: each primary's key, and its backups' keys by their ids. */
export async function ownerPki(
  gateways: Record<string, { publicJwk: PublicJwk; backups: Record<string, PublicJwk> }>,
): Promise<OwnerPki> {
  const root = await createAuthority('Owner Root CA', 365_000, FROM);
  const ca = await createIntermediate(root, 'Owner Gateways CA', 300_000, FROM);
  const issue = (id: string, publicJwk: PublicJwk, backups: string[] = []) =>
    issueGatewayCertificate(ca, { id, publicJwk, backups, notBefore: FROM, notAfter: UNTIL });
  const certs: Record<string, x509.X509Certificate> = {};
  const primaries: Record<string, x509.X509Certificate> = {};
  for (const [id, g] of Object.entries(gateways)) {
    const hashes: string[] = [];
    for (const [backup, key] of Object.entries(g.backups)) {
      certs[backup] = await issue(backup, key);
      hashes.push(await certificateHash(certs[backup]));
    }
    certs[id] = primaries[id] = await issue(id, g.publicJwk, hashes);
  }
  const authority = successorAuthority({ primaries, roots: [root.certificate], intermediates: [ca.certificate] });
  return { root, ca, certs, authority, issue };
}
