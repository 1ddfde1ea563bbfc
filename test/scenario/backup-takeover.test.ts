// A backup takes a gateway's place for good (issue 12; recovery-04 §5.1 primary-backup, §6.1 replacement): the
// primary stops at a point of the transfer and never comes back; a backup with its own key and an X.509
// certificate listed in the primary's takes its open sessions over in the same store. Its takeover entry hands the
// primary's chain to its key; its RECOVER says isBackup with that key; the peer checks the certificate before it
// trusts either. Every session still ends committed or rolled back, with the asset on exactly one ledger.
import { beforeAll, describe, expect, it } from 'vitest';
import { successorAuthority, x5cOf } from '../../identity/x509.ts';
import { auditSession, type HeldChain } from '../../audit/session.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { logIdOf } from '../../kernel/entry.ts';
import { takeoverOf } from '../../kernel/takeover.ts';
import { type OwnerPki, ownerPki } from '../support/owner-pki.ts';
import {
  type Backup,
  checkInvariants,
  DESTINATION,
  LEDGER_A,
  LEDGER_B,
  makePair,
  messageOf,
  ORIGIN,
  type Pair,
  typeOf,
  until,
} from '../support/satp-pair.ts';

let pki: OwnerPki;
/** The backup each gateway's certificate lists, by gateway id. */
const listed = new Map<string, Backup>();

beforeAll(async () => {
  const [originBackup, destinationBackup] = [
    (await generateWebCryptoSigner()).signer,
    (await generateWebCryptoSigner()).signer,
  ];
  pki = await ownerPki({
    [ORIGIN.id]: { publicJwk: ORIGIN.jwk, backups: { 'gw-origin-backup-1': originBackup.publicJwk } },
    [DESTINATION.id]: {
      publicJwk: DESTINATION.jwk,
      backups: { 'gw-destination-backup-1': destinationBackup.publicJwk },
    },
  });
  for (const [id, name, signer] of [
    [ORIGIN.id, 'gw-origin-backup-1', originBackup],
    [DESTINATION.id, 'gw-destination-backup-1', destinationBackup],
  ] as const)
    listed.set(id, { signer, certificate: x5cOf(pki.certs[name]!), name, epoch: 2 });
}, 60_000);

const ended = (pair: Pair, sid: string) =>
  pair.origin.gw.session(sid)?.status.kind === 'ended' && pair.destination.gw.session(sid)?.status.kind === 'ended';

/**
 * Runs one transfer, stops `who` for good as the first message of `type` crosses the wire (that message still
 * arrives), lets the peer go on alone for `gapMs`, then has the listed backup take `who`'s place.
 */
async function takeoverAt(
  who: 'origin' | 'destination',
  type: string,
  sid: string,
  gapMs = 2_000,
  options: Parameters<typeof makePair>[0] = {},
) {
  const pair = await makePair({ successor: pki.authority, ...options });
  const id = pair[who].config.id;
  let stopped = false;
  pair.intercept = (from, _to, env) => {
    if (!stopped && from === id && typeOf(env) === type) {
      stopped = true;
      pair[who].gw.close();
      const before = pair.drop;
      pair.drop = (f, t, e) => f === id || t === id || before(f, t, e);
      pair.whenQuiet(() => undefined);
      restore = () => {
        pair.drop = before;
      };
    }
    return undefined;
  };
  let restore = () => {};
  await pair.origin.gw.startTransfer(pair.request(sid));
  await until(pair, () => stopped || ended(pair, sid), 60, `a ${type} from ${who}`);
  expect(stopped, `the transfer reached ${type}`).toBe(true);
  await pair.clock.advance(gapMs);
  restore();
  pair.intercept = () => undefined;
  const backup = listed.get(id)!;
  const taken = await pair.replace(who, backup);
  // A session the stopped gateway had ended is not taken over: load it, so `ended` sees it.
  void pair[who].gw.whenEnded(sid);
  return { pair, taken, backup, id };
}

/** Checks what every takeover must leave: one takeover entry naming the backup, and RECOVER saying isBackup. */
async function checkTakeover(pair: Pair, sid: string, id: string, backup: Backup) {
  const logId = logIdOf(sid, id);
  const side = id === ORIGIN.id ? pair.origin : pair.destination;
  const peer = id === ORIGIN.id ? pair.destination : pair.origin;
  const chain = await side.store.getLog(logId);
  const takeovers = chain.map((e) => takeoverOf(e)).filter((t) => t !== undefined);
  expect(
    takeovers.map((t) => [t.backup, t.epoch]),
    'one takeover entry',
  ).toEqual([[backup.name, backup.epoch]]);
  expect(takeovers[0]!.publicKey).toEqual(backup.signer.publicJwk);
  const recovers = pair.wire
    .filter((w) => w.from === id && typeOf(w.env) === 'recover-msg')
    .map((w) => ({ m: messageOf(w.env) as { isBackup: boolean; newIdentityPublicKey?: PublicJwk }, env: w.env }));
  expect(recovers.length, 'the backup recovered the session with RECOVER').toBeGreaterThan(0);
  for (const r of recovers) {
    expect(r.m.isBackup).toBe(true);
    expect(r.m.newIdentityPublicKey).toEqual(backup.signer.publicJwk);
    expect(r.env.header?.x5c, 'its certificate travels with it').toEqual([backup.certificate]);
  }
  // An auditor with the same trust finds nothing; one that trusts no successor finds the takeover.
  const chains: HeldChain[] = [];
  for (const holder of [pair.origin, pair.destination])
    for (const author of [ORIGIN.id, DESTINATION.id]) {
      const entries = await holder.store.getLog(logIdOf(sid, author));
      if (entries.length > 0) chains.push({ holder: holder.config.id, author, entries });
    }
  const auditKeys = {
    gateways: { [ORIGIN.id]: ORIGIN.jwk, [DESTINATION.id]: DESTINATION.jwk },
    ledgers: { 'ledger-a': LEDGER_A.jwk, 'ledger-b': LEDGER_B.jwk },
  };
  const audited = await auditSession(sid, chains, { ...auditKeys, successor: pki.authority }, defaultVerifier());
  expect(audited.findings.filter((f) => !f.ok)).toEqual([]);
  const blind = await auditSession(sid, chains, auditKeys, defaultVerifier());
  expect(blind.findings.filter((f) => !f.ok).map((f) => f.detail)).toContainEqual(
    expect.stringMatching(/no successor of .* is trusted here/),
  );
  // The peer accepted the backup's messages: it answered its RECOVER (checking the certificate first).
  expect(pair.wire.some((w) => w.from !== id && typeOf(w.env) === 'recover-update-msg')).toBe(true);
  expect(peer.reports.filter((r) => r.sessionId === sid && r.report.kind === 'refused')).toEqual([]);
}

describe('a backup takes the place of a gateway that never comes back (recovery-04 §5.1, §6.1)', () => {
  const originStops = [
    'transfer-proposal-msg',
    'transfer-commence-msg',
    'lock-assert-msg',
    'commit-prepare-msg',
    'commit-final-msg',
    'commit-transfer-complete-msg',
  ];
  for (const type of originStops) {
    it(`the origin stops as it sends ${type}: its backup finishes the session`, async () => {
      const sid = `s-origin-${type}`;
      const { pair, taken, backup, id } = await takeoverAt('origin', type, sid);
      expect(taken, 'the open session was taken over').toBe(type === 'commit-transfer-complete-msg' ? 0 : 1);
      await until(pair, () => ended(pair, sid), 300, 'both sides end');
      await checkInvariants(pair, sid);
      if (taken > 0) await checkTakeover(pair, sid, id, backup);
    }, 60_000);
  }

  it('a backup starts no session of its own (SUCCESSOR_ONLY), and writes nothing for it', async () => {
    const sid = 's-backup-starts';
    const { pair } = await takeoverAt('origin', 'lock-assert-msg', sid);
    const r = await pair.origin.gw.startTransfer(pair.request('s-new-by-backup', { assetId: 'asset-1' }));
    expect(r).toMatchObject({ accepted: false, code: 'SUCCESSOR_ONLY', status: 409 });
    expect(await pair.origin.store.getLog(logIdOf('s-new-by-backup', ORIGIN.id))).toEqual([]);
    await until(pair, () => ended(pair, sid), 300, 'the session it took over still ends');
    await checkInvariants(pair, sid);
  }, 60_000);

  const destinationStops = ['proposal-receipt-msg', 'ack-commence-msg', 'assertion-receipt-msg', 'commit-ready-msg'];
  for (const type of destinationStops) {
    it(`the destination stops as it sends ${type}: its backup finishes the session`, async () => {
      const sid = `s-destination-${type}`;
      const { pair, taken, backup, id } = await takeoverAt('destination', type, sid);
      expect(taken).toBe(1);
      await until(pair, () => ended(pair, sid), 300, 'both sides end');
      await checkInvariants(pair, sid);
      await checkTakeover(pair, sid, id, backup);
    }, 60_000);
  }
});

describe('a backup the counterparty does not trust changes nothing there', () => {
  it('its RECOVER and every later message are refused; the asset is settled on exactly one ledger', async () => {
    // The destination knows the origin's primary by a certificate that lists no backup.
    const lonely = await pki.issue(ORIGIN.id, ORIGIN.jwk, ['0'.repeat(64)]);
    const distrust = successorAuthority({
      primaries: { [ORIGIN.id]: lonely },
      roots: [pki.root.certificate],
      intermediates: [pki.ca.certificate],
    });
    const sid = 's-untrusted-backup';
    const { pair, taken, id } = await takeoverAt('origin', 'commit-prepare-msg', sid, 2_000, {
      peerTrust: { destination: distrust },
    });
    expect(taken).toBe(1);
    const logId = logIdOf(sid, DESTINATION.id);
    const before = await pair.destination.store.getLog(logId);
    const backupSaid = () => pair.wire.filter((w) => w.from === id && w.env.header?.x5c !== undefined).length;
    const refusals = () =>
      pair.destination.reports.filter((r) => r.report.kind === 'refused' && /not a successor/.test(r.report.detail));
    // Named after a flaky wait: the wire records a message when it is sent, and the destination's check of the
    // backup's certificate (WebCrypto, outside the scheduler's view) may finish later, so wait for the refusals too.
    await until(pair, () => backupSaid() >= 3 && refusals().length > 0, 60, 'the backup tries, and is refused');
    // Nothing the backup sent made the destination log anything.
    const after = await pair.destination.store.getLog(logId);
    const fromBackup = after
      .slice(before.length)
      .filter((e) => (e.payload as { kind?: string; from?: string }).from === id);
    expect(fromBackup, 'no message of the untrusted backup was accepted').toEqual([]);
    // Not authentic: refused before its session is read, so reported under no session, and never answered.
    expect(refusals().length, 'each was refused as not a successor').toBeGreaterThan(0);
    expect(refusals()[0]!.report).toMatchObject({ detail: expect.stringMatching(/not-authorized/) });
    // The destination settles alone: past its deadline the origin ledger attests the burn the backup made, and it
    // assigns. It cannot end (the backup's commit-final is refused), but the asset is settled, on one ledger.
    const where = async () => [
      ...(await pair.origin.ledger.listAssets())
        .filter((a) => a.assetId === 'asset-1' && a.state !== 'burned')
        .map((a) => ['origin', a.owner]),
      ...(await pair.destination.ledger.listAssets())
        .filter((a) => a.assetId === 'asset-1' && a.state !== 'burned')
        .map((a) => ['destination', a.owner]),
    ];
    for (let i = 0; i < 600 && JSON.stringify(await where()) !== '[["destination","bob"]]'; i++)
      await pair.clock.advance(1_000);
    expect(await where(), 'the asset exists on exactly one ledger, with its new owner').toEqual([
      ['destination', 'bob'],
    ]);
    const ops = [...pair.origin.ledger.ops(), ...pair.destination.ledger.ops()].map((o) => o.receipt.kind);
    expect(ops, 'each ledger operation ran once').toEqual(['lock', 'burn', 'mint', 'assign']);
  }, 60_000);
});
