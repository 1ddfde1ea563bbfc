// The conformance suite every Ledger adapter must pass: idempotency by opId, recorded refusals,
// OP_CONFLICT, the state machine of SATP core Figure 2 with its rollbacks (recovery-04 §5.2.3), and receipts and
// attestations that prove themselves: signed by the ledger's key, or carrying chain evidence a checker reads back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSatpError } from '../kernel/errors.ts';
import {
  type AssetRecord,
  type AssetState,
  type ChainEvidence,
  type Ledger,
  type LedgerOp,
  type LedgerOpKind,
  type LedgerReceipt,
  type LedgerRefusalCode,
  ledgerOp,
} from '../kernel/ledger.ts';
import {
  type LedgerTrust,
  receiptMatchesOp,
  verifyLedgerAttestation,
  verifyLedgerReceipt,
} from '../kernel/ledger-receipt.ts';
import type { PublicJwk, Verifier } from '../kernel/crypto/types.ts';
import type { SeedAsset } from './ledger-engine.ts';

export type LedgerUnderTest = {
  ledger: Ledger;
  close(): Promise<void>;
} & (
  | {
      /** How its answers are proven: the key it signs with, or a checker of its chain. */
      trust: LedgerTrust;
    }
  | {
      /** The key it signs receipts with: the same as `trust: { key }` (the form of releases before 0.2). */
      publicJwk: PublicJwk;
    }
);

/** Makes a fresh, empty ledger holding exactly `seeds` (active). */
export type LedgerFactory = (seeds: readonly SeedAsset[]) => Promise<LedgerUnderTest>;

export type ConformanceOptions = { verifier: Verifier } & (
  | {
      /** A trust that is not the ledger's (another key, a checker of another contract): its answers must fail it. */
      otherTrust: LedgerTrust;
    }
  | {
      /** A key that is not the ledger's: the same as `otherTrust: { key }` (the form of releases before 0.2). */
      otherKey: PublicJwk;
    }
);

const trustOf = (t: LedgerUnderTest): LedgerTrust => ('trust' in t ? t.trust : { key: t.publicJwk });
const otherTrustOf = (o: ConformanceOptions): LedgerTrust => ('otherTrust' in o ? o.otherTrust : { key: o.otherKey });

const SEEDS: SeedAsset[] = [
  { assetId: 'asset-1', owner: 'alice' },
  { assetId: 'asset-2', owner: 'bob' },
  { assetId: 'asset-3', owner: 'alice' },
];
const ESCROW = 'gw-destination';

/** Each field of chain evidence changed on its own (receipts also get another transaction and event index). */
function evidenceChanges(e: ChainEvidence): { evidence: ChainEvidence }[] {
  const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
  const out: ChainEvidence[] = [
    { ...e, chainId: e.chainId + 1 },
    { ...e, contract: flip(e.contract) },
    { ...e, blockHash: flip(e.blockHash) },
    { ...e, blockNumber: e.blockNumber + 1 },
  ];
  if (e.txHash !== undefined) out.push({ ...e, txHash: flip(e.txHash) });
  if (e.logIndex !== undefined) out.push({ ...e, logIndex: e.logIndex + 1 });
  return out.map((evidence) => ({ evidence }));
}
const BENEFICIARY = 'carol';

export function ledgerConformance(name: string, make: LedgerFactory, options: ConformanceOptions): void {
  describe(`Ledger conformance: ${name}`, () => {
    let t: LedgerUnderTest;
    let trust: LedgerTrust;
    const otherTrust = otherTrustOf(options);
    let ledger: Ledger;
    let probes = 0;
    beforeEach(async () => {
      t = await make(SEEDS);
      trust = trustOf(t);
      ledger = t.ledger;
    });
    afterEach(async () => {
      await t.close();
    });

    const run = (op: LedgerOp) => ledger.execute(op);
    const ok = async (op: LedgerOp): Promise<LedgerReceipt> => {
      const r = await run(op);
      expect(r.ok, `${op.opId}: ${r.error?.message}`).toBe(true);
      return r;
    };
    const refused = async (op: LedgerOp, code: LedgerRefusalCode): Promise<LedgerReceipt> => {
      const r = await run(op);
      expect(r.ok, op.opId).toBe(false);
      expect(r.error?.code, op.opId).toBe(code);
      return r;
    };
    /**
     * The txSeq the ledger gives its next recorded op. A probe is itself recorded (a refusal of an
     * asset that never exists), so "no op was recorded in between" reads as probe = last + 1.
     */
    const nextTxSeq = async (): Promise<number> =>
      (await run(ledgerOp.unlock(`probe-${++probes}`, 'no-such-asset'))).txSeq;
    const rejects = async (work: Promise<unknown>, code: string) => {
      const err = await work.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSatpError(err) ? err.code : err).toBe(code);
    };

    describe('idempotency by opId (never call the ledger twice blind)', () => {
      // Each retry comes after later ops that would make a second application visible.
      const scenarios: {
        kind: LedgerOpKind;
        before: LedgerOp[];
        op: LedgerOp;
        after: LedgerOp[];
        final: AssetRecord;
      }[] = [
        {
          kind: 'lock',
          before: [],
          op: ledgerOp.lock('L1', 'asset-1', 'alice'),
          after: [ledgerOp.unlock('U1', 'asset-1')],
          final: { assetId: 'asset-1', owner: 'alice', state: 'active' },
        },
        {
          kind: 'unlock',
          before: [ledgerOp.lock('L1', 'asset-1', 'alice')],
          op: ledgerOp.unlock('U1', 'asset-1'),
          after: [ledgerOp.lock('L2', 'asset-1', 'alice')],
          final: { assetId: 'asset-1', owner: 'alice', state: 'locked', lockOpId: 'L2' },
        },
        {
          kind: 'burn',
          before: [ledgerOp.lock('L1', 'asset-1', 'alice')],
          op: ledgerOp.burn('B1', 'asset-1'),
          after: [],
          final: { assetId: 'asset-1', owner: 'alice', state: 'burned' },
        },
        {
          kind: 'mint',
          before: [],
          op: ledgerOp.mint('M1', 'asset-9', ESCROW),
          after: [ledgerOp.burn('B1', 'asset-9')],
          final: { assetId: 'asset-9', owner: ESCROW, state: 'burned' },
        },
        {
          kind: 'assign',
          before: [ledgerOp.mint('M1', 'asset-9', ESCROW)],
          op: ledgerOp.assign('A1', 'asset-9', BENEFICIARY),
          after: [ledgerOp.lock('L9', 'asset-9', BENEFICIARY)],
          final: { assetId: 'asset-9', owner: BENEFICIARY, state: 'locked', lockOpId: 'L9' },
        },
      ];
      for (const s of scenarios) {
        it(`${s.kind}: a repeated opId returns the first receipt and has no second effect`, async () => {
          for (const op of s.before) await ok(op);
          const first = await ok(s.op);
          for (const op of s.after) await ok(op);
          const last = await nextTxSeq();
          for (let i = 0; i < 3; i++) expect(await run(s.op)).toEqual(first);
          expect(await ledger.status(s.op.opId)).toEqual(first);
          expect(await ledger.asset(s.op.assetId)).toEqual(s.final);
          expect(await nextTxSeq()).toBe(last + 1);
        });
      }

      it('concurrent requests with one opId apply it once and all get the same receipt', async () => {
        const op = ledgerOp.lock('L1', 'asset-1', 'alice');
        const receipts = await Promise.all(Array.from({ length: 8 }, () => run(op)));
        for (const r of receipts) expect(r).toEqual(receipts[0]);
        expect(receipts[0]!.ok).toBe(true);
        expect(await nextTxSeq()).toBe(receipts[0]!.txSeq + 1);
      });

      it('concurrent distinct ops each get their own txSeq, with no gaps', async () => {
        const receipts = await Promise.all(
          Array.from({ length: 8 }, (_, i) => ok(ledgerOp.mint(`M${i}`, `minted-${i}`, ESCROW))),
        );
        expect(receipts.map((r) => r.txSeq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });
    });

    describe('refusals are recorded outcomes, not errors', () => {
      it(
        'a refused op gets a receipt with ok:false, status returns it, ' +
          'and a retry gets the same refusal even once the op would succeed',
        async () => {
          const unlock = ledgerOp.unlock('U1', 'asset-1');
          const first = await refused(unlock, 'WRONG_STATE');
          expect(await ledger.status('U1')).toEqual(first);
          await ok(ledgerOp.lock('L1', 'asset-1', 'alice'));
          expect(await run(unlock)).toEqual(first);
          expect(await ledger.asset('asset-1')).toEqual({
            assetId: 'asset-1',
            owner: 'alice',
            state: 'locked',
            lockOpId: 'L1',
          });
        },
      );

      it('each refusal names its reason: ASSET_NOT_FOUND, ASSET_EXISTS, WRONG_STATE, WRONG_OWNER', async () => {
        await refused(ledgerOp.lock('R1', 'ghost', 'alice'), 'ASSET_NOT_FOUND');
        await refused(ledgerOp.mint('R2', 'asset-1', ESCROW), 'ASSET_EXISTS');
        await refused(ledgerOp.assign('R3', 'asset-1', BENEFICIARY), 'WRONG_STATE');
        await refused(ledgerOp.lock('R4', 'asset-2', 'alice'), 'WRONG_OWNER');
        expect(await ledger.asset('asset-2')).toEqual({ assetId: 'asset-2', owner: 'bob', state: 'active' });
      });
    });

    describe('OP_CONFLICT: one opId, different parameters', () => {
      it('is rejected and changes nothing, whatever field differs', async () => {
        const first = await ok(ledgerOp.lock('L1', 'asset-1', 'alice'));
        const last = await nextTxSeq();
        await rejects(run(ledgerOp.lock('L1', 'asset-1', 'bob')), 'OP_CONFLICT');
        await rejects(run(ledgerOp.lock('L1', 'asset-3', 'alice')), 'OP_CONFLICT');
        await rejects(run(ledgerOp.unlock('L1', 'asset-1')), 'OP_CONFLICT');
        await rejects(run(ledgerOp.mint('L1', 'asset-1', 'alice')), 'OP_CONFLICT');
        expect(await ledger.status('L1')).toEqual(first);
        expect(await ledger.asset('asset-1')).toEqual({
          assetId: 'asset-1',
          owner: 'alice',
          state: 'locked',
          lockOpId: 'L1',
        });
        expect(await ledger.asset('asset-3')).toEqual({ assetId: 'asset-3', owner: 'alice', state: 'active' });
        expect(await nextTxSeq()).toBe(last + 1);
      });

      it('applies to a recorded refusal too', async () => {
        const first = await refused(ledgerOp.burn('B1', 'asset-1'), 'WRONG_STATE');
        await rejects(run(ledgerOp.burn('B1', 'asset-2')), 'OP_CONFLICT');
        expect(await ledger.status('B1')).toEqual(first);
        expect(await ledger.asset('asset-2')).toEqual({ assetId: 'asset-2', owner: 'bob', state: 'active' });
      });
    });

    describe('the state machine (SATP core Figure 2; rollback per recovery-04 §5.2.3)', () => {
      it('lock (2.1) then burn (3.4): the origin extinguishes the asset', async () => {
        await ok(ledgerOp.lock('L1', 'asset-1', 'alice'));
        await ok(ledgerOp.burn('B1', 'asset-1'));
        expect(await ledger.asset('asset-1')).toEqual({ assetId: 'asset-1', owner: 'alice', state: 'burned' });
      });

      it('lock then unlock (rollback of 2.1): the owner has the asset back and can lock it again', async () => {
        await ok(ledgerOp.lock('L1', 'asset-1', 'alice'));
        await ok(ledgerOp.unlock('U1', 'asset-1'));
        expect(await ledger.asset('asset-1')).toEqual({ assetId: 'asset-1', owner: 'alice', state: 'active' });
        await ok(ledgerOp.lock('L2', 'asset-1', 'alice'));
      });

      it('mint (3.2) then assign (3.6): the beneficiary owns an active asset', async () => {
        await ok(ledgerOp.mint('M1', 'asset-9', ESCROW));
        expect(await ledger.asset('asset-9')).toEqual({ assetId: 'asset-9', owner: ESCROW, state: 'minted' });
        await ok(ledgerOp.assign('A1', 'asset-9', BENEFICIARY));
        expect(await ledger.asset('asset-9')).toEqual({ assetId: 'asset-9', owner: BENEFICIARY, state: 'active' });
      });

      it('mint then burn (rollback of 3.2): the representation is gone and its id cannot be minted again', async () => {
        await ok(ledgerOp.mint('M1', 'asset-9', ESCROW));
        await ok(ledgerOp.burn('B1', 'asset-9'));
        expect(await ledger.asset('asset-9')).toEqual({ assetId: 'asset-9', owner: ESCROW, state: 'burned' });
        await refused(ledgerOp.mint('M2', 'asset-9', ESCROW), 'ASSET_EXISTS');
      });

      it('every illegal transition is refused with the right reason and leaves the asset unchanged', async () => {
        // One asset in each state; the owner passed to lock is the true owner, so only the state decides.
        await ok(ledgerOp.lock('setup-lock', 'asset-2', 'bob'));
        await ok(ledgerOp.mint('setup-mint', 'asset-9', ESCROW));
        await ok(ledgerOp.lock('setup-lock-3', 'asset-3', 'alice'));
        await ok(ledgerOp.burn('setup-burn-3', 'asset-3'));
        const inState: Record<AssetState | 'missing', string> = {
          active: 'asset-1',
          locked: 'asset-2',
          minted: 'asset-9',
          burned: 'asset-3',
          missing: 'ghost',
        };
        const legal = new Set([
          'active:lock',
          'locked:unlock',
          'locked:burn',
          'minted:burn',
          'minted:assign',
          'missing:mint',
        ]);
        const before = new Map<string, AssetRecord | undefined>();
        for (const id of Object.values(inState)) before.set(id, await ledger.asset(id));
        let n = 0;
        for (const [state, assetId] of Object.entries(inState)) {
          const owner = before.get(assetId)?.owner ?? 'alice';
          const ops: LedgerOp[] = [
            ledgerOp.lock(`x-${n++}`, assetId, owner),
            ledgerOp.unlock(`x-${n++}`, assetId),
            ledgerOp.burn(`x-${n++}`, assetId),
            ledgerOp.mint(`x-${n++}`, assetId, ESCROW),
            ledgerOp.assign(`x-${n++}`, assetId, BENEFICIARY),
          ];
          for (const op of ops) {
            if (legal.has(`${state}:${op.kind}`)) continue;
            const expected: LedgerRefusalCode =
              op.kind === 'mint' ? 'ASSET_EXISTS' : state === 'missing' ? 'ASSET_NOT_FOUND' : 'WRONG_STATE';
            await refused(op, expected);
            expect(await ledger.asset(assetId), `${op.kind} on ${state}`).toEqual(before.get(assetId));
          }
        }
        expect(n).toBe(25);
      });
    });

    describe('a burn or unlock bound to its lock (lockOpId)', () => {
      it(
        'consumes exactly the lock it names: WRONG_LOCK for another lock, ' +
          'WRONG_STATE once no lock holds the asset',
        async () => {
          await ok(ledgerOp.lock('L1', 'asset-1', 'alice'));
          expect(await ledger.asset('asset-1')).toMatchObject({ state: 'locked', lockOpId: 'L1' });
          await refused(ledgerOp.burn('B-other', 'asset-1', 'L0'), 'WRONG_LOCK');
          await refused(ledgerOp.unlock('U-other', 'asset-1', 'L0'), 'WRONG_LOCK');
          await ok(ledgerOp.unlock('U1', 'asset-1', 'L1'));
          // The lock this burn names is gone: it can never succeed, even when the asset is locked again.
          await refused(ledgerOp.burn('B1', 'asset-1', 'L1'), 'WRONG_STATE');
          await ok(ledgerOp.lock('L2', 'asset-1', 'alice'));
          await refused(ledgerOp.burn('B2', 'asset-1', 'L1'), 'WRONG_LOCK');
          expect(await ledger.asset('asset-1')).toEqual({
            assetId: 'asset-1',
            owner: 'alice',
            state: 'locked',
            lockOpId: 'L2',
          });
          await ok(ledgerOp.burn('B3', 'asset-1', 'L2'));
          expect(await ledger.asset('asset-1')).toEqual({ assetId: 'asset-1', owner: 'alice', state: 'burned' });
        },
      );

      it('a burn naming a lock never burns a minted asset', async () => {
        await ok(ledgerOp.mint('M1', 'asset-9', ESCROW));
        await refused(ledgerOp.burn('B1', 'asset-9', 'M1'), 'WRONG_STATE');
        expect(await ledger.asset('asset-9')).toEqual({ assetId: 'asset-9', owner: ESCROW, state: 'minted' });
      });
    });

    describe("attestations: where an asset stands, by the ledger's own clock, signed", () => {
      it(
        'report the asset, its lock and which asked ops were recorded, ' + 'and verify under the ledger key only',
        async () => {
          await ok(ledgerOp.lock('L1', 'asset-1', 'alice', 4_102_444_800_000));
          await refused(ledgerOp.lock('L2', 'asset-2', 'alice'), 'WRONG_OWNER');
          const a = await ledger.attest('asset-1', ['L1', 'never', 'L2']);
          expect(a).toMatchObject({
            kind: 'attestation',
            ledgerId: ledger.id,
            assetId: 'asset-1',
            asset: {
              assetId: 'asset-1',
              owner: 'alice',
              state: 'locked',
              lockOpId: 'L1',
              lockExpiresAt: 4_102_444_800_000,
            },
            ops: [
              { opId: 'L1', ok: true },
              { opId: 'L2', ok: false },
            ],
          });
          expect(Number.isSafeInteger(a.ledgerTime)).toBe(true);
          expect(a.txSeq).toBeGreaterThanOrEqual(2);
          expect(await verifyLedgerAttestation(a, trust, options.verifier)).toEqual({ ok: true, attestation: a });
          expect((await verifyLedgerAttestation(a, otherTrust, options.verifier)).ok).toBe(false);
          const changes: Record<string, unknown>[] = [
            { ledgerTime: a.ledgerTime + 1 },
            { ops: a.ops.map((o) => ({ ...o, ok: !o.ok })) },
            { ops: [...a.ops, { opId: 'never', ok: true }] },
            { asset: { ...a.asset!, state: 'active' } },
            { assetId: 'asset-2' },
            { txSeq: a.txSeq + 1 },
            { ledgerId: 'ledger-z' },
          ];
          // A signature covers the list as given, so dropping an op is caught. Chain evidence names a block, not the
          // ids asked: a checker proves each listed op, but cannot see one left out (docs/evm-ledger.md).
          if (a.proof !== undefined) changes.push({ ops: [] }, { ops: [{ opId: 'L1', ok: true }] });
          if (a.evidence) changes.push(...evidenceChanges(a.evidence));
          for (const change of changes) {
            expect(
              (await verifyLedgerAttestation({ ...a, ...change }, trust, options.verifier)).ok,
              JSON.stringify(change),
            ).toBe(false);
          }
          // A receipt's proof is not an attestation's, and the other way round (the shapes are disjoint).
          const receipt = (await ledger.status('L1'))!;
          expect((await verifyLedgerAttestation(receipt, trust, options.verifier)).ok).toBe(false);
          expect((await verifyLedgerReceipt(a, trust, options.verifier)).ok).toBe(false);
        },
      );

      it('of an unknown asset say so, and refuse malformed requests as INVALID_INPUT', async () => {
        const a = await ledger.attest('ghost', []);
        expect(a.asset).toBeUndefined();
        expect(a.ops).toEqual([]);
        await rejects(ledger.attest('bad id!', []), 'INVALID_INPUT');
        await rejects(
          ledger.attest(
            'asset-1',
            Array.from({ length: 9 }, (_, i) => `op-${i}`),
          ),
          'INVALID_INPUT',
        );
        await rejects(ledger.attest('asset-1', ['bad id!']), 'INVALID_INPUT');
      });
    });

    describe('receipts are proofs (signed, or read back from the chain)', () => {
      it('verify under the ledger trust, match their op, and fail after any change or under another', async () => {
        const op = ledgerOp.lock('L1', 'asset-1', 'alice');
        const good = await ok(op);
        const bad = await refused(ledgerOp.lock('L2', 'asset-2', 'alice'), 'WRONG_OWNER');
        expect(good.ledgerId).toBe(ledger.id);
        for (const r of [good, bad]) {
          expect(await verifyLedgerReceipt(r, trust, options.verifier)).toEqual({ ok: true, receipt: r });
          expect((await verifyLedgerReceipt(r, otherTrust, options.verifier)).ok).toBe(false);
        }
        expect(receiptMatchesOp(good, op)).toBe(true);
        expect(receiptMatchesOp(good, ledgerOp.lock('L1', 'asset-1', 'bob'))).toBe(false);
        const changes: Partial<Record<keyof LedgerReceipt, unknown>>[] = [
          { opId: 'L9' },
          { kind: 'unlock' },
          { assetId: 'asset-2' },
          { opHash: '0'.repeat(64) },
          { ok: false, error: { code: 'WRONG_STATE', message: 'x' } },
          { ledgerId: 'ledger-z' },
          { txSeq: good.txSeq + 1 },
          { timestamp: (good.timestamp ?? 0) + 1 },
          { extra: 1 } as Record<string, unknown>,
        ];
        if (good.proof !== undefined) {
          changes.push({ proof: good.proof.slice(0, -2) + (good.proof.endsWith('AA') ? 'AQ' : 'AA') });
        }
        if (good.evidence) {
          // The evidence of another recorded op, grafted onto this receipt, proves nothing about it.
          changes.push({ evidence: bad.evidence }, ...evidenceChanges(good.evidence));
        }
        for (const change of changes) {
          const tampered = { ...good, ...change };
          expect((await verifyLedgerReceipt(tampered, trust, options.verifier)).ok, JSON.stringify(change)).toBe(false);
        }
        const { error: _e, ...flipped } = { ...bad, ok: true };
        expect((await verifyLedgerReceipt(flipped, trust, options.verifier)).ok).toBe(false);
        // A signed receipt stripped of its proof and given made-up chain evidence is not proven by either.
        if (good.proof !== undefined) {
          const { proof: _p, ...unsigned } = good;
          const forged = {
            ...unsigned,
            evidence: {
              type: 'evm',
              chainId: 1,
              contract: `0x${'1'.repeat(40)}`,
              blockNumber: 1,
              blockHash: `0x${'2'.repeat(64)}`,
              txHash: `0x${'3'.repeat(64)}`,
              logIndex: 0,
            },
          };
          expect((await verifyLedgerReceipt(forged, trust, options.verifier)).ok).toBe(false);
        }
      });
    });

    describe('queries and bad input', () => {
      it('status and asset of unknown or malformed ids are undefined', async () => {
        expect(await ledger.status('never-executed')).toBeUndefined();
        expect(await ledger.asset('ghost')).toBeUndefined();
        expect(await ledger.status('bad id!')).toBeUndefined();
        expect(await ledger.asset('../etc')).toBeUndefined();
        expect(await ledger.asset('asset-1')).toEqual({ assetId: 'asset-1', owner: 'alice', state: 'active' });
      });

      it('a malformed op is rejected as INVALID_INPUT and nothing is recorded', async () => {
        const last = await nextTxSeq();
        const bad: unknown[] = [
          { opId: 'L1', kind: 'lock', assetId: 'asset-1' }, // lock without owner
          { opId: 'L1', kind: 'unlock', assetId: 'asset-1', owner: 'alice' }, // unknown field
          { opId: 'L1', kind: 'steal', assetId: 'asset-1', owner: 'alice' },
          { opId: '', kind: 'burn', assetId: 'asset-1' },
          { opId: 'L1', kind: 'burn', assetId: 'asset 1' },
          null,
        ];
        for (const op of bad) await rejects(run(op as LedgerOp), 'INVALID_INPUT');
        expect(await ledger.status('L1')).toBeUndefined();
        expect(await nextTxSeq()).toBe(last + 1);
      });
    });
  });
}
