// Part 1, network: WebSocket round trips on loopback with raw `ws` (an echo server), one at a time and 32 in
// flight, carrying a real signed transfer-proposal envelope.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { sealMessage } from '../kernel/satp/envelope.ts';
import type { SatpMessage } from '../kernel/satp/messages.ts';
import { gatewayConfig } from '../kernel/satp/effects.ts';
import { startTransfer } from '../kernel/satp/origin.ts';
import { benchPeers, DESTINATION_ID, identities, ORIGIN_ID } from './lib/identities.ts';
import type { Limits } from './lib/limits.ts';
import { rateOf } from './lib/measure.ts';
import { check, type Results } from './lib/report.ts';

export async function limitsWs(results: Results, limits: Partial<Limits>, ms: number): Promise<void> {
  const id = await identities();
  const cfg = gatewayConfig({
    id: ORIGIN_ID,
    publicJwk: id.origin.publicJwk,
    networkId: 'ledger-a',
    ledgerKey: id.ledgerA.publicJwk,
    peers: benchPeers(id),
  });
  const d = startTransfer(
    {
      sessionId: 'ws-echo',
      contextId: 'ctx-ws-echo',
      peer: DESTINATION_ID,
      assetId: 'asset-1',
      assetProfileId: 'p',
      originator: 'alice',
      beneficiary: 'bob',
      lockSeconds: 60,
    },
    1_700_000_000_000,
    cfg,
  );
  const proposal = d.effects.find((e) => e.kind === 'send') as { message: SatpMessage } | undefined;
  check(proposal, 'startTransfer sends a proposal');
  const text = JSON.stringify(await sealMessage(proposal.message, ORIGIN_ID, id.origin));

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await once(client, 'open');
  try {
    // Echoes come back in order on one socket, so replies are matched to requests first in, first out.
    const waiting: (() => void)[] = [];
    client.on('message', () => waiting.shift()?.());
    const roundTrip = () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        client.send(text);
      });
    const seq = await rateOf(roundTrip, ms, 1);
    const par = await rateOf(roundTrip, ms, 32);
    limits.wsRttMs = 1000 / seq.perSecond;
    limits.wsEcho32 = par.perSecond;
    results.add({
      section: 'limits',
      name: 'WebSocket round trip on loopback (ws echo)',
      value: 1000 / seq.perSecond,
      unit: 'ms',
      note: `${text.length} B envelope`,
    });
    results.rate('limits', 'WebSocket echoes, 32 in flight', par.perSecond, undefined, '');
  } finally {
    client.close();
    await once(client, 'close');
    await new Promise<void>((r) => wss.close(() => r()));
  }
}
