// Two gateways over the project's memory Transport (transports/memory/network.ts), with loss and duplication:
// transfers and rollbacks complete.
import { describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/index.ts';
import { Gateway } from '../../kernel/driver.ts';
import { gatewayConfig } from '../../kernel/satp/index.ts';
import type { Json } from '../../kernel/json.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { MemoryNetwork } from '../../transports/memory/network.ts';
import { mulberry32 } from '../support/prng.ts';
import { DESTINATION, keys, LEDGER_A, LEDGER_B, ManualClock, newWork, ORIGIN, tracked } from '../support/satp-pair.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

describe('two gateways over the memory transport', () => {
  it('complete 20 transfers and one rollback with 20 % of messages lost and 20 % duplicated', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ mode: 'auto', faults: { drop: 0.2, duplicate: 0.2 }, random: mulberry32(4242) });
    const assets = Array.from({ length: 21 }, (_, i) => ({ assetId: `asset-${i}`, owner: 'alice' }));
    const ledgers = {
      [ORIGIN.id]: new MemoryLedger({ id: 'ledger-a', signer: LEDGER_A.signer, now: clock.now, assets }),
      [DESTINATION.id]: new MemoryLedger({ id: 'ledger-b', signer: LEDGER_B.signer, now: clock.now }),
    };
    const peers = {
      [ORIGIN.id]: { publicJwk: ORIGIN.jwk, networkId: 'ledger-a', ledgerKey: LEDGER_A.jwk },
      [DESTINATION.id]: { publicJwk: DESTINATION.jwk, networkId: 'ledger-b', ledgerKey: LEDGER_B.jwk },
    };
    const transports = [ORIGIN, DESTINATION].map((me) => net.transport(me.id));
    // The clock moves only once the gateways' signing, verification, store and ledger calls are done.
    const work = newWork();
    const gateways = [ORIGIN, DESTINATION].map((me, i) => {
      const transport = transports[i]!;
      const gw: Gateway = new Gateway({
        config: gatewayConfig({
          id: me.id,
          publicJwk: me.jwk,
          networkId: i === 0 ? 'ledger-a' : 'ledger-b',
          ledgerKey: i === 0 ? LEDGER_A.jwk : LEDGER_B.jwk,
          peers,
        }),
        signer: tracked(me.signer, work),
        verifier: tracked(defaultVerifier(), work),
        keys,
        store: tracked(new LogStore(new MemoryDriver(), { keys, verifier: tracked(defaultVerifier(), work) }), work),
        outbox: { send: (to, env) => transport.send(to, env as unknown as Json) },
        ledger: tracked(ledgers[me.id]!, work),
        peerLedger: (peer) => {
          const l = ledgers[peer];
          return l && tracked(l, work);
        },
        clock,
      });
      transport.onMessage((from, message) => void gw.receive(from, message));
      return gw;
    });
    const [origin, destination] = gateways as [Gateway, Gateway];
    for (let i = 0; i < 21; i++) {
      await origin.startTransfer({
        sessionId: `s-mem-${i}`,
        contextId: `ctx-${i}`,
        peer: DESTINATION.id,
        assetId: `asset-${i}`,
        assetProfileId: 'p',
        originator: 'alice',
        beneficiary: 'bob',
        lockSeconds: 600,
      });
    }
    await origin.abort('s-mem-20', 'cancelled by the originator');
    // The aborted session may never reach the destination (its proposal lost before the abort): then the
    // destination has no session to end, and answers the ROLLBACK from nothing.
    const ended = () =>
      Array.from({ length: 21 }, (_, i) => `s-mem-${i}`).every(
        (s) =>
          outcomeOf(origin.session(s)) &&
          (outcomeOf(destination.session(s)) || (s === 's-mem-20' && !destination.session(s))),
      );
    for (let step = 0; step < 600 && !ended(); step++) await clock.advance(1_000);
    expect(ended()).toBe(true);
    for (let i = 0; i < 20; i++) {
      expect([outcomeOf(origin.session(`s-mem-${i}`)), outcomeOf(destination.session(`s-mem-${i}`))]).toEqual([
        'committed',
        'committed',
      ]);
      expect(await ledgers[DESTINATION.id]!.asset(`asset-${i}`)).toMatchObject({ state: 'active', owner: 'bob' });
    }
    expect(outcomeOf(origin.session('s-mem-20'))).toBe('rolled-back');
    expect([undefined, 'rolled-back', 'rejected']).toContain(outcomeOf(destination.session('s-mem-20')));
    expect(await ledgers[ORIGIN.id]!.asset('asset-20')).toMatchObject({ state: 'active', owner: 'alice' });
    for (const ledger of Object.values(ledgers))
      for (const op of ledger.ops()) expect(op.applied).toBeLessThanOrEqual(1);
    origin.close();
    destination.close();
    await Promise.all(transports.map((t) => t.close()));
  }, 120_000);
});
