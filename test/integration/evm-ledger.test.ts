// EvmLedger and evmChecker on a real anvil: TIME_LOCK by the chain's clock, forged receipts refused by reading the
// chain, an unknown outcome settled by opId, and confirmations. Chain time and blocks are driven over JSON-RPC
// (evm_increaseTime, evm_mine, evm_setAutomine): no test sleeps for timing, and every wait is bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSatpError } from '../../kernel/errors.ts';
import { ledgerOp, type LedgerReceipt } from '../../kernel/ledger.ts';
import { opHashOf } from '../../kernel/ledger-receipt.ts';
import { ANVIL_KEYS, type Anvil, anvilRpc as rpc, startAnvil } from '../../ledgers/evm/anvil.ts';
import { evmChecker } from '../../ledgers/evm/check.ts';
import { addressOf, type EvmEndpoint } from '../../ledgers/evm/clients.ts';
import { deployAssetContract } from '../../ledgers/evm/deploy.ts';
import { EvmLedger, evmReader } from '../../ledgers/evm/ledger.ts';
import { SATP_ASSET_ABI } from '../../ledgers/evm/satp-asset.ts';
import { abiDrift } from '../support/abi.ts';

const ADMIN = ANVIL_KEYS[0];
const OPERATOR = ANVIL_KEYS[1];
const SEEDS = [
  { assetId: 'asset-1', owner: 'alice' },
  { assetId: 'asset-2', owner: 'bob' },
];
const anvils: Anvil[] = [];
let endpoint: EvmEndpoint;

/** `p`, or a rejection after `ms`: how long a test may wait for something that must happen. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isSatpError(e) ? e.code : String(e)),
  );

async function fresh(e: EvmEndpoint = endpoint, extra: { confirmations?: number; receiptTimeoutMs?: number } = {}) {
  const contract = await deployAssetContract(e, ADMIN, { operators: [addressOf(OPERATOR)], seeds: SEEDS });
  const ledger = new EvmLedger({ id: 'ledger-a', endpoint: e, contract, privateKey: OPERATOR, ...extra });
  const checker = evmChecker({ id: 'ledger-a', endpoint: e, contract, ...extra });
  return { contract, ledger, checker };
}

const latestBlock = () => evmReader(endpoint).getBlock({ blockTag: 'latest' });

beforeAll(async () => {
  const a = await startAnvil();
  anvils.push(a);
  endpoint = { url: a.url, chainId: a.chainId };
}, 60_000);

afterAll(async () => {
  for (const a of anvils) await a.stop();
});

describe('EvmLedger on anvil', () => {
  // Named after a bug: anvil was started through npm's Node wrapper, which runs the binary as its own child, so a
  // SIGKILL ended the wrapper and left anvil serving (tests leaked chains, each holding a port).
  it('a SIGKILLed anvil is gone: nothing answers on its port any more', async () => {
    const a = await startAnvil();
    expect(await rpc(a.url, 'eth_chainId')).toBe('0x7a69');
    await a.stop('SIGKILL');
    await expect(rpc(a.url, 'eth_chainId')).rejects.toThrow();
  });

  // Named after a bug: one of the keys was mistyped, so the gateway given it could not pay for a transaction.
  it("ANVIL_KEYS are anvil's funded development accounts, every one of them", async () => {
    const reader = evmReader(endpoint);
    for (const key of ANVIL_KEYS)
      expect(await reader.getBalance({ address: addressOf(key) }), key).toBeGreaterThan(10n ** 21n);
  });

  it("a lock past its expiry cannot be burned on chain, whatever the gateway's clock says", async () => {
    const { ledger, checker } = await fresh();
    const now = Number((await latestBlock()).timestamp) * 1000;
    const expiresAt = now + 5_000;
    await ledger.execute(ledgerOp.lock('L1', 'asset-1', 'alice', expiresAt));
    // The same kind of lock on another asset, burned before its expiry: the control case.
    await ledger.execute(ledgerOp.lock('L2', 'asset-2', 'bob', expiresAt));
    expect((await ledger.execute(ledgerOp.burn('B2', 'asset-2', 'L2'))).ok).toBe(true);
    // The chain moves 10 s on; the caller's own clock (Date.now) is not asked.
    await rpc(endpoint.url, 'evm_increaseTime', [10]);
    await rpc(endpoint.url, 'evm_mine');
    const burn = await ledger.execute(ledgerOp.burn('B1', 'asset-1', 'L1'));
    expect(burn).toMatchObject({ ok: false, error: { code: 'LOCK_EXPIRED' } });
    expect(burn.timestamp!).toBeGreaterThanOrEqual(expiresAt);
    expect(await checker.receipt(burn)).toBe(true);
    expect(await ledger.asset('asset-1')).toEqual({
      assetId: 'asset-1',
      owner: 'alice',
      state: 'locked',
      lockOpId: 'L1',
      lockExpiresAt: expiresAt,
    });
    const a = await ledger.attest('asset-1', ['L1', 'B1']);
    expect(a.ledgerTime).toBeGreaterThanOrEqual(expiresAt);
    expect(a.asset).toMatchObject({ state: 'locked', lockExpiresAt: expiresAt });
    expect(a.ops).toEqual([
      { opId: 'L1', ok: true },
      { opId: 'B1', ok: false },
    ]);
    expect(await checker.attestation(a)).toBe(true);
  });

  it('forged receipts are refused by evmChecker, which reads the chain itself', async () => {
    const { ledger, checker, contract } = await fresh();
    const good = await ledger.execute(ledgerOp.lock('L1', 'asset-1', 'alice'));
    const other = await ledger.execute(ledgerOp.lock('L9', 'asset-2', 'alice'));
    expect(await checker.receipt(good)).toBe(true);
    expect(await checker.receipt(other)).toBe(true);
    const ev = good.evidence!;
    const forged: [string, LedgerReceipt][] = [
      ['another chain id', { ...good, evidence: { ...ev, chainId: 1 } }],
      ['another contract', { ...good, evidence: { ...ev, contract: `0x${'ab'.repeat(20)}` } }],
      ['a transaction that does not exist', { ...good, evidence: { ...ev, txHash: `0x${'12'.repeat(32)}` } }],
      ["another op's real transaction and event", { ...good, evidence: other.evidence! }],
      ['ok flipped', { ...other, ok: true, error: undefined } as unknown as LedgerReceipt],
      ['txSeq changed', { ...good, txSeq: good.txSeq + 1 }],
      ['timestamp changed', { ...good, timestamp: good.timestamp! + 1000 }],
      ['opHash of another owner', { ...good, opHash: opHashOf(ledgerOp.lock('L1', 'asset-1', 'mallory')) }],
      ['another ledger id', { ...good, ledgerId: 'ledger-b' }],
    ];
    for (const [what, r] of forged) expect(await checker.receipt(JSON.parse(JSON.stringify(r))), what).toBe(false);
    // A checker of another contract refuses the genuine receipt.
    const elsewhere = await deployAssetContract(endpoint, ADMIN, { operators: [] });
    expect(await evmChecker({ id: 'ledger-a', endpoint, contract: elsewhere }).receipt(good)).toBe(false);
    // A second chain, same chain id, same contract address (same deployer and nonce), same op: not this chain.
    const b = await startAnvil();
    anvils.push(b);
    const endpointB = { url: b.url, chainId: b.chainId };
    const adminNonce = await evmReader(endpoint).getTransactionCount({ address: addressOf(ADMIN) });
    // The contract under test was deployed two admin transactions ago (then the other contract above).
    await rpc(b.url, 'anvil_setNonce', [addressOf(ADMIN), `0x${(adminNonce - 2).toString(16)}`]);
    const twin = await fresh(endpointB);
    expect(twin.contract).toBe(contract);
    const fromB = await twin.ledger.execute(ledgerOp.lock('L5', 'asset-1', 'alice'));
    expect(await twin.checker.receipt(fromB)).toBe(true);
    expect(await checker.receipt(fromB)).toBe(false);
    // And a node that is down can say neither yes nor no: LEDGER_UNAVAILABLE, so the caller asks again later.
    await b.stop();
    await expect(twin.checker.receipt(fromB)).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
  });

  it('an unknown outcome is settled by opId: pending is not "never recorded", a retry has no 2nd effect', async () => {
    const { ledger, checker } = await fresh(endpoint, { receiptTimeoutMs: 1_500 });
    const op = ledgerOp.lock('L1', 'asset-1', 'alice');
    const before = await ledger.txSeq();
    await rpc(endpoint.url, 'evm_setAutomine', [false]);
    try {
      // Sent, never mined: the caller cannot tell whether it happened.
      expect(await codeOf(ledger.execute(op))).toBe('LEDGER_UNAVAILABLE');
      expect(await codeOf(ledger.status('L1'))).toBe('LEDGER_UNAVAILABLE');
      await rpc(endpoint.url, 'evm_mine');
    } finally {
      await rpc(endpoint.url, 'evm_setAutomine', [true]);
    }
    const settled = await ledger.status('L1');
    expect(settled).toMatchObject({ opId: 'L1', ok: true, txSeq: before + 1 });
    expect(await checker.receipt(settled!)).toBe(true);
    expect(await ledger.execute(op)).toEqual(settled);
    expect(await ledger.txSeq()).toBe(before + 1);
    expect(await ledger.status('never')).toBeUndefined();
  });

  it('two accounts racing on one opId: one record and the same receipt, or OP_CONFLICT for other fields', async () => {
    const second = ANVIL_KEYS[2];
    const contract = await deployAssetContract(endpoint, ADMIN, {
      operators: [addressOf(OPERATOR), addressOf(second)],
      seeds: SEEDS,
    });
    const a = new EvmLedger({ id: 'ledger-a', endpoint, contract, privateKey: OPERATOR });
    const b = new EvmLedger({ id: 'ledger-a', endpoint, contract, privateKey: second });
    const op = ledgerOp.lock('L1', 'asset-1', 'alice');
    const [ra, rb] = await Promise.all([a.execute(op), b.execute(op)]);
    expect(rb).toEqual(ra);
    expect(ra).toMatchObject({ ok: true, txSeq: 1 });
    const outcomes = await Promise.all([
      codeOf(a.execute(ledgerOp.mint('M1', 'asset-9', 'gw'))),
      codeOf(b.execute(ledgerOp.mint('M1', 'asset-8', 'gw'))),
    ]);
    expect(outcomes.sort()).toEqual(['OP_CONFLICT', 'resolved']);
    expect(await a.txSeq()).toBe(2);
  });

  it('a lock expiring at epoch 0 is INVALID_INPUT (0 means no expiry on chain), and nothing is sent', async () => {
    const { ledger } = await fresh();
    expect(await codeOf(ledger.execute(ledgerOp.lock('L0', 'asset-1', 'alice', 0)))).toBe('INVALID_INPUT');
    expect(await ledger.status('L0')).toBeUndefined();
    expect(await ledger.txSeq()).toBe(0);
  });

  it('with confirmations: 2, execute answers only once one more block is mined', async () => {
    const { ledger, checker, contract } = await fresh(endpoint, { confirmations: 2 });
    const reader = evmReader(endpoint);
    let settled = false;
    const p = ledger.execute(ledgerOp.mint('M1', 'asset-9', 'gw')).finally(() => {
      settled = true;
    });
    // Wait (bounded) until the op is recorded in a mined block: with automine that is at once.
    let recorded = false;
    for (let i = 0; i < 200 && !recorded; i++) {
      const r = await reader.readContract({ address: contract, abi: SATP_ASSET_ABI, functionName: 'op', args: ['M1'] });
      recorded = r.txSeq !== 0n;
      if (!recorded) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(recorded).toBe(true);
    // One block, its own: not enough. A status in the meantime says so rather than answering.
    expect(await codeOf(ledger.status('M1'))).toBe('LEDGER_UNAVAILABLE');
    const early = new EvmLedger({ id: 'ledger-a', endpoint, contract, privateKey: OPERATOR });
    // Not deep enough yet: not refused, only not proven yet.
    await expect(checker.receipt((await early.status('M1'))!)).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    expect(settled).toBe(false);
    await rpc(endpoint.url, 'evm_mine');
    const receipt = await within(p, 10_000, 'execute after one more block');
    expect(receipt).toMatchObject({ ok: true, txSeq: 1 });
    expect(Number(await reader.getBlockNumber())).toBeGreaterThanOrEqual(receipt.evidence!.blockNumber + 1);
    expect(await checker.receipt(receipt)).toBe(true);
    expect(await ledger.status('M1')).toEqual(receipt);
  });

  it('gas used per op kind (informational)', async () => {
    const { ledger } = await fresh();
    const reader = evmReader(endpoint);
    const ops = [
      ledgerOp.lock('L1', 'asset-1', 'alice', 4_102_444_800_000),
      ledgerOp.unlock('U1', 'asset-1', 'L1'),
      ledgerOp.lock('L2', 'asset-1', 'alice'),
      ledgerOp.burn('B1', 'asset-1', 'L2'),
      ledgerOp.mint('M1', 'asset-9', 'gw-destination'),
      ledgerOp.assign('A1', 'asset-9', 'carol'),
      ledgerOp.unlock('R1', 'ghost'),
    ];
    const gas: Record<string, string> = {};
    for (const op of ops) {
      const r = await ledger.execute(op);
      const tx = await reader.getTransactionReceipt({ hash: r.evidence!.txHash as `0x${string}` });
      gas[`${op.opId} ${op.kind}${r.ok ? '' : ` (${r.error!.code})`}`] = tx.gasUsed.toString();
    }
    console.log('SatpAsset gas used:', JSON.stringify(gas));
    expect(Object.keys(gas)).toHaveLength(ops.length);
  });

  it('the ABI the adapter speaks is the compiled one, item for item (contracts/build is the truth)', async () => {
    const { items, drift } = await abiDrift('SatpAsset', SATP_ASSET_ABI);
    expect(drift).toEqual([]);
    expect(items).toBeGreaterThan(8);
  });
});
