// `npm start` as the README gives it (LevelDB, WebSocket, no TLS), in each of its scenarios, with the gateway
// processes under the suite's runtime: the origin crashed
// mid-transfer and recovering (the default, at step 3.4), and the origin down past
// the deadline, both sides rolling back (recovery-04 §5.4.3). Each run's own checks hold, and the offline auditor
// it runs last over both gateways' stores passes (issue 14: the auditor passes on the logs of every demo scenario).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
/** Under Deno, process.execPath is deno; the demo runs under Node. */
const node = (globalThis as { Deno?: unknown }).Deno ? 'node' : process.execPath;
/** The gateway processes run under the runtime of the suite (the demo's --runtime). */
const runtime = (globalThis as { Deno?: unknown }).Deno ? 'deno' : 'node';
/** The demo's databases: a directory of its own, so that a Node and a Deno run never share one. */
const DATA = mkdtempSync(join(tmpdir(), 'satp-demo-'));
afterAll(() => rmSync(DATA, { recursive: true, force: true }));

const SCENARIOS: [string, string[], RegExp][] = [
  ['the default crash at step 3.4', [], /gw-origin committed, gw-destination committed/],
  // Named after a bug: the origin killed right after sending commit-prepare could lose it with the process (Deno's
  // sends are asynchronous), the destination then minted nothing and the demo waited for a burn in vain.
  [
    'the rollback past the deadline (commit-prepare lost with the SIGKILL)',
    ['--scenario', 'rollback'],
    /gw-origin rolled-back/,
  ],
  // Issue 13: the same stories between two anvil chains; receipts checked on the chain, transactions in the timeline.
  ['the default crash at step 3.4, between two anvil chains', ['--ledgers', 'evm'], /gw-origin committed/],
  [
    'the rollback past the deadline, between two anvil chains (the lock lapses by block time)',
    ['--ledgers', 'evm', '--scenario', 'rollback'],
    /gw-origin rolled-back/,
  ],
];

describe(`npm start, every scenario, gateways on ${runtime}`, () => {
  for (const [name, args, outcome] of SCENARIOS)
    it(`${name}: every check holds and the audit of both logs passes`, () => {
      const run = spawnSync(
        node,
        ['--import', 'tsx', 'examples/demo.ts', ...args, '--runtime', runtime, '--data', DATA],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 90_000,
        },
      );
      expect(run.status, `${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`).toBe(0);
      expect(run.stdout).toMatch(/listening on ws:\/\/127\.0\.0\.1:\d+\/satp\/ws/);
      // On chains, every ledger operation of the timeline names its transaction.
      if (args.includes('evm'))
        expect(run.stdout).toMatch(/LOCK asset-1 on ledger-a: done \(txSeq 1\) tx 0x[0-9a-f]{16}/);
      expect(run.stdout).toContain('All checks hold.');
      expect(run.stdout).toMatch(new RegExp(`\\n {2}OK {3}s-[0-9a-f]{8}: .*${outcome.source}`));
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
        '  audit verdict: passed, 1 session(s) audited, 0 with a failed check',
      );
    }, 120_000);

  it('refuses a --data directory that holds other files, and leaves them as they were', () => {
    const other = mkdtempSync(join(tmpdir(), 'satp-not-demo-'));
    try {
      writeFileSync(join(other, 'notes.txt'), 'mine');
      const run = spawnSync(node, ['--import', 'tsx', 'examples/demo.ts', '--data', other], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/not empty and not a demo directory \(no \.satp-demo\); not wiping it/);
      expect(readdirSync(other)).toEqual(['notes.txt']);
      expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
