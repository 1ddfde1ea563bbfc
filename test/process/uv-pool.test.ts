// The satp-gateway, satp-log-server and satp-ledger-server bins, and every Node gateway the demo, the tests and the
// bench start, load cli/uv-pool.cjs first: it sizes libuv's thread pool to the cores, between 2 and libuv's default
// of 4, unless UV_THREADPOOL_SIZE is set.
// libuv reads the variable once, when the pool starts, and loading an ES module starts it, so the preload must take
// effect before the gateway's ES modules load. Checked from outside, on a process whose entry is an ES module: its
// threads are counted after it used the pool (/proc, Linux). Node children from either suite.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayCommand, ROOT } from '../../examples/gateway-child.ts';

const PRELOAD = `${ROOT}cli/uv-pool.cjs`;
const NODE = 'Deno' in globalThis ? 'node' : process.execPath;
const expected = Math.min(4, Math.max(2, availableParallelism()));

/** Runs `node ...args` with UV_THREADPOOL_SIZE unset or set; its stdout, trimmed. */
function node(args: string[], uv?: string): string {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  if (uv !== undefined) env.UV_THREADPOOL_SIZE = uv;
  const r = spawnSync(NODE, args, { env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Runs `node [...pre] --input-type=module -e script`, as `node` does. */
const run = (pre: string[], script: string, uv?: string): string =>
  node([...pre, '--input-type=module', '-e', script], uv);

// Uses the pool (scrypt runs in it), then counts this process's threads.
const COUNT_THREADS = `
import { scrypt } from 'node:crypto';
import { readdirSync } from 'node:fs';
await Promise.all(Array.from({ length: 8 }, () => new Promise((r) => scrypt('p', 's', 16, r))));
console.log(readdirSync('/proc/self/task').length);`;

describe('libuv pool sized to the cores (cli/uv-pool.cjs)', () => {
  it(`sets UV_THREADPOOL_SIZE to ${expected} on this machine, and keeps a value already set`, () => {
    const script = 'console.log(process.env.UV_THREADPOOL_SIZE ?? "unset")';
    expect(run(['-r', PRELOAD], script)).toBe(String(expected));
    expect(run(['-r', PRELOAD], script, '3')).toBe('3');
    expect(run([], script)).toBe('unset');
  });

  it.runIf(existsSync('/proc/self/task'))(
    'takes effect in a process whose entry is an ES module: the pool has that many threads, not 4',
    () => {
      const without = Number(run([], COUNT_THREADS));
      const withPreload = Number(run(['-r', PRELOAD], COUNT_THREADS));
      const preset = Number(run(['-r', PRELOAD], COUNT_THREADS, '4'));
      expect(preset).toBe(without); // the same process with the default pool
      expect(without - withPreload).toBe(4 - expected);
    },
  );

  // Each server bin the package ships is a CommonJS shim (cli/satp-*.cjs) that loads the preload, then imports the
  // server's built module. Run here as built, beside a stand-in for that module which uses the pool and counts.
  it.runIf(existsSync('/proc/self/task'))(
    'is what the satp-gateway, satp-log-server and satp-ledger-server bins load before their server',
    () => {
      const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string> };
      const dir = mkdtempSync(join(tmpdir(), 'satp-uv-bins-'));
      try {
        copyFileSync(PRELOAD, join(dir, 'uv-pool.cjs'));
        writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
        for (const name of ['satp-gateway', 'satp-log-server', 'satp-ledger-server']) {
          expect(pkg.bin[name], name).toBe(`./dist/cli/${name}.cjs`);
          const shim = `${name}.cjs`;
          copyFileSync(`${ROOT}cli/${shim}`, join(dir, shim));
          const target = /import\('\.\/([\w-]+)\.js'\)/.exec(readFileSync(join(dir, shim), 'utf8'))?.[1];
          expect(existsSync(`${ROOT}cli/${target}.ts`), `${shim} imports the build of cli/${target}.ts`).toBe(true);
          writeFileSync(join(dir, `${target}.js`), COUNT_THREADS);
          const count = (file: string) => Number(node([join(dir, file)]));
          expect(count(`${target}.js`) - count(shim), `${name}: threads the preload saved`).toBe(4 - expected);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('is what the Node gateway command loads first', () => {
    const [, args] = gatewayCommand('node', ['--help']);
    expect(args.slice(0, 2)).toEqual(['-r', PRELOAD]);
  });
});
