// `npm run bench`: measures the limits of this machine, then the library against them, in one run, and prints
// one table. --quick: a fast smoke run. --json [file]: the results as JSON to the file, or to stdout.
// --only=append,transfers,…: the limits plus the named parts. A part whose run fails (a transfer that does
// not complete, a chain that does not verify) stops the bench with exit code 1 and no figures. The soak (heap and
// RSS over 200,000 transfers, about 90 minutes here) runs with --only=soak, or in a full run given --soak=N transfers.
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { limitsCrypto } from './limits-crypto.ts';
import { limitsHash } from './limits-hash.ts';
import { limitsDisk } from './limits-disk.ts';
import { limitsWs } from './limits-ws.ts';
import { durableAppend } from './durable-append.ts';
import { transfers } from './transfers.ts';
import { recovery } from './recovery.ts';
import { ha } from './ha.ts';
import { haScale } from './ha-scale.ts';
import { notary } from './notary.ts';
import { evm } from './evm.ts';
import { emptyLimits, need } from './lib/limits.ts';
import { BenchFailure, Results, type Row, table } from './lib/report.ts';
import { machine } from './lib/machine.ts';
import { useNativeSha256 } from '../storage/sha256-node.ts';
import { useNativeBase64Url } from '../storage/base64url-node.ts';

// Measured as a Node deployment runs: the kernel hashing with node:crypto (the gateway processes do the same).
useNativeSha256();
useNativeBase64Url();

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonAt = args.indexOf('--json');
const jsonTo =
  jsonAt < 0 ? undefined : args[jsonAt + 1] && !args[jsonAt + 1]!.startsWith('--') ? args[jsonAt + 1]! : '-';
const soakAt = args.find((a) => a.startsWith('--soak='));
const soakTransfers = soakAt ? Number(soakAt.slice('--soak='.length)) : undefined;
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
// With JSON on stdout, the table and progress go to stderr so stdout stays one JSON document.
const say = (line: string) => (jsonTo === '-' ? process.stderr : process.stdout).write(`${line}\n`);

const ms = quick ? 200 : 1000;
const results = new Results();
const limits = emptyLimits();
const started = Date.now();
const load = { start: loadavg() };

const parts: [string, () => Promise<void>][] = [
  [
    'limits',
    async () => {
      await limitsCrypto(results, limits, ms);
      await limitsHash(results, ms);
      await limitsDisk(results, limits, ms);
      await limitsWs(results, limits, ms);
    },
  ],
  ['append', () => durableAppend(results, need(limits), quick ? 500 : 3000)],
  ['transfers', async () => void (await transfers(results, need(limits), quick))],
  ['recovery', () => recovery(results, need(limits), quick, say)],
  ['ha', () => ha(results, need(limits), quick, say)],
  ['scale', () => haScale(results, quick, say)],
  ['notary', () => notary(results, quick, say)],
  ['evm', () => evm(results, need(limits), quick, say)],
  [
    'memory',
    async () => {
      for (const row of await memoryInChild(quick ? 2_000 : 10_000)) results.add(row);
    },
  ],
  // Not in a run without --only unless asked for by --soak=N: 200,000 transfers take about 90 minutes here.
  [
    'soak',
    async () => {
      for (const row of await soakInChild(soakTransfers ?? (quick ? 30_000 : 200_000))) results.add(row);
    },
  ],
];

/** The soak runs in a fresh process with --expose-gc too; its progress lines are passed on as they come. */
function soakInChild(transfers: number): Promise<Row[]> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/soak-child.ts', String(transfers)],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000);
      for (const line of d.split('\n')) if (line.startsWith('  soak:')) say(line);
    });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new BenchFailure(`soak: ${err.trim() || `exit ${code}`}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Row[]);
      } catch {
        reject(new BenchFailure(`the soak printed no results: ${out.slice(-300)}`));
      }
    });
  });
}

/** The memory scenario runs in a fresh process with --expose-gc, so it starts from a clean heap. */
function memoryInChild(sessions: number): Promise<Row[]> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/memory-child.ts', String(sessions)],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new BenchFailure(`memory scenario: ${stderr.trim() || String(err)}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as Row[]);
        } catch {
          reject(new BenchFailure(`memory scenario printed no results: ${stdout.slice(-300)}`));
        }
      },
    );
  });
}

const took: Record<string, number> = {};
for (const [name, run] of parts) {
  if (only && !only.includes(name) && name !== 'limits') continue;
  if (!only && name === 'soak' && soakTransfers === undefined) continue;
  const t = Date.now();
  say(`… ${name} (load average ${loadavg()[0]!.toFixed(2)})`);
  try {
    await run();
  } catch (err) {
    say(`FAILED in ${name}: ${err instanceof BenchFailure ? err.message : ((err as Error)?.stack ?? String(err))}`);
    say('the bench failed: no figures are reported');
    process.exit(1);
  }
  took[name] = (Date.now() - t) / 1000;
  say(`  ${name} took ${took[name]!.toFixed(1)} s`);
}

const m = machine();
const summary = {
  command: `node -r ./cli/uv-pool.cjs --import tsx bench/run.ts ${args.join(' ')}`.trim(),
  quick,
  machine: m,
  load: { ...load, end: loadavg() },
  seconds: (Date.now() - started) / 1000,
  took,
  rows: results.rows,
};
say('');
say(
  `${m.cpu} × ${m.nproc}, ${m.memoryGiB} GiB, Node ${m.node}, level ${m.versions.level}, ` +
    `@noble/curves ${m.versions['@noble/curves']}, ws ${m.versions.ws}; libuv pool ${m.uvThreadpool}`,
);
say(
  `load average ${summary.load.start.map((x) => x.toFixed(2)).join(' ')} at start, ` +
    `${summary.load.end.map((x) => x.toFixed(2)).join(' ')} at end; ${summary.seconds.toFixed(0)} s`,
);
say(table(results.rows));
if (jsonTo === '-') process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else if (jsonTo) await writeFile(jsonTo, `${JSON.stringify(summary, null, 2)}\n`);
