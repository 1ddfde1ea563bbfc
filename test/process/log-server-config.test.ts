// The log server's command line, as an operator meets it: a configuration it cannot serve with ends the
// process with exit code 2 and one tidy line (no stack trace), before anything is opened or created.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'satp-log-config-'));
/** Under Deno, process.execPath is deno; the Node server needs node. */
const node = (globalThis as { Deno?: unknown }).Deno ? 'node' : process.execPath;
const SERVERS = [
  { name: 'cli/log-server.ts under node', command: node, args: ['--import', 'tsx', 'cli/log-server.ts'] },
  {
    name: 'cli/log-server.deno.ts under deno',
    command: join(ROOT, 'node_modules', '.bin', 'deno'),
    args: ['run', '-A', '--no-lock', 'cli/log-server.deno.ts'],
  },
];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('satp-log-server configuration errors', () => {
  for (const server of SERVERS) {
    it(`${server.name}: a gateways file in which two gateways share a token died with a stack trace after ` +
      'creating the --db folder; now exit 2 with one line naming both, nothing created', () => {
      const token = 'the-same-token-for-both-0123';
      const gateways = join(dir, `shared-${SERVERS.indexOf(server)}.json`);
      writeFileSync(gateways, JSON.stringify({ 'gw-a': { token }, 'gw-b': { token } }));
      const db = join(dir, `db-${SERVERS.indexOf(server)}`);
      const run = spawnSync(server.command, [...server.args, '--port', '0', '--db', db, '--gateways', gateways], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 45_000,
        env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
      });
      expect(run.status, run.stderr).toBe(2);
      const first = run.stderr.split('\n')[0];
      expect(first).toBe(`${gateways}: gateways gw-a and gw-b share a token`);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout).toBe('');
      expect(existsSync(db), 'the --db folder is not created').toBe(false);
    }, 60_000);
  }
});
