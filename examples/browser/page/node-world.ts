// The browser ↔ Node mode: the page's gateway (the origin, on ledger-a in the page) and the demo server's Node
// gateway (the destination, on ledger-b in the server; examples/browser/node-gateway.ts). The page learns the Node
// gateway's keys from GET /api/node, tells it its own (demo only: keys are provisioned out of band in earnest),
// dials it with the standard-WebSocket client, and reads ledger-b over HTTP with HttpLedger.
import type { PublicJwk } from '../../../kernel/crypto/types.ts';
import { keyTable } from '../../../kernel/crypto/types.ts';
import { HttpLedger } from '../../../ledgers/http-ledger.ts';
import type { LedgerJournalEntry } from '../../../ledgers/ledger-engine.ts';
import { createWsClient } from '../../../transports/ws/web/client.ts';
import { json, journalLines, memoryLedger, type Origin, type World } from './world.ts';

interface NodeInfo {
  gatewayId: string;
  publicJwk: PublicJwk;
  ledgerId: string;
  ledgerKey: PublicJwk;
  wsPath: string;
  ledgerPath: string;
}

export async function withNodeGateway(o: Origin): Promise<World> {
  const info = await json<NodeInfo>(fetch('/api/node'));
  const id = `gw-page-${o.run}`;
  // Demo only: the page tells the server its gateway's key, and its ledger's, before it dials.
  await json(
    fetch('/api/node/peers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        publicJwk: o.signer.publicJwk,
        networkId: o.ledger.id,
        ledgerKey: o.ledger.publicJwk,
      }),
    }),
  );
  const ledgerB = new HttpLedger({ url: `${location.origin}${info.ledgerPath}`, id: info.ledgerId });
  const wsUrl = `ws://${location.host}${info.wsPath}`;
  const origin = o.pageGateway({
    id,
    peer: info.gatewayId,
    signer: o.signer,
    ledger: o.ledger,
    ledgerKey: o.ledger.publicJwk,
    peers: { [info.gatewayId]: { publicJwk: info.publicJwk, networkId: info.ledgerId, ledgerKey: info.ledgerKey } },
    transport: () =>
      createWsClient({
        self: id,
        signer: o.signer,
        keys: keyTable({ [info.gatewayId]: info.publicJwk }),
        peers: { [info.gatewayId]: wsUrl },
      }),
  });
  return {
    mode: 'node',
    run: o.run,
    origin,
    page: [origin],
    gateways: [id, info.gatewayId],
    destination: info.gatewayId,
    keys: { [id]: o.signer.publicJwk, [info.gatewayId]: info.publicJwk },
    ledgers: [
      memoryLedger(o.ledger),
      {
        id: ledgerB.id,
        assets: () => ledgerB.listAssets(),
        // The ledger server has no journal route: the demo server reads ledger-b's journal for the page.
        journal: async () => journalLines((await json<{ ops: LedgerJournalEntry[] }>(fetch('/api/node/journal'))).ops),
      },
    ],
    assets: o.assets,
    nodeChains: (session) => json(fetch(`/api/node/chains/${session}?peer=${id}`)),
  };
}
