// Who may sign a gateway's chain and messages after a takeover (kernel/takeover.ts; recovery-04 §5.1, §6.1):
// entries are signed with the primary's key until a takeover entry whose certificate the successor authority
// accepts, then with the key that certificate certifies, and only with it; a message carrying a certificate (x5c)
// is trusted only if the authority accepts it for its sender, and a RECOVER must say isBackup with that key.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Authority,
  certificateHash,
  createAuthority,
  createIntermediate,
  issueGatewayCertificate,
  successorAuthority,
  x5cOf,
  x509,
} from '../../identity/x509.ts';
import { verifyChain } from '../../kernel/chain.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { PublicJwk, Signer } from '../../kernel/crypto/types.ts';
import { type ChainHead, type LogEntry, logIdOf, nextEntryBody } from '../../kernel/entry.ts';
import { SatpError } from '../../kernel/errors.ts';
import { openEnvelope, sealMessage } from '../../kernel/satp/envelope.ts';
import { RMSG } from '../../kernel/satp/recovery-messages.ts';
import { SATP_ERRORS } from '../../kernel/satp/error-codes.ts';
import type { SatpMessage } from '../../kernel/satp/messages.ts';
import { sealEntry } from '../../kernel/seal.ts';
import { type SuccessorAuthority, takeoverEntryBody } from '../../kernel/takeover.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { chainContext, G1, G2, step, trustedKeys, verifyCtx } from '../support/fixtures.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const at = (days: number) => new Date(NOW + days * DAY);

interface World {
  root: Authority;
  ca: Authority;
  backup: { signer: Signer; cert: x509.X509Certificate; x5c: string };
  authority: SuccessorAuthority;
  issue: (issuer: Authority, id: string, key: PublicJwk, extra?: object) => Promise<x509.X509Certificate>;
}
let w: World;

beforeAll(async () => {
  const root = await createAuthority('Owner Root CA', 3650, at(-30));
  const ca = await createIntermediate(root, 'Owner Gateways CA', 1825, at(-30));
  const issue = (issuer: Authority, id: string, publicJwk: PublicJwk, extra = {}) =>
    issueGatewayCertificate(issuer, { id, publicJwk, notBefore: at(-1), notAfter: at(365), ...extra });
  const { signer } = await generateWebCryptoSigner();
  const cert = await issue(ca, 'gw-origin-backup-1', signer.publicJwk);
  const primary = await issue(ca, G1.id, G1.jwk, { backups: [await certificateHash(cert)] });
  const authority = successorAuthority({
    primaries: { [G1.id]: primary },
    roots: [root.certificate],
    intermediates: [ca.certificate],
  });
  w = { root, ca, backup: { signer, cert, x5c: x5cOf(cert) }, authority, issue };
}, 60_000);

const ctx = () => ({ ...verifyCtx, successor: w.authority });
const head = (e: LogEntry): ChainHead => ({ seq: e.seqNumber, hash: e.entryHash });

/** `n` entries by the primary, a takeover by `certificate` (signed by `takeoverSigner`), then `after` entries. */
async function chainWithTakeover(
  sid: string,
  opts: { certificate?: string; takeoverSigner?: Signer; claimedKey?: PublicJwk; afterSigner?: Signer } = {},
): Promise<LogEntry[]> {
  const c = chainContext(sid);
  const out: LogEntry[] = [];
  let h: ChainHead = { seq: 0, hash: '0'.repeat(64) };
  for (let i = 0; i < 3; i++) {
    out.push(await sealEntry(nextEntryBody(c, h, step(i)), G1.signer));
    h = head(out.at(-1)!);
  }
  const takeover = takeoverEntryBody(
    c,
    h,
    {
      backup: 'gw-origin-backup-1',
      certificate: opts.certificate ?? w.backup.x5c,
      publicKey: opts.claimedKey ?? w.backup.signer.publicJwk,
      epoch: 2,
    },
    'commitment',
    NOW,
  );
  out.push(await sealEntry(takeover, opts.takeoverSigner ?? w.backup.signer));
  h = head(out.at(-1)!);
  for (let i = 3; i < 5; i++) {
    out.push(await sealEntry(nextEntryBody(c, h, step(i)), opts.afterSigner ?? w.backup.signer));
    h = head(out.at(-1)!);
  }
  return out;
}

describe('chain verification across a takeover', () => {
  it("accepts the backup's entries after a takeover its certificate authorizes, and reports it", async () => {
    const chain = await chainWithTakeover('s-ok');
    const r = await verifyChain(chain, ctx());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.successions).toEqual([{ seq: 4, key: w.backup.signer.publicJwk }]);
  });

  it('refuses each entry that is not signed by the key in force', async () => {
    const primaryAfter = await verifyChain(await chainWithTakeover('s-late', { afterSigner: G1.signer }), ctx());
    expect(primaryAfter, 'the primary signs after the takeover').toMatchObject({
      ok: false,
      index: 4,
      reason: 'bad-signature',
    });
    const primaryTakeover = await verifyChain(await chainWithTakeover('s-t', { takeoverSigner: G1.signer }), ctx());
    expect(primaryTakeover, 'the takeover is not signed by the new key').toMatchObject({ ok: false, index: 3 });
    // The backup's key before any takeover: an entry it signs in the primary's chain is a forgery.
    const c = chainContext('s-early');
    const first = await sealEntry(nextEntryBody(c, { seq: 0, hash: '0'.repeat(64) }, step(0)), w.backup.signer);
    expect(await verifyChain([first], ctx())).toMatchObject({ ok: false, index: 0, reason: 'bad-signature' });
  });

  it('refuses a takeover the authority does not accept, or that names another key, or with no authority', async () => {
    const unlisted = await w.issue(w.ca, 'gw-origin-backup-9', w.backup.signer.publicJwk);
    const r1 = await verifyChain(await chainWithTakeover('s-unlisted', { certificate: x5cOf(unlisted) }), ctx());
    expect(r1).toMatchObject({ ok: false, index: 3, reason: 'unknown-author' });
    expect(r1.ok || r1.detail).toMatch(/not-authorized/);
    const r2 = await verifyChain(await chainWithTakeover('s-key', { claimedKey: G2.jwk }), ctx());
    expect(r2).toMatchObject({ ok: false, index: 3, reason: 'unknown-author' });
    expect(r2.ok || r2.detail).toMatch(/does not certify/);
    const r3 = await verifyChain(await chainWithTakeover('s-none'), verifyCtx);
    expect(r3).toMatchObject({ ok: false, index: 3, reason: 'unknown-author' });
    expect(r3.ok || r3.detail).toMatch(/no successor/);
  });
});

describe('the log store across a takeover', () => {
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'stored',
      (e: unknown) => (e instanceof SatpError ? e.code : String(e)),
    );

  it('appends the takeover and then only what the backup signs, also after the store restarts', async () => {
    const driver = new MemoryDriver();
    const store = new LogStore(driver, ctx());
    const chain = await chainWithTakeover('s-store');
    const logId = logIdOf('s-store', G1.id);
    await store.writeLogEntries(chain.slice(0, 3));
    await store.writeLogEntries([chain[3]!]);
    // The primary, late, signs the next entry: refused, nothing stored.
    const c = chainContext('s-store');
    const late = await sealEntry(nextEntryBody(c, head(chain[3]!), step(3)), G1.signer);
    expect(await code(store.writeLogEntries([late]))).toBe('BAD_SIGNATURE');
    // A store opened afresh on the same data reads the takeover from the log.
    const reopened = new LogStore(driver, ctx());
    expect(await code(reopened.writeLogEntries([late]))).toBe('BAD_SIGNATURE');
    expect(await code(reopened.writeLogEntries([chain[4]!]))).toBe('stored');
    expect(await code(store.writeLogEntries([chain[5]!])), 'the first store learned it too').toBe('stored');
    expect((await store.getHead(logId))?.seq).toBe(6);
    expect((await reopened.verifyLog(logId)).ok).toBe(true);
  });

  it('refuses an unauthorized takeover and keeps nothing; a store with no authority refuses any', async () => {
    const unlisted = await w.issue(w.ca, 'gw-origin-backup-9', w.backup.signer.publicJwk);
    const bad = await chainWithTakeover('s-store-bad', { certificate: x5cOf(unlisted) });
    const store = new LogStore(new MemoryDriver(), ctx());
    await store.writeLogEntries(bad.slice(0, 3));
    expect(await code(store.writeLogEntries([bad[3]!]))).toBe('UNKNOWN_AUTHOR');
    expect((await store.getHead(logIdOf('s-store-bad', G1.id)))?.seq).toBe(3);
    const plain = new LogStore(new MemoryDriver(), { keys: trustedKeys, verifier: verifyCtx.verifier });
    const good = await chainWithTakeover('s-store-plain');
    await plain.writeLogEntries(good.slice(0, 3));
    expect(await code(plain.writeLogEntries([good[3]!]))).toBe('UNKNOWN_AUTHOR');
  });

  it("updateLog takes a copy of a peer's chain across its takeover, page by page", async () => {
    const chain = (await chainWithTakeover('s-copy')).map((e) => JSON.parse(JSON.stringify(e)) as LogEntry);
    const copy = new LogStore(new MemoryDriver(), ctx());
    const logId = logIdOf('s-copy', G1.id);
    await copy.updateLog(logId, chain.slice(0, 4));
    // A fresh store (a restart) must know the key in force at seq 4 to check the next page.
    const again = new LogStore((copy as unknown as { driver: MemoryDriver }).driver, ctx());
    const r = await again.updateLog(logId, chain.slice(3));
    expect(r.appended.map((e) => e.seqNumber)).toEqual([5, 6]);
  });
});

describe('messages from a backup (x5c) and its RECOVER', () => {
  const recover = (extra: Partial<Record<string, unknown>> = {}): SatpMessage =>
    ({
      version: '1.0',
      sessionId: 's-msg',
      contextId: 'ctx-s-msg',
      messageType: RMSG.recover,
      phase: 'commitment',
      seqNumber: 4,
      lastEntryHash: 'a'.repeat(64),
      peerSeqNumber: 2,
      peerLastEntryHash: 'b'.repeat(64),
      lastEntryTimestamp: NOW,
      isBackup: true,
      newIdentityPublicKey: w.backup.signer.publicJwk,
      ...extra,
    }) as unknown as SatpMessage;
  const open = async (m: SatpMessage, signer: Signer, x5c?: string, authority: SuccessorAuthority = w.authority) =>
    openEnvelope(await sealMessage(m, G1.id, signer, x5c), G1.id, trustedKeys, verifyCtx.verifier, {
      authority,
      now: NOW,
    });

  it("accepts a listed backup's RECOVER that says isBackup with its key, and names the backup", async () => {
    const r = await open(recover(), w.backup.signer, w.backup.x5c);
    expect(r).toMatchObject({ ok: true, successor: { name: 'gw-origin-backup-1', key: w.backup.signer.publicJwk } });
  });

  it('refuses a RECOVER whose isBackup or newIdentityPublicKey does not match who signed it', async () => {
    const cases = [
      { what: 'isBackup without a certificate', r: await open(recover(), G1.signer) },
      {
        what: 'a certificate but isBackup false',
        r: await open(recover({ isBackup: false }), w.backup.signer, w.backup.x5c),
      },
      {
        what: 'another key named',
        r: await open(recover({ newIdentityPublicKey: G2.jwk }), w.backup.signer, w.backup.x5c),
      },
      { what: 'signed by the primary with the certificate', r: await open(recover(), G1.signer, w.backup.x5c) },
    ];
    for (const c of cases) expect(c.r, c.what).toMatchObject({ ok: false });
    expect(cases.map((c) => (c.r.ok ? '' : c.r.error.code))).toEqual([
      SATP_ERRORS.forbidden.code,
      SATP_ERRORS.forbidden.code,
      SATP_ERRORS.forbidden.code,
      SATP_ERRORS.badSignature.code,
    ]);
  });

  it('refuses each bad certificate by its reason (issue 12), and any certificate with no authority', async () => {
    const key = w.backup.signer.publicJwk;
    const stranger = await createAuthority('Stranger Root', 3650, at(-30));
    const strangerCa = await createIntermediate(stranger, 'Owner Gateways CA', 1825, at(-30));
    const sibling = await createIntermediate(w.root, 'Owner Other CA', 1825, at(-30));
    const certs = {
      'another issuer': await w.issue(sibling, 'gw-origin-backup-1', key),
      "not in the primary's list": await w.issue(w.ca, 'gw-origin-backup-2', key),
      expired: await w.issue(w.ca, 'gw-origin-backup-1', key, { notBefore: at(-10), notAfter: at(-1) }),
      'not yet valid': await w.issue(w.ca, 'gw-origin-backup-1', key, { notBefore: at(1), notAfter: at(10) }),
      'wrong key usage': await w.issue(w.ca, 'gw-origin-backup-1', key, {
        usages: x509.KeyUsageFlags.keyAgreement,
      }),
      'self-signed': (await createAuthority('gw-origin-backup-1', 10, at(-1))).certificate,
      'unknown root': await w.issue(strangerCa, 'gw-origin-backup-1', key),
    };
    // A primary whose list holds a hash that matches nothing: no certificate can be its backup.
    const lonely = await w.issue(w.ca, G1.id, G1.jwk, { backups: ['0'.repeat(64)] });
    const lonelyAuthority = successorAuthority({
      primaries: { [G1.id]: lonely },
      roots: [w.root.certificate],
      intermediates: [w.ca.certificate],
    });
    const details: Record<string, string> = {};
    for (const [what, cert] of Object.entries(certs)) {
      const r = await open(recover(), w.backup.signer, x5cOf(cert));
      expect(r, what).toMatchObject({ ok: false, authentic: false });
      details[what] = r.ok ? '' : r.detail.split(':')[1]!.trim();
    }
    const r = await open(recover(), w.backup.signer, w.backup.x5c, lonelyAuthority);
    details['a list hash that matches nothing'] = r.ok ? '' : r.detail.split(':')[1]!.trim();
    // The other issuer is a CA the peer knows too: the path holds, the parent is not the primary's.
    const knowsSibling = successorAuthority({
      primaries: {
        [G1.id]: await w.issue(w.ca, G1.id, G1.jwk, { backups: [await certificateHash(certs['another issuer'])] }),
      },
      roots: [w.root.certificate],
      intermediates: [w.ca.certificate, sibling.certificate],
    });
    const cousin = await open(recover(), w.backup.signer, x5cOf(certs['another issuer']), knowsSibling);
    details['another issuer the peer knows'] = cousin.ok ? '' : cousin.detail.split(':')[1]!.trim();
    expect(details).toEqual({
      'another issuer': 'untrusted-path',
      'another issuer the peer knows': 'different-parent',
      "not in the primary's list": 'not-authorized',
      expired: 'not-valid-now',
      'not yet valid': 'not-valid-now',
      'wrong key usage': 'key-usage',
      'self-signed': 'untrusted-path',
      'unknown root': 'untrusted-path',
      'a list hash that matches nothing': 'not-authorized',
    });
    const none = await openEnvelope(
      await sealMessage(recover(), G1.id, w.backup.signer, w.backup.x5c),
      G1.id,
      trustedKeys,
      verifyCtx.verifier,
    );
    expect(none).toMatchObject({ ok: false, detail: expect.stringMatching(/no successor is trusted/) });
  });
});
