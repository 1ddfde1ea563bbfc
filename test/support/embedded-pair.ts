// Two gateways built by the embedding call (gateway/start.ts) on a memory network and a manual clock, with ledgers
// and stores that outlive a crash: the world of test/scenario/start-gateway.test.ts and of the metrics test
// (test/unit/gateway-metrics.test.ts). Runtime-agnostic.
import { defaultVerifier } from '../../kernel/index.ts';
import type { Outcome } from '../../kernel/satp/state.ts';
import type { TransferRequest } from '../../kernel/satp/payloads.ts';
import { type RunningGateway, type StartGatewayOptions, startGateway } from '../../gateway/start.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { MemoryNetwork } from '../../transports/memory/network.ts';
import { DESTINATION, LEDGER_A, LEDGER_B, ManualClock, newWork, ORIGIN, tracked } from './satp-pair.ts';

/** Transfer `n` of asset-`n` (asset-0 and asset-1 exist) from alice to bob, session `<prefix>-<n>`. */
export const transferOf =
  (prefix: string) =>
  (n: number): TransferRequest => ({
    sessionId: `${prefix}-${n}`,
    contextId: `ctx-${n}`,
    peer: DESTINATION.id,
    assetId: `asset-${n}`,
    assetProfileId: 'p',
    originator: 'alice',
    beneficiary: 'bob',
    lockSeconds: 600,
  });

export function embeddedWorld() {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ mode: 'auto' });
  const ledgerA = new MemoryLedger({
    id: 'ledger-a',
    signer: LEDGER_A.signer,
    now: clock.now,
    assets: [0, 1].map((n) => ({ assetId: `asset-${n}`, owner: 'alice' })),
  });
  const ledgerB = new MemoryLedger({ id: 'ledger-b', signer: LEDGER_B.signer, now: clock.now });
  const stores = { [ORIGIN.id]: new MemoryDriver(), [DESTINATION.id]: new MemoryDriver() };
  const crashes = new Map<string, () => Promise<void>>();
  /** Starts `me` (ORIGIN or DESTINATION) on its store and ledger; `extra` adds or replaces options. */
  const start = (me: typeof ORIGIN, extra: Partial<StartGatewayOptions> = {}): Promise<RunningGateway> => {
    const work = newWork();
    const transport = net.transport(me.id);
    const isOrigin = me.id === ORIGIN.id;
    const running = startGateway({
      id: me.id,
      signer: tracked(me.signer, work),
      verifier: tracked(defaultVerifier(), work),
      store: tracked(stores[me.id]!, work),
      transports: [transport],
      ledger: tracked(isOrigin ? ledgerA : ledgerB, work),
      ledgerKey: (isOrigin ? LEDGER_A : LEDGER_B).jwk,
      peers: isOrigin
        ? { [DESTINATION.id]: { publicJwk: DESTINATION.jwk, networkId: 'ledger-b', ledgerKey: LEDGER_B.jwk } }
        : {
            [ORIGIN.id]: {
              publicJwk: ORIGIN.jwk,
              networkId: 'ledger-a',
              ledgerKey: LEDGER_A.jwk,
              ledger: tracked(ledgerA, work),
            },
          },
      clock,
      connectWaitMs: 0,
      ...extra,
    });
    // A crash: the driver stops (its timers gone), its in-flight work is abandoned, its connection drops; the store
    // (a disk) stays as it was. close() would close the store too, which a crash does not.
    crashes.set(me.id, async () => {
      (await running).gateway.close();
      work.retire();
      await transport.close();
    });
    return running;
  };
  const crash = (me: typeof ORIGIN) => crashes.get(me.id)!();
  /** The session's outcome at `running`, moving the manual clock 100 ms at a time until it ends (at most 200 steps). */
  const runUntilEnded = async (running: RunningGateway, sessionId: string): Promise<Outcome> => {
    const ended = running.whenEnded(sessionId);
    for (let step = 0; step < 200 && !running.gateway.session(sessionId)?.status.kind.startsWith('ended'); step++)
      await clock.advance(100);
    return ended;
  };
  return { clock, net, ledgerA, ledgerB, stores, start, crash, runUntilEnded };
}
