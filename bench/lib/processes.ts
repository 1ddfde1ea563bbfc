// Gateway processes (`satp-gateway`, examples/gateway-child.ts) for the bench: a pair of them with two ledger
// servers, each in its own process, and one transfer at a time per lane through the stdin command and its outcome.
import { join } from 'node:path';
import type { GatewayChild } from '../../examples/gateway-child.ts';
import { GatewayPair } from '../../examples/gateway-pair.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { HttpLedger } from '../../ledgers/http-ledger.ts';
import { LevelLedger } from '../../ledgers/level-ledger.ts';
import type { TransferSpec } from '../../test/support/gateway-invariants.ts';
import { type LedgerProcess, startLedgerProcess } from '../../test/support/ledger-process.ts';
import { check } from './report.ts';

/** One transfer through a gateway process: the command, then its outcome at the origin. */
export async function transferThrough(child: GatewayChild, spec: TransferSpec): Promise<void> {
  const from = child.events.length;
  const r = await child.request(
    {
      cmd: 'transfer',
      sessionId: spec.sessionId,
      assetId: spec.assetId,
      originator: spec.originator,
      beneficiary: spec.beneficiary,
      peer: spec.destination,
      lockSeconds: 60,
    },
    30_000,
  );
  check(r.started === true, `${spec.sessionId} did not start: ${JSON.stringify(r)}`);
  const ended = await child.waitFor(
    (e) => e.event === 'outcome' && e.session === spec.sessionId,
    60_000,
    `${spec.sessionId} ends`,
    from,
  );
  check(ended.outcome === 'committed', `${spec.sessionId} ended ${String(ended.outcome)}`);
}

/** Two ledger servers and a gateway pair, each in its own process; `close` ends them all. */
export interface ProcessWorld {
  ledgers: [HttpLedger, HttpLedger];
  servers: LedgerProcess[];
  pair: GatewayPair;
  close(): Promise<void>;
}

/**
 * Seeds ledger A with `assets`, starts both ledger servers and both gateways (the bundled CLI, LevelDB,
 * WebSocket) under `dir`; `first` adds flags to a gateway's first launch. Whatever started is stopped on failure.
 */
export async function startProcessWorld(
  dir: string,
  bundle: string,
  assets: { assetId: string; owner: string }[],
  first: Parameters<typeof GatewayPair.start>[1] = {},
): Promise<ProcessWorld> {
  const seed = await LevelLedger.open(join(dir, 'ledger-a'), {
    id: 'ledger-a',
    signer: (await generateWebCryptoSigner()).signer,
    assets,
  });
  await seed.close();
  const servers: LedgerProcess[] = [];
  const stopServers = () => Promise.allSettled(servers.map((s) => s.kill('SIGTERM')));
  try {
    for (const l of ['ledger-a', 'ledger-b'])
      servers.push(await startLedgerProcess(['--port', '0', '--db', join(dir, l), '--id', l]));
    const [a, b] = await Promise.all(servers.map((s) => HttpLedger.connect(s.url)));
    const ledgerOf = async (l: HttpLedger, url: string) => ({ url, publicJwk: (await l.health()).publicJwk });
    const pair = await GatewayPair.start(
      {
        dir: join(dir, 'gateways'),
        runtime: 'node',
        bundle,
        ledgers: { origin: await ledgerOf(a!, servers[0]!.url), destination: await ledgerOf(b!, servers[1]!.url) },
        flags: [],
      },
      first,
    );
    return {
      ledgers: [a!, b!],
      servers,
      pair,
      async close() {
        await pair.destroy();
        await stopServers();
      },
    };
  } catch (err) {
    await stopServers();
    throw err;
  }
}
