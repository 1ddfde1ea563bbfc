// Gateway replacement's trust decision (recovery-04 §6.1, identity/x509.ts): a backup's key is accepted only with
// a certificate that chains to a trusted root, has the primary's parent, is listed in the primary's certificate,
// is valid at the time and certifies a signing key. Each way to fail is refused by its reason.
import { describe, expect, it } from 'vitest';
import {
  AUTHORIZED_BACKUPS_OID,
  authorizedBackups,
  type Authority,
  certificateHash,
  createAuthority,
  createIntermediate,
  issueGatewayCertificate,
  verifyBackup,
  x509,
} from '../../identity/x509.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';

const NOW = new Date('2026-11-30T12:00:00Z');
const DAY = 86_400_000;
const key = async (): Promise<PublicJwk> => (await generateWebCryptoSigner()).signer.publicJwk;

async function world() {
  const root = await createAuthority('Owner Root CA', 3650, new Date(NOW.getTime() - DAY));
  const ca = await createIntermediate(root, 'Owner Gateways CA', 1825, new Date(NOW.getTime() - DAY));
  const other = await createIntermediate(root, 'Owner Other CA', 1825, new Date(NOW.getTime() - DAY));
  const issue = (issuer: Authority, id: string, publicJwk: PublicJwk, extra = {}) =>
    issueGatewayCertificate(issuer, { id, publicJwk, notBefore: new Date(NOW.getTime() - DAY), ...extra });
  const backupKey = await key();
  const backup = await issue(ca, 'gw-a-backup-1', backupKey);
  const backup2 = await issue(ca, 'gw-a-backup-2', await key());
  const primary = await issue(ca, 'gw-a', await key(), {
    backups: [await certificateHash(backup), await certificateHash(backup2)],
  });
  return { root, ca, other, issue, backup, backup2, backupKey, primary };
}

describe('gateway replacement with X.509 (recovery-04 §6.1)', () => {
  it("accepts a listed backup with the primary's parent, valid now, and gives its key", async () => {
    const w = await world();
    const v = await verifyBackup({
      backup: w.backup.toString('pem'),
      primary: w.primary.toString('pem'),
      roots: [w.root.certificate.toString('pem')],
      intermediates: [w.ca.certificate.toString('pem')],
      at: NOW,
    });
    expect(v).toEqual({ ok: true, id: 'gw-a-backup-1', publicJwk: w.backupKey, hash: await certificateHash(w.backup) });
    expect(authorizedBackups(w.primary)).toEqual([await certificateHash(w.backup), await certificateHash(w.backup2)]);
    expect(w.primary.getExtension(AUTHORIZED_BACKUPS_OID)?.critical).toBe(false);
    expect(authorizedBackups(w.backup)).toEqual([]);
  });

  it('refuses each way a backup can fail, by its reason', async () => {
    const w = await world();
    const base = {
      primary: w.primary,
      roots: [w.root.certificate],
      intermediates: [w.ca.certificate, w.other.certificate],
      at: NOW,
    };
    const reason = async (over: Partial<Parameters<typeof verifyBackup>[0]>) => {
      const v = await verifyBackup({ ...base, backup: w.backup, ...over });
      return v.ok ? 'accepted' : v.reason;
    };
    const strangerRoot = await createAuthority('Stranger Root', 3650, new Date(NOW.getTime() - DAY));
    const stranger = await createIntermediate(strangerRoot, 'Owner Gateways CA', 1825, new Date(NOW.getTime() - DAY));
    const unlisted = await w.issue(w.ca, 'gw-a-backup-3', await key());
    const cousin = await w.issue(w.other, 'gw-a-backup-1', w.backupKey);
    const forged = await w.issue(stranger, 'gw-a-backup-1', w.backupKey);
    const expired = await w.issue(w.ca, 'gw-a-backup-1', w.backupKey, {
      notBefore: new Date(NOW.getTime() - 10 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    const encipherOnly = await w.issue(w.ca, 'gw-a-backup-1', w.backupKey, {
      usages: x509.KeyUsageFlags.keyAgreement,
    });
    const primaryListingAll = await w.issue(w.ca, 'gw-a', await key(), {
      backups: await Promise.all([expired, encipherOnly, cousin].map(certificateHash)),
    });
    expect(await reason({})).toBe('accepted');
    expect(await reason({ backup: unlisted })).toBe('not-authorized');
    expect(await reason({ backup: forged }), 'a look-alike CA under another root').toBe('untrusted-path');
    expect(await reason({ roots: [strangerRoot.certificate] }), 'the owner root not trusted').toBe('untrusted-path');
    expect(await reason({ backup: cousin, primary: primaryListingAll }), 'a sibling CA').toBe('different-parent');
    expect(await reason({ backup: expired, primary: primaryListingAll })).toBe('not-valid-now');
    expect(await reason({ backup: encipherOnly, primary: primaryListingAll })).toBe('key-usage');
    expect(await reason({ at: new Date(NOW.getTime() + 400 * DAY) }), 'the primary expired').toBe('not-valid-now');
    expect(await reason({ backup: 'not a certificate' })).toBe('malformed');
    expect(await reason({ backup: w.ca.certificate }), 'a CA certificate as the backup').toBe('key-usage');
  });

  it('a malformed authorized-backups extension is refused, not read as an empty list', async () => {
    const w = await world();
    const bad = await x509.X509CertificateGenerator.create({
      subject: 'CN=gw-a',
      issuer: w.ca.certificate.subject,
      publicKey: w.primary.publicKey,
      signingKey: w.ca.privateKey,
      notBefore: new Date(NOW.getTime() - DAY),
      notAfter: new Date(NOW.getTime() + DAY),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.Extension(AUTHORIZED_BACKUPS_OID, false, new Uint8Array([0x04, 0x01, 0x00])),
      ],
    });
    expect(authorizedBackups(bad)).toBeInstanceOf(Error);
    const v = await verifyBackup({
      backup: w.backup,
      primary: bad,
      roots: [w.root.certificate],
      intermediates: [w.ca.certificate],
      at: NOW,
    });
    expect(v).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
