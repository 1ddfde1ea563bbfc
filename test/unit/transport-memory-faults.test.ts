// The memory network's fault injection, as the deterministic simulator will drive it: a manual scheduler
// that delays, reorders, drops and duplicates; seeded probabilistic faults; partitions and crashes.
import { describe, expect, it } from 'vitest';
import type { Json } from '../../kernel/json.ts';
import { ERROR_MSG_TYPE } from '../../transports/error-msg.ts';
import { type Envelope, MemoryNetwork, type NetworkEvent } from '../../transports/memory/network.ts';
import type { Transport } from '../../transports/types.ts';
import { mulberry32 } from '../support/prng.ts';

const received = (t: Transport): { from: string; message: Json }[] => {
  const got: { from: string; message: Json }[] = [];
  t.onMessage((from, message) => got.push({ from, message }));
  return got;
};

describe('MemoryNetwork in manual mode: the scheduler decides', () => {
  it(
    'holds every message until delivered, ' + 'and delivers in whatever order the scheduler picks (delay, reorder)',
    async () => {
      const net = new MemoryNetwork({ mode: 'manual' });
      const a = net.transport('a');
      const b = net.transport('b');
      const got = received(b);
      for (let i = 0; i < 3; i++) await a.send('b', { i });
      expect(got).toEqual([]);
      const pending = net.pending();
      expect(pending.map((e) => [e.from, e.to])).toEqual([
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
      ]);
      for (const e of [...pending].reverse()) expect(await net.deliver(e.id)).toBe(true);
      expect(got.map((g) => g.message)).toEqual([{ i: 2 }, { i: 1 }, { i: 0 }]);
    },
  );

  it('drops and duplicates on request, and reports each event in order', async () => {
    const events: NetworkEvent['kind'][] = [];
    const net = new MemoryNetwork({ mode: 'manual', onEvent: (e) => events.push(e.kind) });
    const a = net.transport('a');
    const got = received(net.transport('b'));
    await a.send('b', { n: 1 });
    await a.send('b', { n: 2 });
    const [first, second] = net.pending() as [Envelope, Envelope];
    net.drop(first.id);
    const copy = net.duplicate(second.id);
    expect(copy.id).not.toBe(second.id);
    expect(await net.flush()).toBe(2);
    expect(got.map((g) => g.message)).toEqual([{ n: 2 }, { n: 2 }]);
    expect(events).toEqual(['sent', 'sent', 'dropped', 'duplicated', 'delivered', 'delivered']);
  });

  it('a seeded step() replays the same delivery order for the same seed', async () => {
    const run = async (seed: number) => {
      const net = new MemoryNetwork({ mode: 'manual' });
      const a = net.transport('a');
      const got = received(net.transport('b'));
      for (let i = 0; i < 20; i++) await a.send('b', { i });
      const random = mulberry32(seed);
      for (let n = 0; n < 20 && (await net.step(random)); n++);
      return got.map((g) => (g.message as { i: number }).i);
    };
    const one = await run(7);
    expect(await run(7)).toEqual(one);
    expect(await run(8)).not.toEqual(one);
    expect([...one].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('flush stops after maxSteps even when handlers keep replying (bounded)', async () => {
    const net = new MemoryNetwork({ mode: 'manual' });
    const a = net.transport('a');
    const b = net.transport('b');
    a.onMessage((from, m) => void a.send(from, m));
    b.onMessage((from, m) => void b.send(from, m));
    await a.send('b', { ping: true });
    expect(await net.flush(100)).toBe(100);
    expect(net.pending().length).toBeGreaterThan(0);
  });
});

describe('MemoryNetwork faults and topology', () => {
  it(
    'seeded drop and duplicate probabilities: ' + 'a dropped send still resolves (at most once, silently lost)',
    async () => {
      const lossy = new MemoryNetwork({ faults: { drop: 1 }, random: mulberry32(1) });
      const a = lossy.transport('a');
      const got = received(lossy.transport('b'));
      await a.send('b', { n: 1 });
      await lossy.flush();
      expect(got).toEqual([]);

      const doubling = new MemoryNetwork({ faults: { duplicate: 1 }, random: mulberry32(1) });
      const c = doubling.transport('c');
      const twice = received(doubling.transport('d'));
      await c.send('d', { n: 1 });
      await doubling.flush();
      expect(twice.map((g) => g.message)).toEqual([{ n: 1 }, { n: 1 }]);
      expect(() => new MemoryNetwork({ faults: { drop: 0.5 } })).toThrow(TypeError);
    },
  );

  it(
    'a cut link: sends reject PEER_UNAVAILABLE, ' +
      'messages in flight are lost, both sides see onPeer; healing restores it',
    async () => {
      const net = new MemoryNetwork({ mode: 'manual' });
      const a = net.transport('a');
      const b = net.transport('b');
      const changes: [string, boolean][] = [];
      a.onPeer((peer, up) => changes.push([peer, up]));
      const got = received(b);
      await a.send('b', { inFlight: true });
      net.setLink('a', 'b', false);
      expect(a.peers()).toEqual([]);
      await expect(a.send('b', { n: 1 })).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
      expect(await net.deliver(net.pending()[0]!.id)).toBe(false);
      net.setLink('a', 'b', true);
      await a.send('b', { n: 2 });
      await net.flush();
      expect(got.map((g) => g.message)).toEqual([{ n: 2 }]);
      expect(changes).toEqual([
        ['b', false],
        ['b', true],
      ]);
    },
  );

  it('an unreachable gateway (a crash) is down for every peer until it comes back', async () => {
    const net = new MemoryNetwork();
    const a = net.transport('a');
    const b = net.transport('b');
    const c = net.transport('c');
    const seen: string[] = [];
    a.onPeer((p, up) => seen.push(`a:${p}:${up}`));
    c.onPeer((p, up) => seen.push(`c:${p}:${up}`));
    net.setReachable('b', false);
    await expect(a.send('b', {})).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    await expect(b.send('c', {})).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    net.setReachable('b', true);
    expect(seen).toEqual(['a:b:false', 'c:b:false', 'a:b:true', 'c:b:true']);
  });

  it(
    'messages are copies: the sender mutating its object changes nothing, ' + 'and each delivery is a fresh object',
    async () => {
      const net = new MemoryNetwork({ mode: 'manual' });
      const a = net.transport('a');
      const got = received(net.transport('b'));
      const message = { list: [1] };
      await a.send('b', message);
      message.list.push(2);
      net.duplicate(net.pending()[0]!.id);
      await net.flush();
      expect(got.map((g) => g.message)).toEqual([{ list: [1] }, { list: [1] }]);
      expect(got[0]!.message).not.toBe(got[1]!.message);
    },
  );

  it('a refusal travels back as an error-msg, and an error-msg is never answered with another (no loop)', async () => {
    const events: NetworkEvent[] = [];
    const refuseAll = () => ({ ok: false as const, status: 422, detail: 'no' });
    const net = new MemoryNetwork({ onEvent: (e) => events.push(e), validate: refuseAll });
    const a = net.transport('a');
    const b = net.transport('b');
    const gotA = received(a);
    const gotB = received(b);
    await a.send('b', { messageType: 'urn:ietf:params:satp:core:msgtype:transfer-proposal-msg' });
    await net.flush();
    // a's validator refuses b's error-msg too, and that refusal is not answered.
    expect(events.filter((e) => e.kind === 'refused').map((e) => [e.envelope.from, e.envelope.to])).toEqual([
      ['a', 'b'],
      ['b', 'a'],
    ]);
    expect(events.filter((e) => e.kind === 'sent').length).toBe(2);
    expect(gotA).toEqual([]);
    expect(gotB).toEqual([]);

    const lenient = new MemoryNetwork();
    const c = lenient.transport('c');
    lenient.transport('d', { validate: refuseAll });
    const gotC = received(c);
    await c.send('d', { messageType: 'urn:ietf:params:satp:core:msgtype:transfer-proposal-msg' });
    await lenient.flush();
    expect(gotC[0]?.message).toMatchObject({
      messageType: ERROR_MSG_TYPE,
      status: 422,
      detail: 'no',
      prevMsgType: 'urn:ietf:params:satp:core:msgtype:transfer-proposal-msg',
    });
  });

  it('a closed transport: sends reject TRANSPORT_CLOSED, peers see it go, and its id can join again', async () => {
    const net = new MemoryNetwork();
    const a = net.transport('a');
    const b = net.transport('b');
    const seen: [string, boolean][] = [];
    b.onPeer((p, up) => seen.push([p, up]));
    expect(() => net.transport('a')).toThrow(TypeError);
    await a.close();
    await expect(a.send('b', {})).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
    await expect(b.send('a', {})).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    const again = net.transport('a');
    expect(again.peers()).toEqual(['b']);
    expect(seen).toEqual([
      ['a', false],
      ['a', true],
    ]);
  });
});
