// The gateway process's shutdown (cli/shutdown.ts). Two CI runs lost a Deno gateway that never exited after its
// stdin closed: its parent killed it after 15 s, with nothing to say which close it was waiting for. The shutdown now
// names the closes still running when it is slow and gives up on them at its bound, since every acknowledged append
// is durable before it is acknowledged.
import { describe, expect, it } from 'vitest';
import { Closer } from '../../cli/shutdown.ts';

const never = (): Promise<void> => new Promise<void>(() => {});

describe('gateway shutdown: bounded, and saying what it waits for', () => {
  it('a close that never settles is named when slow, and the shutdown ends at its bound', async () => {
    const closer = new Closer();
    const store = closer.watch('store gw-a', { close: never });
    const client = closer.watch('client gw-a', { close: async () => {} });
    const slow: string[][] = [];
    const outcome = await closer.within(
      async () => {
        await closer.run('gateway gw-a', async () => {
          await client.close();
          await store.close();
        });
        await closer.run('log driver', async () => {});
      },
      { slowMs: 5, boundMs: 40, onSlow: (running) => slow.push(running) },
    );
    expect(outcome).toEqual({ inTime: false, unclosed: ['gateway gw-a', 'store gw-a'] });
    expect(slow).toEqual([['gateway gw-a', 'store gw-a']]);
  });

  it('closes that settle, one of them failing, end the shutdown in time with nothing named', async () => {
    const closer = new Closer();
    const failing = closer.watch('listener gw-a', {
      close: () => Promise.reject(new Error('already closed')),
    });
    const slow: string[][] = [];
    const outcome = await closer.within(
      async () => {
        await closer.run('gateway gw-a', () => failing.close());
        await closer.run('log driver', async () => {});
      },
      { slowMs: 60_000, boundMs: 120_000, onSlow: (running) => slow.push(running) },
    );
    expect(outcome).toEqual({ inTime: true, unclosed: [] });
    expect(closer.running).toEqual([]);
    expect(slow).toEqual([]);
  });
});
