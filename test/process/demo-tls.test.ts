// `npm start -- --tls`: the crash-and-recover demo with the gateways on wss:// (TLS 1.3) and certificates from a
// demo CA each trusts alone. The demo's own checks (chains, copies, the asset on one ledger, both committed,
// the recovery exchange in order) must hold, both gateways must have listened on wss://, and the offline auditor
// run last over both stores must pass. Under Deno the gateway processes are Deno's (`--runtime deno`: Deno.serve
// with the certificate, and a dialer given the CA).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
/** Under Deno, process.execPath is deno; the demo runs under Node. */
const node = (globalThis as { Deno?: unknown }).Deno ? 'node' : process.execPath;
const runtime = (globalThis as { Deno?: unknown }).Deno ? 'deno' : 'node';
/** The demo's databases: a directory of its own, so that a Node and a Deno run never share one. */
const DATA = mkdtempSync(join(tmpdir(), 'satp-demo-'));
afterAll(() => rmSync(DATA, { recursive: true, force: true }));

describe(`the demo over TLS, gateways on ${runtime}`, () => {
  it('crashes the origin mid-transfer and recovers over wss://, every check holding', () => {
    const run = spawnSync(
      node,
      ['--import', 'tsx', 'examples/demo.ts', '--tls', '--runtime', runtime, '--data', DATA],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    expect(run.status, `${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`).toBe(0);
    expect(run.stdout.match(/listening on wss:\/\/127\.0\.0\.1:\d+\/satp\/ws/g)?.length).toBeGreaterThanOrEqual(2);
    expect(run.stdout).not.toMatch(/listening on ws:\/\//);
    expect(run.stdout).toMatch(/RECOVER → RECOVER-UPDATE → RECOVER-UPDATE-ACK → RECOVER-SUCCESS sent in order/);
    expect(run.stdout).toContain('All checks hold.');
    // The demo ends with the offline auditor's verdict over both stores (examples/demo/audit.ts).
    expect(run.stdout).toMatch(/\n {2}OK {3}s-[0-9a-f]{8}: gw-origin committed, gw-destination committed\n/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      '  audit verdict: passed, 1 session(s) audited, 0 with a failed check',
    );
  }, 120_000);
});
