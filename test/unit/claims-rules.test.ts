// What a ledger proof proves (kernel/satp/claims.ts), one rule at a time, with real signed receipts and
// attestations of an in-memory ledger: a receipt proves an operation only if it is well formed, its signature
// verified, it says the operation applied, and it is this session's operation on the expected ledger; a ROLLBACK's
// proofs must be the peer's own compensations, every one it owes; an attestation of the origin ledger says
// burned, never, wait, or call an operator.
import { describe, expect, it } from 'vitest';
import {
  checkReceipt,
  claimReceipt,
  compensationProblem,
  judgeAttestation,
  proofId,
} from '../../kernel/satp/claims.ts';
import { burnOp, compensationOp, lockOp, lockOpId, mintOp } from '../../kernel/satp/ops.ts';
import type { SessionState } from '../../kernel/satp/state.ts';
import { ProofsUnavailable, receiptsIn, withCheckedProofs } from '../../kernel/satp/proofs.ts';
import { gatewayConfig, type GatewayEvent, MSG, RMSG } from '../../kernel/satp/index.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { receiptMatchesOp } from '../../kernel/ledger-receipt.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { LEDGER_A, LEDGER_B } from '../support/satp-pair.ts';

const T = 1_700_000_000_000;
const SID = 's-1';
const ASSET = 'asset-1';

function ledgers(now = () => T) {
  const a = new MemoryLedger({
    id: 'ledger-a',
    signer: LEDGER_A.signer,
    now,
    assets: [{ assetId: ASSET, owner: 'alice' }],
  });
  const b = new MemoryLedger({ id: 'ledger-b', signer: LEDGER_B.signer, now });
  return { a, b };
}

const lockWant = { ledgerId: 'ledger-a', opId: lockOpId(SID), kind: 'lock' as const, assetId: ASSET };

describe('claimReceipt', () => {
  it('takes the receipt out of a claim object, and nothing out of anything else', () => {
    const r = { opId: 'x' };
    expect(claimReceipt({ receipt: r })).toBe(r);
    for (const v of [null, undefined, 'receipt', 7, [r], {}, { receipt: null }])
      expect(claimReceipt(v)).toBeUndefined();
  });
});

describe('checkReceipt', () => {
  it("proves the expected op only when well formed, verified, applied and bound to the op's every field", async () => {
    const { a } = ledgers();
    const op = lockOp(SID, ASSET, 'alice', T + 60_000);
    const receipt = await a.execute(op);
    const verified = [proofId(receipt)];
    expect(checkReceipt(receipt, verified, { ...lockWant, op })).toEqual({ ok: true, receipt });
    expect(checkReceipt(receipt, verified, lockWant)).toEqual({ ok: true, receipt });
    const fail = (v: unknown, ids: string[], want: Parameters<typeof checkReceipt>[2]) => {
      const c = checkReceipt(v, ids, want);
      if (c.ok) throw new Error('accepted');
      return c;
    };
    expect(fail({ ...receipt, kind: 'teleport' }, verified, lockWant)).toEqual({
      ok: false,
      unsigned: false,
      detail: `no well-formed receipt for ${lockOpId(SID)}`,
    });
    expect(fail(receipt, [], lockWant)).toEqual({
      ok: false,
      unsigned: true,
      detail: `the receipt of ${lockOpId(SID)} is not signed by ledger ledger-a`,
    });
    expect(fail(receipt, verified, { ...lockWant, ledgerId: 'ledger-b' })).toMatchObject({
      unsigned: false,
      detail: 'the receipt is from ledger ledger-a, not ledger-b',
    });
    for (const other of [{ opId: 'other' }, { kind: 'burn' as const }, { assetId: 'asset-2' }])
      expect(fail(receipt, verified, { ...lockWant, ...other })).toMatchObject({
        unsigned: false,
        detail: expect.stringMatching(/^the receipt is for lock /),
      });
    const later = lockOp(SID, ASSET, 'alice', T + 61_000);
    expect(fail(receipt, verified, { ...lockWant, op: later })).toMatchObject({
      unsigned: false,
      detail: `the receipt of ${lockOpId(SID)} is for an op with other fields`,
    });
  });

  it('a signed refusal proves nothing', async () => {
    const { a } = ledgers();
    const refused = await a.execute(lockOp(SID, ASSET, 'mallory', T + 60_000));
    expect(refused.ok).toBe(false);
    expect(checkReceipt(refused, [proofId(refused)], lockWant)).toEqual({
      ok: false,
      unsigned: false,
      detail: `the receipt of ${lockOpId(SID)} says the ledger refused it`,
    });
  });
});

describe('compensationProblem', () => {
  const session = (role: 'origin' | 'destination', peerOps: SessionState['peerOps']): SessionState =>
    ({ role, sessionId: SID, claim: { digitalAssetId: ASSET }, peerOps }) as unknown as SessionState;

  it("a destination that saw the lock needs the origin's UNLOCK, proven; nothing else is a compensation", async () => {
    const { a } = ledgers();
    const lock = await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
    const unlock = await a.execute(compensationOp(SID, ASSET, 'UNLOCK'));
    const d = session('destination', { lock });
    const ids = [proofId(unlock)];
    expect(compensationProblem(d, 'ledger-a', ['UNLOCK'], [unlock], ids)).toBeUndefined();
    expect(compensationProblem(d, 'ledger-a', [], [], ids)).toBe(
      "no proof of the peer's UNLOCK, which it owes: it proved a lock",
    );
    expect(compensationProblem(d, 'ledger-a', ['BURN'], [unlock], ids)).toBe(
      'the peer cannot have performed BURN as a compensation',
    );
    expect(compensationProblem(d, 'ledger-a', ['UNLOCK'], [], ids)).toBe('1 actions performed but 0 proofs');
    expect(compensationProblem(d, 'ledger-a', ['UNLOCK'], [unlock], [])).toMatch(/is not signed by ledger/);
    expect(compensationProblem(d, 'ledger-b', ['UNLOCK'], [unlock], ids)).toMatch(/not ledger-b/);
    // A receipt of the forward lock is not an unlock.
    expect(compensationProblem(d, 'ledger-a', ['UNLOCK'], [lock], [proofId(lock)])).toMatch(/^the receipt is for lock/);
    // Without a proven lock, nothing is owed, and an empty ROLLBACK is fine.
    expect(compensationProblem(session('destination', {}), 'ledger-a', [], [], [])).toBeUndefined();
  });

  it("an origin that saw the mint needs the destination's compensating BURN, proven", async () => {
    const { b } = ledgers();
    const mint = await b.execute(mintOp(SID, ASSET, 'gw-destination'));
    const burn = await b.execute(compensationOp(SID, ASSET, 'BURN'));
    const o = session('origin', { mint });
    expect(compensationProblem(o, 'ledger-b', ['BURN'], [burn], [proofId(burn)])).toBeUndefined();
    expect(compensationProblem(o, 'ledger-b', [], [], [])).toBe(
      "no proof of the peer's BURN, which it owes: it proved a mint",
    );
    expect(compensationProblem(o, 'ledger-b', ['UNLOCK'], [burn], [proofId(burn)])).toBe(
      'the peer cannot have performed UNLOCK as a compensation',
    );
    expect(compensationProblem(session('origin', {}), 'ledger-b', [], [], [])).toBeUndefined();
  });
});

describe('judgeAttestation', () => {
  const destination = {
    role: 'destination',
    sessionId: SID,
    claim: { digitalAssetId: ASSET },
  } as unknown as SessionState;

  async function attested(setup: (a: MemoryLedger) => Promise<unknown>, clock = { t: T }) {
    const { a } = ledgers(() => clock.t);
    await setup(a);
    return a.attest(ASSET, [burnOp(SID, ASSET).opId]);
  }

  it("burned when the attestation shows this session's burn applied", async () => {
    const at = await attested(async (a) => {
      await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
      await a.execute(burnOp(SID, ASSET));
    });
    expect(judgeAttestation(destination, at, true, 'ledger-a')).toEqual({ kind: 'burned' });
  });

  it("wait while the lock holds by the ledger's clock; never once it lapsed there", async () => {
    const clock = { t: T };
    const holding = await attested((a) => a.execute(lockOp(SID, ASSET, 'alice', T + 60_000)), clock);
    expect(judgeAttestation(destination, holding, true, 'ledger-a')).toEqual({
      kind: 'wait',
      ledgerTime: T,
      lockExpiresAt: T + 60_000,
    });
    const { a } = ledgers(() => clock.t);
    await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
    clock.t = T + 60_000;
    const lapsed = await a.attest(ASSET, [burnOp(SID, ASSET).opId]);
    expect(judgeAttestation(destination, lapsed, true, 'ledger-a')).toMatchObject({ kind: 'never' });
    const noExpiry = { ...holding, asset: { ...holding.asset!, lockExpiresAt: undefined } };
    expect(judgeAttestation(destination, noExpiry, true, 'ledger-a')).toMatchObject({ kind: 'operator' });
  });

  it('never when the lock no longer holds the asset (unlocked, or locked by another op)', async () => {
    const unlocked = await attested(async (a) => {
      await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
      await a.execute(compensationOp(SID, ASSET, 'UNLOCK'));
    });
    expect(judgeAttestation(destination, unlocked, true, 'ledger-a')).toEqual({
      kind: 'never',
      why: `this session's lock no longer holds ${ASSET} (active)`,
    });
    // A ledger that keeps the old lock's id on an unlocked asset: the lock still no longer holds it.
    const stale = { ...unlocked, asset: { ...unlocked.asset!, lockOpId: lockOpId(SID), lockExpiresAt: T + 60_000 } };
    expect(judgeAttestation(destination, stale, true, 'ledger-a')).toMatchObject({ kind: 'never' });
    const other = await attested((a) => a.execute(lockOp('s-2', ASSET, 'alice', T + 60_000)));
    expect(judgeAttestation(destination, other, true, 'ledger-a')).toMatchObject({
      kind: 'never',
      why: expect.stringContaining(`by ${lockOpId('s-2')}`),
    });
  });

  it('an operator when the asset is gone otherwise; invalid when unsigned or about something else', async () => {
    const burnedElsewhere = await attested(async (a) => {
      await a.execute(lockOp('s-2', ASSET, 'alice', T + 60_000));
      await a.execute(burnOp('s-2', ASSET));
    });
    expect(judgeAttestation(destination, burnedElsewhere, true, 'ledger-a')).toMatchObject({ kind: 'operator' });
    const none = { ...burnedElsewhere, asset: undefined };
    expect(judgeAttestation(destination, none, true, 'ledger-a')).toMatchObject({
      kind: 'operator',
      detail: `the origin ledger has no asset ${ASSET}`,
    });
    expect(judgeAttestation(destination, burnedElsewhere, false, 'ledger-a')).toMatchObject({ kind: 'invalid' });
    expect(judgeAttestation(destination, burnedElsewhere, true, 'ledger-b')).toMatchObject({ kind: 'invalid' });
    const otherAsset = { ...burnedElsewhere, assetId: 'asset-2' };
    expect(judgeAttestation(destination, otherAsset, true, 'ledger-a')).toMatchObject({ kind: 'invalid' });
    // Another op of this session that applied (its lock) is not a burn either.
    const lockApplied = { ...burnedElsewhere, ops: [{ opId: lockOpId(SID), ok: true }] };
    expect(judgeAttestation(destination, lockApplied, true, 'ledger-a').kind).not.toBe('burned');
    // A burn of this session that the ledger refused is not a burn.
    const refusedBurn = { ...burnedElsewhere, ops: [{ opId: burnOp(SID, ASSET).opId, ok: false }] };
    expect(judgeAttestation(destination, refusedBurn, true, 'ledger-a').kind).not.toBe('burned');
  });
});

describe('receiptMatchesOp', () => {
  it('binds a receipt to one op: another op, or the same op with any field changed, does not match', async () => {
    const { a } = ledgers();
    const op = lockOp(SID, ASSET, 'alice', T + 60_000);
    const receipt = await a.execute(op);
    expect(receiptMatchesOp(receipt, op)).toBe(true);
    expect(receiptMatchesOp(receipt, { ...op, owner: 'mallory' })).toBe(false);
    expect(receiptMatchesOp(receipt, { ...op, expiresAt: T + 61_000 } as typeof op)).toBe(false);
    expect(receiptMatchesOp(receipt, lockOp('s-2', ASSET, 'alice', T + 60_000))).toBe(false);
    expect(receiptMatchesOp(receipt, burnOp(SID, ASSET))).toBe(false);
    // A receipt whose own fields disagree with the op it hashes does not match it either.
    for (const field of [{ opId: 'other' }, { kind: 'burn' }, { assetId: 'asset-2' }])
      expect(receiptMatchesOp({ ...receipt, ...field } as typeof receipt, op)).toBe(false);
  });
});

describe('the proofs a message carries (kernel/satp/proofs.ts)', () => {
  const msg = (messageType: string, fields: Record<string, unknown>) => ({ messageType, ...fields }) as never;
  it('are the receipt of its assertion claim, or every proof of a ROLLBACK or ROLLBACK-ACK, and nothing else', () => {
    const r = { opId: 'x' };
    expect(receiptsIn(msg(MSG.lockAssert, { lockAssertionClaim: { receipt: r } }))).toEqual([r]);
    expect(receiptsIn(msg(MSG.commitReady, { mintAssertionClaim: { receipt: r } }))).toEqual([r]);
    expect(receiptsIn(msg(MSG.commitFinal, { burnAssertionClaim: { receipt: r } }))).toEqual([r]);
    expect(receiptsIn(msg(MSG.ackCommitFinal, { assignmentAssertionClaim: { receipt: r } }))).toEqual([r]);
    expect(receiptsIn(msg(RMSG.rollback, { proofs: [r, r] }))).toEqual([r, r]);
    expect(receiptsIn(msg(RMSG.rollbackAck, { proofs: [] }))).toEqual([]);
    expect(receiptsIn(msg(MSG.transferProposal, { lockAssertionClaim: { receipt: r } }))).toEqual([]);
    for (const claim of [undefined, null, 'receipt', [r], {}])
      expect(receiptsIn(msg(MSG.lockAssert, { lockAssertionClaim: claim }))).toEqual([]);
  });

  it('an attestation verifies only against the key of the ledger of the gateway it is attributed to', async () => {
    const { a } = ledgers();
    const attestation = await a.attest(ASSET, []);
    const peers = { 'gw-origin': { publicJwk: LEDGER_A.jwk, networkId: 'ledger-a', ledgerKey: LEDGER_A.jwk } };
    const cfg = gatewayConfig({
      id: 'gw-b',
      publicJwk: LEDGER_B.jwk,
      networkId: 'ledger-b',
      ledgerKey: LEDGER_B.jwk,
      peers,
    });
    const ev = { kind: 'attestation', attestation } as unknown as GatewayEvent;
    const verifier = defaultVerifier();
    expect(await withCheckedProofs(ev, cfg, verifier, 'gw-origin')).toMatchObject({ verified: true });
    expect(await withCheckedProofs(ev, cfg, verifier, 'gw-stranger')).toMatchObject({ verified: false });
    expect(await withCheckedProofs(ev, cfg, verifier)).toMatchObject({ verified: false });
    // The receipts of a message from a gateway whose ledger key is unknown prove nothing.
    const receipt = await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
    const message = {
      kind: 'message',
      from: 'gw-stranger',
      message: msg(MSG.lockAssert, { lockAssertionClaim: { receipt } }),
    };
    expect(await withCheckedProofs(message as unknown as GatewayEvent, cfg, verifier)).toMatchObject({ proofs: [] });
    expect(
      await withCheckedProofs({ ...message, from: 'gw-origin' } as unknown as GatewayEvent, cfg, verifier),
    ).toMatchObject({
      proofs: [proofId(receipt)],
    });
  });

  it(
    "a chain's receipts and attestations are checked by that chain's checker, chosen by network id, " +
      'and by nothing else',
    async () => {
      const { a } = ledgers();
      const signed = await a.execute(lockOp(SID, ASSET, 'alice', T + 60_000));
      const { proof: _p, ...body } = signed;
      const evidence = {
        type: 'evm',
        chainId: 31337,
        contract: `0x${'ab'.repeat(20)}`,
        blockNumber: 7,
        blockHash: `0x${'cd'.repeat(32)}`,
      } as const;
      const onChain = { ...body, evidence: { ...evidence, txHash: `0x${'ef'.repeat(32)}`, logIndex: 0 } };
      const attested = { ...(await a.attest(ASSET, [])), proof: undefined, evidence };
      const asked: string[] = [];
      let answer = true;
      const checker = {
        receipt: async (r: { opId: string }) => {
          asked.push(`receipt ${r.opId}`);
          return answer;
        },
        attestation: async (x: { assetId: string }) => {
          asked.push(`attestation ${x.assetId}`);
          return answer;
        },
      };
      const peers = { 'gw-origin': { publicJwk: LEDGER_A.jwk, networkId: 'ledger-a' } };
      const cfg = gatewayConfig({ id: 'gw-b', publicJwk: LEDGER_B.jwk, networkId: 'ledger-b', peers });
      const verifier = defaultVerifier();
      const message = {
        kind: 'message',
        from: 'gw-origin',
        message: msg(MSG.lockAssert, { lockAssertionClaim: { receipt: onChain } }),
      } as unknown as GatewayEvent;
      const attestation = { kind: 'attestation', attestation: attested } as unknown as GatewayEvent;
      // No checker for ledger-a: the chain evidence proves nothing, nor does the signature of a key not configured.
      expect(await withCheckedProofs(message, cfg, verifier, undefined, { 'ledger-b': checker })).toMatchObject({
        proofs: [],
      });
      const signedMessage = { ...message, message: msg(MSG.lockAssert, { lockAssertionClaim: { receipt: signed } }) };
      expect(
        await withCheckedProofs(signedMessage as GatewayEvent, cfg, verifier, undefined, { 'ledger-a': checker }),
      ).toMatchObject({ proofs: [] });
      expect(asked).toEqual([]);
      const checkers = { 'ledger-a': checker };
      expect(await withCheckedProofs(message, cfg, verifier, undefined, checkers)).toMatchObject({
        proofs: [proofId(onChain as never)],
      });
      expect(await withCheckedProofs(attestation, cfg, verifier, 'gw-origin', checkers)).toMatchObject({
        verified: true,
      });
      expect(asked).toEqual([`receipt ${signed.opId}`, `attestation ${ASSET}`]);
      answer = false;
      expect(await withCheckedProofs(message, cfg, verifier, undefined, checkers)).toMatchObject({ proofs: [] });
      expect(await withCheckedProofs(attestation, cfg, verifier, 'gw-origin', checkers)).toMatchObject({
        verified: false,
      });
      // A checker that cannot read its chain neither accepts nor refuses: the event is tried again later.
      const failing = {
        'ledger-a': { receipt: () => Promise.reject(new Error('down')), attestation: checker.attestation },
      };
      await expect(withCheckedProofs(message, cfg, verifier, undefined, failing)).rejects.toBeInstanceOf(
        ProofsUnavailable,
      );
      // Both a signature and chain evidence, or chain evidence naming no transaction: malformed, never asked.
      const n = asked.length;
      for (const bad of [
        { ...onChain, proof: signed.proof },
        { ...body, evidence },
      ]) {
        const ev = { ...message, message: msg(MSG.lockAssert, { lockAssertionClaim: { receipt: bad } }) };
        expect(await withCheckedProofs(ev as GatewayEvent, cfg, verifier, undefined, checkers)).toMatchObject({
          proofs: [],
        });
      }
      expect(asked.length).toBe(n);
    },
  );
});
