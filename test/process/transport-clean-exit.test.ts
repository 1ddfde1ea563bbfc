// Close is clean: a process that runs the WebSocket (server and client), HTTP and memory transports once and
// closes them exits on its own, under the runtime under test, with no process.exit to hide a leak.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { within } from '../support/deno-fixture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const deno = 'Deno' in globalThis;

it('a process that used every transport and closed them exits by itself', async () => {
  const script = 'test/support/transport-exit-child.ts';
  const child = spawn(process.execPath, deno ? ['run', '-A', script] : ['--import', 'tsx', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const code = await within(exited, 30_000, 'the transport child exiting on its own');
    expect({ code, out, err }).toMatchObject({ code: 0, out: 'exchanged 3\nclosed\n' });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
