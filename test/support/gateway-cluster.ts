// Two ledger server processes (cli/ledger-server.ts, LevelDB), or two anvil chains with the SatpAsset contract
// (ledgers/evm), and the two gateway processes of examples/gateway-pair.ts in front of them, all in the runtime
// under test; torn down together.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayPair, LEDGER_IDS, type Member, type PairOptions, type Role } from '../../examples/gateway-pair.ts';
import { type LedgerProcess, startLedgerProcess } from './ledger-process.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_KEYS, type Anvil, startAnvil } from '../../ledgers/evm/anvil.ts';
import { deployNotary } from '../../ledgers/evm/deploy.ts';
import { type EvmNotarySpec, evmNotaryUrl } from '../../ledgers/evm/spec.ts';
import type { NotaryMode } from '../../storage/notarized.ts';
import { type EvmDemoLedger, pairLedger, startEvmLedger } from '../../examples/demo/ledgers.ts';
import { checkInvariants, type InvariantReport, type LedgerReader, type TransferSpec } from './gateway-invariants.ts';

export type { Member, Role };

export interface ClusterOptions extends Omit<PairOptions, 'ledgers'> {
  /** Seeded on ledger A: `assetId:owner`. */
  assets: string[];
  /** Ledger server processes (default), or two anvil chains (chain ids 31337 and 31338). */
  ledgers?: 'server' | 'evm';
  /**
   * With ledgers 'evm': both gateways notarize their logs in this mode (--notary) on a third anvil (chain id 31339),
   * each writing as its ledger account (the SatpNotary registers both); a chain of its own, so that the gateways'
   * notary transactions never share an account's nonces with their ledger transactions.
   */
  notary?: NotaryMode;
}

/** The notary chain of a cluster: its anvil and what --notary names. */
export interface ClusterNotary {
  anvil: Anvil;
  spec: EvmNotarySpec;
}

/** A ledger of the cluster: its URL (a server's, or an evm+ URL), what the invariants read, and its end. */
export interface ClusterLedger {
  url: string;
  reader: string | LedgerReader;
  /** Stops it (SIGKILL for a server; SIGTERM, which writes its state, for anvil) and resolves once it is gone. */
  stop(): Promise<void>;
  /** The anvil under an EVM ledger. */
  anvil?: Anvil;
}

export class Cluster {
  private constructor(
    readonly ledgers: Record<Role, ClusterLedger>,
    readonly pair: GatewayPair,
    readonly notary?: ClusterNotary,
  ) {}

  static async start(o: ClusterOptions): Promise<Cluster> {
    mkdirSync(o.dir, { recursive: true });
    if (o.ledgers === 'evm') return Cluster.#onChains(o);
    const ledgerArgs = (role: Role, assets: string[]) => [
      '--port',
      '0',
      '--db',
      join(o.dir, LEDGER_IDS[role]),
      '--id',
      LEDGER_IDS[role],
      ...(assets.length ? ['--assets', assets.join(',')] : []),
    ];
    const started = await Promise.allSettled([
      startLedgerProcess(ledgerArgs('origin', o.assets)),
      startLedgerProcess(ledgerArgs('destination', [])),
    ]);
    const ledgers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      if (ledgers.length < 2) throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
      const [a, b] = ledgers as [LedgerProcess, LedgerProcess];
      // The harness started these ledgers itself, so it may take their keys from their own /health.
      const keyOf = async (url: string) => (await (await HttpLedger.connect(url)).health()).publicJwk;
      const served = {
        origin: { url: a.url, publicJwk: await keyOf(a.url) },
        destination: { url: b.url, publicJwk: await keyOf(b.url) },
      };
      const pair = await GatewayPair.start({ ...o, ledgers: served });
      const server = (l: LedgerProcess): ClusterLedger => ({
        url: l.url,
        reader: l.url,
        stop: async () => void (await l.kill('SIGKILL')),
      });
      return new Cluster({ origin: server(a), destination: server(b) }, pair);
    } catch (err) {
      await Promise.allSettled(ledgers.map((l) => l.kill('SIGKILL')));
      throw err;
    }
  }

  /**
   * Two anvil chains, the SatpAsset contract on each (the gateways' accounts its operators; the assets seeded on
   * A), a block every second besides the instant ones so chain time moves (lock expiry is judged by it).
   */
  static async #onChains(o: ClusterOptions): Promise<Cluster> {
    const seeds = o.assets.map((a) => {
      const [assetId, owner] = a.split(':') as [string, string];
      return { assetId, owner };
    });
    const watch = seeds.map((s) => s.assetId);
    const started = await Promise.allSettled([
      startEvmLedger(o.dir, LEDGER_IDS.origin, {
        chainId: 31337,
        operatorKey: ANVIL_KEYS[1],
        seeds,
        watch,
        blockTime: 1,
        stateFile: join(o.dir, 'ledger-a.anvil.json'),
      }),
      startEvmLedger(o.dir, LEDGER_IDS.destination, {
        chainId: 31338,
        operatorKey: ANVIL_KEYS[2],
        watch,
        blockTime: 1,
        stateFile: join(o.dir, 'ledger-b.anvil.json'),
      }),
    ]);
    const chains = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    let notaryAnvil: Anvil | undefined;
    let notary: ClusterNotary | undefined;
    try {
      if (chains.length < 2) throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
      const [a, b] = chains as [EvmDemoLedger, EvmDemoLedger];
      const flags = [...o.flags];
      if (o.notary) {
        notaryAnvil = await startAnvil({ chainId: 31339 });
        const endpoint = { url: notaryAnvil.url, chainId: 31339 };
        const writers = [ANVIL_KEYS[1], ANVIL_KEYS[2]].map((k) => privateKeyToAccount(k).address);
        const { address } = await deployNotary(endpoint, ANVIL_KEYS[0], writers);
        notary = { anvil: notaryAnvil, spec: { endpoint, contract: address, mode: o.notary } };
        flags.push('--notary', evmNotaryUrl(notary.spec));
      }
      const pair = await GatewayPair.start({
        ...o,
        flags,
        ledgers: { origin: pairLedger(a), destination: pairLedger(b) },
      });
      const chain = (l: EvmDemoLedger): ClusterLedger => ({
        url: l.url,
        anvil: l.anvil,
        reader: {
          id: l.id,
          status: (opId) => l.ledger.status(opId),
          listAssets: () => l.assets(),
          recorded: async () => (await l.ledger.attest(watch[0] ?? 'none', [])).txSeq,
        },
        stop: () => l.close(),
      });
      return new Cluster({ origin: chain(a), destination: chain(b) }, pair, notary);
    } catch (err) {
      await Promise.allSettled([...chains.map((l) => l.anvil), notaryAnvil].map((x) => x?.stop('SIGKILL')));
      throw err;
    }
  }

  get members(): Record<Role, Member> {
    return this.pair.members;
  }

  /**
   * Stops both gateways gracefully, then checks the invariants over what they and the ledgers left (test/support/
   * gateway-invariants.ts). `clean`: both exited 0 after closing.
   */
  async stopAndCheck(transfers: TransferSpec[]): Promise<InvariantReport & { clean: boolean }> {
    const exits = await this.pair.stop();
    const { origin, destination } = this.members;
    const report = await checkInvariants({
      origin,
      destination,
      ledgerA: this.ledgers.origin.reader,
      ledgerB: this.ledgers.destination.reader,
      transfers,
    });
    return { ...report, clean: exits.every((x) => x.graceful && x.code === 0) };
  }

  /** Every process this cluster started is killed; safe to call twice. */
  async destroy(): Promise<void> {
    await this.pair.destroy();
    await Promise.allSettled([...Object.values(this.ledgers).map((l) => l.stop()), this.notary?.anvil.stop('SIGKILL')]);
  }
}
