// Bug: a Deno gateway of the SIGKILL storm (1 run in 12 under load here) did not exit within its parent's 15 s grace
// after its stdin closed; the shutdown's names (cli/shutdown.ts) showed it waiting on its WebSocket listener. Deno's
// shutdown() waits for every connection to finish, and a request still being answered holds it for as long as that
// lasts. The Deno listener (cli/deno-serve.ts) now cuts what is left when it closes, as the Node server does.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '../support/deno-fixture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

describe('the Deno gateway listener', () => {
  it('closes though a request to it is never answered: the connection is cut', async () => {
    const proc = spawn(`${root}node_modules/.bin/deno`, ['run', '-A', 'test/support/deno-serve-child.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const next = async (what: string) => {
      const line = await within(lines.next(), 30_000, what);
      if (line.done) throw new Error(`the Deno listener exited before ${what}: ${stderr}`);
      return JSON.parse(line.value as string) as unknown;
    };
    const { port } = (await next('the listener')) as { port: number };
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    socket.on('error', () => {});
    try {
      expect(await next('the listener closing with a request in flight')).toEqual({ closed: true });
    } finally {
      socket.destroy();
    }
  });
});
