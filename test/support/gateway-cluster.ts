// Two ledger server processes (cli/ledger-server.ts, LevelDB) and the two gateway processes of
// examples/gateway-pair.ts in front of them, all in the runtime under test; torn down together.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayPair, LEDGER_IDS, type Member, type PairOptions, type Role } from '../../examples/gateway-pair.ts';
import { type LedgerProcess, startLedgerProcess } from './ledger-process.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';

export type { Member, Role };

export interface ClusterOptions extends Omit<PairOptions, 'ledgers'> {
  /** Seeded on ledger A: `assetId:owner`. */
  assets: string[];
}

export class Cluster {
  private constructor(
    readonly ledgers: Record<Role, LedgerProcess>,
    readonly pair: GatewayPair,
  ) {}

  static async start(o: ClusterOptions): Promise<Cluster> {
    mkdirSync(o.dir, { recursive: true });
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
      return new Cluster({ origin: a, destination: b }, pair);
    } catch (err) {
      await Promise.allSettled(ledgers.map((l) => l.kill('SIGKILL')));
      throw err;
    }
  }

  get members(): Record<Role, Member> {
    return this.pair.members;
  }

  /** Every process this cluster started is killed; safe to call twice. */
  async destroy(): Promise<void> {
    await this.pair.destroy();
    await Promise.allSettled(Object.values(this.ledgers).map((l) => l.kill('SIGKILL')));
  }
}
