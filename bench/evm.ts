// Part `evm`: transfers between two real EVM chains (two anvils, chain ids 31337 and 31338, the SatpAsset contract
// on each: docs/evm-ledger.md), with two gateways built by startGateway in this process over WebSocket on
// loopback, memory logs (so the chains are what is measured) and the wall clock (the chains judge lock expiry by
// block time). Two mining modes on the same anvils: instant (anvil's default, a block per transaction), then one
// block every second and none between (evm_setIntervalMining 1 at run time, which is anvil's --block-time 1
// without --mixed-mining: every transaction waits for the next block).
// Held against bounds measured in the same run on the same anvils: one minimal transaction (a 0-value transfer,
// sent and its receipt polled as EvmLedger does, the next sent when the previous is mined). A transfer's critical
// path holds 4 chain transactions one after the other (lock, mint, burn, assign), so its latency is at least 4 of
// those. EvmLedger sends one transaction at a time per operator account (docs/evm-ledger.md) and each chain gets 2
// of a transfer's 4 (lock and burn on A, mint and assign on B), so transfers/s is at most half the transactions/s
// one account gets mined back to back. Gas: every receipt's transaction read back from its chain.
import type { Hex } from 'viem';
import { type RunningGateway, startGateway } from '../gateway/start.ts';
import type { Ledger, LedgerOpKind, LedgerReceipt } from '../kernel/ledger.ts';
import type { Report } from '../kernel/satp/effects.ts';
import { ANVIL_KEYS } from '../ledgers/evm/anvil.ts';
import { walletClientOf } from '../ledgers/evm/clients.ts';
import { EvmLedger, evmReader } from '../ledgers/evm/ledger.ts';
import { MemoryDriver } from '../storage/memory.ts';
import { createNodeWsClient } from '../transports/ws/node/client.ts';
import { WsServerTransport } from '../transports/ws/node/server.ts';
import { type EvmDemoLedger, startEvmLedger } from '../examples/demo/ledgers.ts';
import { DESTINATION_ID, identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { now, quantile } from './lib/measure.ts';
import { TRANSPORT_OPTIONS, transferRequest, Trouble, within } from './lib/pair.ts';
import { BenchFailure, check, type Results } from './lib/report.ts';
import { withTempDir } from './lib/tmp.ts';

/** Sequential chain transactions on one transfer's critical path: lock (A), mint (B), burn (A), assign (B). */
const CRITICAL_TXS = 4;
/** Of those, the most any one chain (one operator account) sends per transfer. */
const TXS_PER_CHAIN = 2;
const POLL_MS = 50;
const PROBE_KEY = ANVIL_KEYS[4];

interface Mode {
  name: string;
  /** Seconds between blocks, or instant mining. */
  blockTime?: number;
  /** [sessions in flight, transfers] */
  plan: [number, number][];
  /** Back-to-back minimal transactions timed for the bound. */
  probes: number;
}

interface Seen {
  kind: LedgerOpKind;
  assetId: string;
  chain: 'a' | 'b';
  txHash: Hex;
}

/**
 * The ledger as the gateway uses it, noting each receipt's transaction (a resent op's receipt names the same) and
 * how long each execute took (read, send, receipt: what the gateway waits for per op).
 */
function noting(inner: EvmLedger, chain: 'a' | 'b', seen: Map<string, Seen>, took: number[], errors: string[]): Ledger {
  const failed = (what: string) => (err: unknown) => {
    errors.push(`${inner.id} ${what}: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
    throw err;
  };
  return {
    id: inner.id,
    execute: async (op) => {
      const t = now();
      const r: LedgerReceipt = await inner.execute(op).catch(failed(`execute ${op.opId}`));
      took.push(now() - t);
      const txHash = r.evidence?.txHash as Hex | undefined;
      if (txHash) seen.set(txHash, { kind: r.kind, assetId: r.assetId, chain, txHash });
      return r;
    },
    status: (opId) => inner.status(opId).catch(failed(`status ${opId}`)),
    asset: (assetId) => inner.asset(assetId),
    attest: (assetId, opIds) => inner.attest(assetId, opIds),
  };
}

/** One minimal transaction back to back, `n` times: send a 0-value transfer, poll its receipt as EvmLedger does. */
async function probeTx(chain: EvmDemoLedger, key: Hex, n: number): Promise<number[]> {
  const endpoint = { url: chain.anvil.url, chainId: chain.anvil.chainId };
  const wallet = walletClientOf(endpoint, key);
  const reader = evmReader(endpoint, POLL_MS);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    const hash = await wallet.sendTransaction({ to: wallet.account.address, value: 0n });
    const r = await reader.waitForTransactionReceipt({ hash, pollingInterval: POLL_MS, timeout: 30_000 });
    check(r.status === 'success', `probe transaction ${hash} succeeded`);
    ms.push(now() - t);
  }
  return ms;
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new BenchFailure(`${method}: ${body.error.message}`);
  return body.result;
}

/** Switches a running anvil to one block every `seconds` and none between, and checks it took. */
async function intervalMining(url: string, seconds: number): Promise<void> {
  await rpc(url, 'evm_setIntervalMining', [seconds]);
  check((await rpc(url, 'anvil_getAutomine')) === false, `${url}: automine off after evm_setIntervalMining`);
}

export async function evm(results: Results, _limits: Limits, quick: boolean, say: (line: string) => void) {
  const modes: Mode[] = quick
    ? [
        {
          name: 'instant mining',
          plan: [
            [1, 4],
            [16, 16],
          ],
          probes: 10,
        },
        { name: '1 s blocks', blockTime: 1, plan: [[4, 4]], probes: 3 },
      ]
    : [
        {
          name: 'instant mining',
          plan: [
            [1, 20],
            [16, 64],
          ],
          probes: 40,
        },
        { name: '1 s blocks', blockTime: 1, plan: [[16, 24]], probes: 6 },
      ];
  const warm = 2;
  const total = warm + modes.reduce((s, m) => s + m.plan.reduce((t, [, n]) => t + n, 0), 0);
  const assetIds = Array.from({ length: total }, (_, i) => `evm-asset-${i}`);
  const id = await identities();
  const trouble = new Trouble();
  const seen = new Map<string, Seen>();
  const executeMs: number[] = [];
  /** Ledger calls that failed (each retried by the gateway): reported, and named when a transfer gets stuck. */
  const ledgerErrors: string[] = [];

  await withTempDir('evm', async (dir) => {
    // Anvil's accounts: 0 deploys, 1 operates ledger-a, 3 operates ledger-b, 4 sends the probes.
    const chains = await Promise.allSettled([
      startEvmLedger(dir, 'ledger-a', {
        chainId: 31337,
        operatorKey: ANVIL_KEYS[1],
        seeds: assetIds.map((assetId) => ({ assetId, owner: 'alice' })),
        watch: [],
      }),
      startEvmLedger(dir, 'ledger-b', { chainId: 31338, operatorKey: ANVIL_KEYS[3], watch: [] }),
    ]);
    // One chain up and the other not: stop the one, so no anvil outlives the bench.
    const up = chains.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    if (up.length < 2) {
      await Promise.allSettled(up.map((c) => c.close()));
      throw (chains.find((c) => c.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const [a, b] = up as [EvmDemoLedger, EvmDemoLedger];
    const gateways: RunningGateway[] = [];
    const transports: { close(): Promise<void> }[] = [];
    try {
      const specOf = (l: EvmDemoLedger) => ({
        id: l.id,
        endpoint: { url: l.anvil.url, chainId: l.anvil.chainId },
        contract: l.contract,
      });
      // The destination reads chain A through a ledger without a key (read only), as a deployment would.
      const readA = new EvmLedger(specOf(a));
      const keys = { [ORIGIN_ID]: id.origin.publicJwk, [DESTINATION_ID]: id.destination.publicJwk };
      const keyResolver = id.keys;
      const server = await WsServerTransport.listen({
        self: DESTINATION_ID,
        signer: id.destination,
        keys: keyResolver,
        ...TRANSPORT_OPTIONS,
        onError: (err, c) => trouble.add(`server ${c.what}: ${String(err)}`),
      });
      const client = createNodeWsClient({
        self: ORIGIN_ID,
        signer: id.origin,
        keys: keyResolver,
        peers: { [DESTINATION_ID]: server.url },
        ...TRANSPORT_OPTIONS,
        onError: (err, c) => trouble.add(`client ${c.what}: ${String(err)}`),
      });
      transports.push(server, client);
      const onReport = (who: string) => (sid: string, r: Report) => {
        if (r.kind === 'needs-operator' || r.kind === 'refused') trouble.add(`${who} ${sid}: ${r.kind}: ${r.detail}`);
      };
      // retransmitMs also spaces the retries of a ledger op that failed (status, then execute): 120 s as in
      // bench/lib/pair.ts would turn one failed RPC into a transfer past the bench's timeout. 10 s is past the
      // longest wait for a reply at instant mining, and a few resends per session in 1 s blocks cost little.
      const timing = { retransmitMs: 10_000 };
      const [origin, destination] = await Promise.all([
        startGateway({
          id: ORIGIN_ID,
          signer: id.origin,
          store: new MemoryDriver(),
          transports: [client],
          ledger: noting(a.ledger, 'a', seen, executeMs, ledgerErrors),
          ledgerChecker: a.checker!,
          peers: {
            [DESTINATION_ID]: { publicJwk: keys[DESTINATION_ID]!, networkId: b.id, ledgerChecker: b.checker! },
          },
          timing,
          onReport: onReport(ORIGIN_ID),
        }),
        startGateway({
          id: DESTINATION_ID,
          signer: id.destination,
          store: new MemoryDriver(),
          transports: [server],
          ledger: noting(b.ledger, 'b', seen, executeMs, ledgerErrors),
          ledgerChecker: b.checker!,
          peers: {
            [ORIGIN_ID]: { publicJwk: keys[ORIGIN_ID]!, networkId: a.id, ledgerChecker: a.checker!, ledger: readA },
          },
          timing,
          onReport: onReport(DESTINATION_ID),
        }),
      ]);
      gateways.push(origin, destination);
      say('  evm: two anvils (chain ids 31337, 31338), gateways over WebSocket on loopback, memory logs');

      let nextAsset = 0;
      const measured = new Set<string>();
      const transfer = async (label: string, i: number): Promise<number> => {
        const assetId = assetIds[i]!;
        const sid = `evm-${label}-${i}`;
        const t = now();
        const ended = Promise.all([origin.whenEnded(sid), destination.whenEnded(sid)]);
        const started = await origin.transfer(transferRequest(sid, assetId));
        check(started.accepted, `transfer ${sid} started: ${JSON.stringify(started)}`);
        const outcomes = await within(180_000, `transfer ${sid}`, ended).catch((err: unknown) => {
          // Say where each side stands, and what the gateways reported, so a stuck transfer can be told apart.
          const at = (g: RunningGateway) => {
            const s = g.gateway.session(sid);
            return s ? `${JSON.stringify(s.status)} waits ${JSON.stringify(s.wait)}` : 'no session';
          };
          const seenTrouble = [...trouble.seen.slice(0, 3), ...ledgerErrors.slice(0, 3)].join(' | ');
          throw new BenchFailure(
            `${(err as Error).message}; origin ${at(origin)}; destination ${at(destination)}; ${seenTrouble}`,
          );
        });
        check(
          outcomes[0] === 'committed' && outcomes[1] === 'committed',
          `transfer ${sid} committed on both sides: ${outcomes.join(', ')}`,
        );
        return now() - t;
      };
      const batch = async (label: string, n: number, lanes: number): Promise<{ ms: number[]; seconds: number }> => {
        const from = nextAsset;
        nextAsset += n;
        const ms: number[] = [];
        let next = from;
        const t = now();
        await Promise.all(
          Array.from({ length: lanes }, async () => {
            for (let i = next++; i < from + n; i = next++) ms.push(await transfer(label, i));
          }),
        );
        return { ms, seconds: (now() - t) / 1000 };
      };
      // Warm-up (JIT, the WebSocket link, viem's clients): not measured.
      await batch('warm', warm, warm);

      for (const mode of modes) {
        if (mode.blockTime) {
          await Promise.all([a, b].map((l) => intervalMining(l.anvil.url, mode.blockTime!)));
          await probeTx(a, PROBE_KEY, 1); // lands the probe loop on the block rhythm
        }
        const probe = [...(await probeTx(a, PROBE_KEY, mode.probes)), ...(await probeTx(b, PROBE_KEY, 2))];
        const txMs = quantile(probe, 0.5);
        const txPerSecond = 1000 / txMs;
        results.time('evm', `one minimal transaction (send + receipt), ${mode.name}`, txMs, undefined, '', {
          note: `p50 of ${probe.length} back to back, max ${Math.max(...probe).toFixed(0)} ms`,
        });
        say(`  evm: ${mode.name}: one transaction ${txMs.toFixed(1)} ms (p50 of ${probe.length})`);
        for (const [lanes, count] of mode.plan) {
          const from = nextAsset;
          executeMs.length = 0;
          const errorsBefore = ledgerErrors.length;
          const r = await batch(`${mode.blockTime ? 'b' : 'i'}${lanes}`, count, lanes);
          trouble.check(`evm transfers, ${mode.name}, ${lanes} in flight`);
          for (let i = from; i < from + count; i++) measured.add(assetIds[i]!);
          const perSecond = count / r.seconds;
          const p50 = quantile(r.ms, 0.5);
          const p99 = quantile(r.ms, 0.99);
          const label = `${mode.name}, ${lanes} in flight`;
          const bound =
            lanes === 1
              ? { perSecond: 1000 / (CRITICAL_TXS * txMs), is: `1 ÷ (${CRITICAL_TXS} × one transaction)` }
              : {
                  perSecond: txPerSecond / TXS_PER_CHAIN,
                  is: `one account's transactions/s ÷ ${TXS_PER_CHAIN} per chain`,
                };
          const failedCalls = ledgerErrors.length - errorsBefore;
          results.rate('evm', `transfers, ${label}`, perSecond, bound.perSecond, bound.is, {
            note: `${count} transfers${failedCalls ? `, ${failedCalls} ledger calls failed and were retried` : ''}`,
          });
          // Little's law (in flight ÷ the bound rate) bounds the latency once the run is steady (several rounds of
          // transfers per lane); a single round's first transfers finish sooner, so there only the 4 transactions.
          const steady = lanes > 1 && count >= 4 * lanes;
          const latency = steady
            ? { ms: (1000 * lanes) / bound.perSecond, is: 'in flight ÷ bound rate (Little)' }
            : { ms: CRITICAL_TXS * txMs, is: `${CRITICAL_TXS} × one transaction` };
          results.time('evm', `latency p50, ${label}`, p50, Math.max(latency.ms, CRITICAL_TXS * txMs), latency.is, {
            // Where the time goes: each op as the gateway waited for it, queued behind the account's other ops.
            note: `p99 ${p99.toFixed(0)} ms; one EvmLedger.execute p50 ${quantile(executeMs, 0.5).toFixed(0)} ms`,
          });
          say(
            `  evm: ${label}: ${perSecond.toFixed(2)} transfers/s, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms` +
              (failedCalls
                ? `; failed ledger calls: ${ledgerErrors.slice(errorsBefore, errorsBefore + 3).join(' | ')}`
                : ''),
          );
        }
      }

      // Every transfer committed (checked above); every asset is burned on A and bob's on B, read from the contracts.
      for (const assetId of assetIds.slice(0, nextAsset)) {
        const [onA, onB] = await Promise.all([a.ledger.asset(assetId), b.ledger.asset(assetId)]);
        check(
          onA?.state === 'burned' && onB?.state === 'active' && onB.owner === 'bob',
          `${assetId} burned on chain A and bob's on chain B: ${JSON.stringify([onA, onB])}`,
        );
      }

      // Gas of the measured transfers' transactions, read back from each chain.
      const readers = {
        a: evmReader({ url: a.anvil.url, chainId: a.anvil.chainId }),
        b: evmReader({ url: b.anvil.url, chainId: b.anvil.chainId }),
      };
      const byKind = new Map<string, { gas: bigint; txs: number }>();
      let gas = 0n;
      let txs = 0;
      for (const s of seen.values()) {
        if (!measured.has(s.assetId)) continue;
        const r = await readers[s.chain].getTransactionReceipt({ hash: s.txHash });
        check(r.status === 'success', `transaction ${s.txHash} (${s.kind} ${s.assetId}) succeeded`);
        gas += r.gasUsed;
        txs++;
        const k = byKind.get(s.kind) ?? { gas: 0n, txs: 0 };
        k.gas += r.gasUsed;
        k.txs++;
        byKind.set(s.kind, k);
      }
      const n = measured.size;
      check(txs === CRITICAL_TXS * n, `${CRITICAL_TXS} transactions per transfer: ${txs} for ${n} transfers`);
      results.add({
        section: 'evm',
        name: 'gas per transfer (mean, both chains)',
        value: Number(gas) / n,
        unit: 'gas',
        note: `${n} transfers, ${(txs / n).toFixed(1)} transactions each`,
      });
      for (const kind of ['lock', 'mint', 'burn', 'assign'] as const) {
        const k = byKind.get(kind);
        check(k && k.txs === n, `one ${kind} per transfer: ${k?.txs ?? 0} for ${n}`);
        results.add({ section: 'evm', name: `gas per ${kind} (mean)`, value: Number(k.gas) / k.txs, unit: 'gas' });
      }
    } finally {
      await Promise.allSettled(gateways.map((g) => g.close()));
      await Promise.allSettled(transports.map((t) => t.close())); // started, if a gateway did not
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
}
