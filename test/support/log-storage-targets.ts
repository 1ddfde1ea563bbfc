// Starts the one Log Storage API app in each runtime for the black-box suite (crossws style): the Node CLI,
// the Deno entry (both over LevelDB in a temp dir) and a workerd worker under miniflare (memory driver).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GATEWAYS } from './log-storage-fixtures.ts';

export type RuntimeName = 'node' | 'deno' | 'workerd';

export interface Target {
  runtime: RuntimeName;
  url: string;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
/** Generous: the first Deno start resolves npm packages; every wait below is bounded by it. */
const START_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 5_000;

/** Under Deno, process.execPath is deno; the Node server needs node. */
const nodeBinary = (): string => ((globalThis as { Deno?: unknown }).Deno ? 'node' : process.execPath);

function tempDirWithGateways(prefix: string): { dir: string; gatewaysFile: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const gatewaysFile = join(dir, 'gateways.json');
  writeFileSync(gatewaysFile, JSON.stringify(GATEWAYS));
  return { dir, gatewaysFile };
}

/** Kills a child: SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_MS. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(hard);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Spawns a server whose first stdout line is its URL, and resolves with that URL. */
export function spawnServer(cmd: string, args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  return new Promise((resolveUrl, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stopChild(child);
      reject(new Error(`${cmd} ${args.join(' ')}: ${why}\nstderr: ${err.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no URL on stdout within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const url = out.slice(0, nl).trim();
      if (/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) resolveUrl({ url, child });
      else fail(`first stdout line is not a 127.0.0.1 URL: ${JSON.stringify(url)}`);
    });
    child.once('exit', (code, signal) => fail(`exited early (${code ?? signal})`));
  });
}

export interface NodeTargetOptions {
  headersTimeoutMs?: number;
}

/** cli/log-server.ts, the Node CLI, over LevelDB. */
export async function startNodeTarget(opts: NodeTargetOptions = {}): Promise<Target> {
  const { dir, gatewaysFile } = tempDirWithGateways('satp-log-node-');
  const args = [
    '--import',
    'tsx',
    'cli/log-server.ts',
    '--port',
    '0',
    '--db',
    join(dir, 'db'),
    '--gateways',
    gatewaysFile,
  ];
  if (opts.headersTimeoutMs) args.push('--headers-timeout-ms', String(opts.headersTimeoutMs));
  const { url, child } = await spawnServer(nodeBinary(), args);
  return {
    runtime: 'node',
    url,
    stop: () => stopChild(child).then(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/** cli/log-server.deno.ts (Deno.serve), over LevelDB. */
export async function startDenoTarget(): Promise<Target> {
  const { dir, gatewaysFile } = tempDirWithGateways('satp-log-deno-');
  const deno = join(ROOT, 'node_modules', '.bin', 'deno');
  const args = [
    'run',
    '-A',
    '--no-lock',
    'cli/log-server.deno.ts',
    '--port',
    '0',
    '--db',
    join(dir, 'db'),
    '--gateways',
    gatewaysFile,
  ];
  const { url, child } = await spawnServer(deno, args);
  return {
    runtime: 'deno',
    url,
    stop: () => stopChild(child).then(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/** examples/worker.ts bundled by esbuild into a temp dir (never committed) and run by workerd via miniflare. */
export async function startWorkerdTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'satp-log-workerd-'));
  const { build } = await import('esbuild');
  const { Miniflare } = await import('miniflare');
  await build({
    entryPoints: [join(ROOT, 'examples', 'worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser', 'import'],
    outfile: join(dir, 'worker.js'),
    absWorkingDir: ROOT,
    logLevel: 'warning',
  });
  const mf = new Miniflare({
    scriptPath: join(dir, 'worker.js'),
    modules: true,
    modulesRoot: dir,
    compatibilityDate: '2024-09-23',
    bindings: { GATEWAYS: JSON.stringify(GATEWAYS) },
    host: '127.0.0.1',
    port: 0,
  });
  const ready = await mf.ready;
  return {
    runtime: 'workerd',
    url: ready.origin,
    stop: async () => {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const START: Record<RuntimeName, () => Promise<Target>> = {
  node: () => startNodeTarget(),
  deno: startDenoTarget,
  workerd: startWorkerdTarget,
};
