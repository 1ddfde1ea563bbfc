// Part `notary`: the cost of notarizing a log on an EVM chain (storage/notarized.ts over ledgers/evm/notary.ts and
// contracts/SatpNotary.sol) on anvil with instant mining. Gas per entry and per append from the receipts' gasUsed,
// in mode hashes and mode entries, appends of 1 and of 8 entries whose sizes are those of a real transfer's entries;
// and notarized appends per second through notarizedStore over a memory store, held against the round trip of a
// minimal transaction (a 0-value transfer: sent and its receipt polled for as a notarization's is) measured in the same
// run, beside a bare eth_blockNumber call.
import { sha256 } from '@noble/hashes/sha2.js';
import { privateKeyToAccount } from 'viem/accounts';
import { nobleSigner } from '../kernel/crypto/noble.ts';
import { keyTable } from '../kernel/crypto/types.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { utf8 } from '../kernel/encoding.ts';
import {
  type ChainContext,
  type ChainHead,
  EMPTY_HEAD,
  type LogEntry,
  logIdOf,
  nextEntryBody,
} from '../kernel/entry.ts';
import { sealEntry } from '../kernel/seal.ts';
import { ANVIL_KEYS, startAnvil } from '../ledgers/evm/anvil.ts';
import { publicClientOf, walletClientOf } from '../ledgers/evm/clients.ts';
import { deployNotary } from '../ledgers/evm/deploy.ts';
import { EvmNotary, receiptOf } from '../ledgers/evm/notary.ts';
import { LogStore } from '../storage/log-store.ts';
import { MemoryDriver } from '../storage/memory.ts';
import { entryBytes, type LogNotary, type NotaryMode, notarizedStore } from '../storage/notarized.ts';
import { now } from './lib/measure.ts';
import { check, type Results } from './lib/report.ts';

/**
 * The JSON sizes (characters) of the 29 entries of one gateway's log in a real transfer with a recovery (the
 * destination's log in test/integration/notarized-recovery.test.ts, mode hashes): each bench entry is padded to one.
 */
const REAL_SIZES = [
  2583, 1266, 1810, 1702, 1262, 1672, 2049, 1260, 1293, 1262, 1677, 1519, 2302, 1552, 1805, 1597, 1245, 1375, 1676,
  1254, 2062, 1996, 1247, 1372, 1675, 1258, 2097, 1707, 1268,
];

const GATEWAY = { id: 'gw-bench', signer: nobleSigner('P-256', sha256(utf8('satp-bench:notary'))) };
const PEER = nobleSigner('P-256', sha256(utf8('satp-bench:notary-peer')));

function context(sessionId: string): ChainContext {
  return {
    sessionId,
    contextId: `ctx-${sessionId}`,
    author: GATEWAY.id,
    resourceUrl: 'https://ledger-a.example/assets/7',
    developerUrn: 'urn:satp-recovery:bench',
    credentialProfile: 'X.509',
    credentialBlock: '',
    payloadProfile: 'bench-asset',
    applicationProfile: 'satp-recovery-bench',
    originGatewayPubkey: GATEWAY.signer.publicJwk,
    originGatewaySystem: 'ledger-a',
    destinationGatewayPubkey: PEER.publicJwk,
    destinationGatewaySystem: 'ledger-b',
    loggingProfile: 'decentralized-notarized',
    accessControlProfile: 'author-only',
  };
}

/** A signed chain of `n` entries, entry i padded to REAL_SIZES[i mod 29] characters of JSON. */
async function realSizedChain(sessionId: string, n: number): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let head: ChainHead = EMPTY_HEAD;
  for (let i = 0; i < n; i++) {
    const step = (pad: string) => ({
      phase: 'transfer',
      step: `2.${(i % 4) + 1}`,
      operation: 'exec' as const,
      payload: { i, pad },
      timestamp: 1_700_000_000_000 + i,
    });
    const bare = await sealEntry(nextEntryBody(context(sessionId), head, step('')), GATEWAY.signer);
    const missing = Math.max(0, REAL_SIZES[i % REAL_SIZES.length]! - JSON.stringify(bare).length);
    const e =
      missing === 0
        ? bare
        : await sealEntry(nextEntryBody(context(sessionId), head, step('x'.repeat(missing))), GATEWAY.signer);
    out.push(e);
    head = { seq: e.seqNumber, hash: e.entryHash };
  }
  return out;
}

/** The notary with every write's gas recorded. */
function recording(inner: LogNotary): LogNotary & { gas: bigint[] } {
  const gas: bigint[] = [];
  const keep = async (w: ReturnType<LogNotary['notarize']>) => {
    const r = await w;
    gas.push(r.gasUsed);
    return r;
  };
  return {
    gas,
    head: (id) => inner.head(id),
    hashRange: (id, f, t) => inner.hashRange(id, f, t),
    entries: (id) => inner.entries(id),
    notarize: (id, s, h) => keep(inner.notarize(id, s, h)),
    publish: (id, s, e) => keep(inner.publish(id, s, e)),
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function notary(results: Results, quick: boolean, say: (line: string) => void): Promise<void> {
  const appends = quick ? 10 : 40;
  const anvil = await startAnvil();
  try {
    const endpoint = { url: anvil.url, chainId: anvil.chainId };
    const [admin, writer] = [ANVIL_KEYS[0], ANVIL_KEYS[1]];
    const { address: contract } = await deployNotary(endpoint, admin, [privateKeyToAccount(writer).address]);
    const evm = await EvmNotary.connect({ endpoint, contract, privateKey: writer });

    // The bounds: a bare call, and a minimal transaction sent and its receipt read (another account).
    const client = publicClientOf(endpoint);
    const wallet = walletClientOf(endpoint, admin);
    const calls = appends * 4;
    let t = now();
    for (let i = 0; i < calls; i++) await client.getBlockNumber({ cacheTime: 0 });
    const callMs = (now() - t) / calls;
    t = now();
    for (let i = 0; i < appends; i++) {
      const hash = await wallet.sendTransaction({ to: wallet.account.address, value: 0n });
      const receipt = await receiptOf(client, hash);
      check(receipt.status === 'success', 'a minimal transaction was not mined at once (instant mining)');
    }
    const txMs = (now() - t) / appends;
    results.time('notary', 'eth_blockNumber round trip', callMs, undefined, 'anvil on 127.0.0.1');
    results.time('notary', 'minimal transaction (send + receipt)', txMs, undefined, 'anvil, instant mining');

    for (const mode of ['hashes', 'entries'] as NotaryMode[]) {
      for (const batch of [1, 8]) {
        const sessionId = `bench-${mode}-${batch}`;
        const chain = await realSizedChain(sessionId, appends * batch);
        const rec = recording(evm);
        const store = notarizedStore(
          new LogStore(new MemoryDriver(), {
            keys: keyTable({ [GATEWAY.id]: GATEWAY.signer.publicJwk }),
            verifier: defaultVerifier(),
          }),
          rec,
          { mode },
        );
        // The first append reads the notary's head once (nothing is known of the log yet): not timed.
        await store.writeLogEntries(chain.slice(0, batch));
        t = now();
        for (let i = 1; i < appends; i++) await store.writeLogEntries(chain.slice(i * batch, (i + 1) * batch));
        const perAppendMs = (now() - t) / (appends - 1);
        const logId = logIdOf(sessionId, GATEWAY.id);
        const held = await evm.hashRange(logId, 1, chain.length);
        check(
          held.length === chain.length && held.every((h, i) => h === chain[i]!.entryHash),
          `mode ${mode}: the notarized hashes are not the entries' hashes`,
        );
        check(rec.gas.length === appends, `mode ${mode}: ${rec.gas.length} notary writes for ${appends} appends`);
        const gasPerAppend = mean(rec.gas.slice(1).map(Number));
        const bytes = mean(chain.map((e) => entryBytes(e).length));
        const label = `mode ${mode}, ${batch} per append`;
        results.add({ section: 'notary', name: `gas per append, ${label}`, value: gasPerAppend, unit: 'gas' });
        results.add({
          section: 'notary',
          name: `gas per entry, ${label}`,
          value: gasPerAppend / batch,
          unit: 'gas',
          note: `entries of ${Math.round(bytes)} B on average (body + signature)`,
        });
        results.rate(
          'notary',
          `notarized appends, ${label}`,
          1000 / perAppendMs,
          1000 / txMs,
          'minimal tx round trip',
          {
            note: `${((1000 / perAppendMs) * batch).toFixed(0)} entries/s`,
          },
        );
        say(`  ${label}: ${gasPerAppend.toFixed(0)} gas per append, ${perAppendMs.toFixed(1)} ms per append`);
      }
    }
  } finally {
    await anvil.stop();
  }
}
