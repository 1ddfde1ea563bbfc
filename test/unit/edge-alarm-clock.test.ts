// The gateway object's clock (edge/alarm-clock.ts) on a fake alarm: timers multiplexed onto one alarm that is never
// later than the earliest timer, fired earliest first when it rings; and the object's bindings (edge/config.ts).
import { describe, expect, it } from 'vitest';
import { AlarmClock } from '../../edge/alarm-clock.ts';
import { edgeGatewayConfig, type GatewayObjectEnv } from '../../edge/config.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';

/** An alarm store that records every write; `fail` makes the next write reject. */
function alarmStore() {
  const writes: number[] = [];
  const store = {
    writes,
    fail: false,
    async setAlarm(at: number) {
      if (store.fail) {
        store.fail = false;
        throw new Error('storage outage');
      }
      writes.push(at);
    },
  };
  return store;
}

describe('AlarmClock', () => {
  it('keeps the alarm at the earliest timer: a later timer leaves it, an earlier one moves it', async () => {
    const store = alarmStore();
    const clock = new AlarmClock(store, { now: () => 0 });
    clock.setTimer(5_000, () => undefined);
    await clock.settled();
    clock.setTimer(9_000, () => undefined);
    await clock.settled();
    expect(store.writes).toEqual([5_000]);
    clock.setTimer(2_000, () => undefined);
    await clock.settled();
    expect(store.writes).toEqual([5_000, 2_000]);
    // Two earlier timers at once: the write for the first still waits its turn when the second comes, so only the
    // earliest is stored.
    clock.setTimer(1_500, () => undefined);
    clock.setTimer(1_000, () => undefined);
    await clock.settled();
    expect(store.writes).toEqual([5_000, 2_000, 1_000]);
    expect([clock.pending, clock.earliest]).toEqual([5, 1_000]);
  });

  it('when the alarm rings, fires what is due earliest first, skips what was cleared, and sets the next', async () => {
    const store = alarmStore();
    let now = 0;
    const clock = new AlarmClock(store, { now: () => now });
    const fired: string[] = [];
    clock.setTimer(3_000, () => fired.push('c'));
    const cleared = clock.setTimer(1_500, () => fired.push('cleared'));
    clock.setTimer(1_000, () => fired.push('a'));
    clock.setTimer(2_000, () => {
      fired.push('b');
      clock.setTimer(2_500, () => fired.push('set by b'));
    });
    clock.clearTimer(cleared);
    now = 2_000;
    expect(await clock.alarm()).toBe(2);
    expect(fired).toEqual(['a', 'b']);
    expect(store.writes.at(-1)).toBe(2_500);
    now = 3_000;
    await clock.alarm();
    expect(fired).toEqual(['a', 'b', 'set by b', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('a new instance sets the alarm on its first timer, whatever alarm the storage may still hold', async () => {
    const store = alarmStore();
    const before = new AlarmClock(store, { now: () => 0 });
    before.setTimer(1_000, () => undefined);
    await before.settled();
    // The object was evicted or workerd restarted: the same storage, a new clock, the same timer armed by boot.
    const after = new AlarmClock(store, { now: () => 0 });
    after.setTimer(1_000, () => undefined);
    await after.settled();
    expect(store.writes).toEqual([1_000, 1_000]);
  });

  it('an alarm that could not be stored is tried again by the next timer, and the failure is told', async () => {
    const store = alarmStore();
    const errors: unknown[] = [];
    const clock = new AlarmClock(store, { now: () => 0, onError: (e) => errors.push(e) });
    store.fail = true;
    clock.setTimer(4_000, () => undefined);
    await clock.settled();
    expect([store.writes, errors.length]).toEqual([[], 1]);
    clock.setTimer(6_000, () => undefined);
    await clock.settled();
    expect(store.writes).toEqual([4_000]);
  });
});

describe('edgeGatewayConfig: the bindings', () => {
  const env = async (): Promise<GatewayObjectEnv> => {
    const { signer, privateJwk } = await generateWebCryptoSigner();
    return {
      GATEWAY_ID: 'gw-edge',
      GATEWAY_KEY: JSON.stringify(privateJwk),
      LEDGER_URL: 'https://ledger-b.example',
      LEDGER_ID: 'ledger-b',
      LEDGER_PUBLIC_JWK: signer.publicJwk,
      PEERS: {
        'gw-node': { publicJwk: signer.publicJwk, networkId: 'ledger-a', ledgerPublicJwk: signer.publicJwk },
      },
    };
  };

  it('takes JSON bindings as text or as objects, and plain ones as they are', async () => {
    const c = edgeGatewayConfig({ ...(await env()), TIMING: '{"retransmitMs":500}' });
    expect(c).toMatchObject({ id: 'gw-edge', ledger: { id: 'ledger-b' }, timing: { retransmitMs: 500 } });
    expect(c.wsPath).toBe('/satp/ws');
    expect(c.controlToken).toBeUndefined();
    expect(Object.keys(c.peers)).toEqual(['gw-node']);
  });

  it('names the first binding that is missing or wrong', async () => {
    const good = await env();
    const { GATEWAY_KEY: _, ...noKey } = good;
    expect(() => edgeGatewayConfig(noKey as GatewayObjectEnv)).toThrow(/GATEWAY_KEY is missing/);
    expect(() => edgeGatewayConfig({ ...good, GATEWAY_KEY: '{not json' })).toThrow(/GATEWAY_KEY is not JSON/);
    expect(() => edgeGatewayConfig({ ...good, LEDGER_ID: 'bad id' })).toThrow(/LEDGER_ID/);
    expect(() => edgeGatewayConfig({ ...good, PEERS: { 'gw-node': { url: 'http://x' } } })).toThrow(/PEERS/);
    expect(() => edgeGatewayConfig({ ...good, TIMING: { retransmitMs: 1 } })).toThrow(/TIMING/);
    // A public key where the private one belongs: refused, not taken as an identity.
    expect(() => edgeGatewayConfig({ ...good, GATEWAY_KEY: good.LEDGER_PUBLIC_JWK })).toThrow(/GATEWAY_KEY/);
  });
});
