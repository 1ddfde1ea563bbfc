// satp-keygen --pki: a demo CA, a primary gateway and its backups, as recovery-04 §6.1 gateway replacement needs
// them (identity/x509.ts, docs/identity.md). Keys are created once and kept (never overwritten); certificates
// are issued afresh on every run, so a run with more backups gives the primary a certificate listing them all.
import { existsSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pid } from 'node:process';
import { loadOrCreateKey } from '../gateway/keys.ts';
import {
  type Authority,
  authorityPrivateJwk,
  certificateHash,
  createAuthority,
  issueGatewayCertificate,
  loadAuthority,
} from '../identity/x509.ts';

export interface PkiResult {
  root: string;
  primary: { id: string; key: string; certificate: string; hash: string };
  backups: { id: string; key: string; certificate: string; hash: string }[];
}

/** Writes `text` to `path` atomically (temp file, fsync, rename), readable by the owner only when `secret`. */
async function writeFileAtomic(path: string, text: string, secret: boolean): Promise<void> {
  const tmp = `${path}.${pid}.tmp`;
  const file = await open(tmp, 'w', secret ? 0o600 : 0o644);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

/** The demo CA in `dir` (ca.pem, ca.key.json), created on the first run and reused after. */
async function authorityIn(dir: string): Promise<Authority> {
  const cert = join(dir, 'ca.pem');
  const key = join(dir, 'ca.key.json');
  if (existsSync(cert) && existsSync(key))
    return loadAuthority(await readFile(cert, 'utf8'), JSON.parse(await readFile(key, 'utf8')) as JsonWebKey);
  const ca = await createAuthority('satp-recovery demo CA');
  await writeFileAtomic(key, JSON.stringify(await authorityPrivateJwk(ca)), true);
  await writeFileAtomic(cert, ca.certificate.toString('pem'), false);
  return ca;
}

/** Creates (or reuses) the CA, the primary's and each backup's key, and issues their certificates in `dir`. */
export async function createPki(dir: string, primaryId: string, backups: number): Promise<PkiResult> {
  const ca = await authorityIn(dir);
  const issue = async (id: string, listed: string[]) => {
    const key = join(dir, `${id}.key.json`);
    const { publicJwk } = await loadOrCreateKey(key);
    const cert = await issueGatewayCertificate(ca, { id, publicJwk, backups: listed });
    const certificate = join(dir, `${id}.pem`);
    await writeFileAtomic(certificate, cert.toString('pem'), false);
    return { id, key, certificate, hash: await certificateHash(cert) };
  };
  const issued = [];
  for (let k = 1; k <= backups; k++) issued.push(await issue(`${primaryId}-backup-${k}`, []));
  const primary = await issue(
    primaryId,
    issued.map((b) => b.hash),
  );
  return { root: join(dir, 'ca.pem'), primary, backups: issued };
}
