// `npm test`: static checks, the whole vitest suite under Node and again under Deno, and its portable part in
// Chromium and workerd, in two lanes at once (below).
// Prints each run's counts and a closing "N passed, N failed" line; exits non-zero if anything failed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const bin = (name) => join('node_modules', '.bin', name);
// Deno looks for updates at dl.deno.land on every start; the tests talk to nothing but 127.0.0.1, so it must not.
process.env.DENO_NO_UPDATE_CHECK = '1';
const extra = process.argv.slice(2); // e.g. a file filter: npm test -- test/storage
const run = (label, cmd, args, env = {}) => {
  console.log(`\n=== ${label}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
};

// Debian packages the suite needs beyond npm, each with the command it provides. A missing one is installed with
// apt-get when this runs as root (CI, a fresh machine); otherwise this says how to install it, and the run fails.
const debianPackages = [
  { pkg: 'strace', command: 'strace', why: 'test/process/durability-strace.test.ts traces gateway processes' },
  { pkg: 'chromium', command: 'chromium', why: 'the portable tests and the browser demo run in Chromium' },
  {
    pkg: 'postgresql',
    command: 'initdb',
    // Debian keeps initdb out of PATH, in /usr/lib/postgresql/<version>/bin (test/support/postgres-cluster.ts).
    dirs: ['/usr/lib/postgresql/*/bin'],
    why: 'the PostgreSQL driver tests start a throwaway cluster (test/support/postgres-cluster.ts)',
  },
];
const onPath = (command) => spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
const inDirs = (command, dirs = []) =>
  dirs.some(
    (glob) =>
      spawnSync('sh', ['-c', `for f in ${glob}/"$0"; do [ -x "$f" ] && exit 0; done; exit 1`, command]).status === 0,
  );
const present = (p) => onPath(p.command) || inDirs(p.command, p.dirs);
function installDebianPackages() {
  const missing = debianPackages.filter((p) => !present(p));
  if (missing.length === 0) return true;
  const names = missing.map((p) => p.pkg).join(' ');
  for (const p of missing)
    console.log(`\n${p.command} is not installed, and ${p.why}: it comes with the Debian package ${p.pkg}`);
  if (process.getuid?.() !== 0) {
    console.log(
      'not root, so not installing it: ' +
        `run \`sudo apt-get update && sudo apt-get install -y ${names}\`, then test again`,
    );
    return false;
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  return (
    run('apt-get update', 'apt-get', ['update'], env) &&
    run(`install ${names}`, 'apt-get', ['install', '-y', ...missing.map((p) => p.pkg)], env) &&
    missing.every(present)
  );
}
const packagesOk = installDebianPackages();

// deno check covers the library's folders; tsc covers those and examples/, test/, bench/ and scripts/.
const denoChecked = [
  'kernel/',
  'storage/',
  'ledgers/',
  'transports/',
  'http/',
  'log-api/',
  'gateway/',
  'edge/',
  'cli/',
  'audit/',
  'identity/',
];
const checks = [
  ['typecheck (tsc)', bin('tsc'), ['--noEmit', '-p', '.']],
  ['typecheck kernel without Node types (tsc)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.kernel.json']],
  ['typecheck (deno check)', bin('deno'), ['check', '--quiet', ...denoChecked]],
  ['kernel purity', process.execPath, ['scripts/check-kernel-purity.mjs']],
  ['no source line over 120 characters', process.execPath, ['scripts/check-line-length.mjs']],
  ['format and lint (biome check)', bin('biome'), ['check', '.']],
  [
    'package: the packed tarball from Node, tsc, Deno and browser consumers',
    process.execPath,
    ['scripts/check-package.mjs'],
  ],
];

/**
 * Runs one command. With `live`, its output goes straight to ours; otherwise it is held and printed whole when the
 * command ends, so that two lanes running at once never interleave their lines. Resolves to whether it exited 0.
 */
function step(label, cmd, args, env, live) {
  const header = `\n=== ${label}: ${[cmd, ...args].join(' ')}`;
  if (live) console.log(header);
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, {
      stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const held = [];
    child.stdout?.on('data', (d) => held.push(d));
    child.stderr?.on('data', (d) => held.push(d));
    const end = (ok, why = '') => {
      const took = `=== ${label}: ${ok ? 'passed' : `FAILED${why}`} in ${Math.round((Date.now() - started) / 1000)} s`;
      if (live) console.log(took);
      else process.stdout.write(`${header}  (held while the other lane ran)\n${Buffer.concat(held)}${took}\n`);
      done(ok);
    };
    child.on('error', (err) => end(false, ` (${err.message})`));
    child.on('close', (code) => end(code === 0));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'satp-test-'));
const results = {};
let failedChecks = 0;

/** vitest runs so far: each writes its JSON report to its own numbered file. */
let vitestRuns = 0;
/**
 * One vitest run under `runtime`, over `files` (vitest's filters and options) or the whole suite, added to that
 * runtime's results: the suite under Node is two runs, one in each lane, and counts as one.
 */
async function vitestUnder(runtime, files, live, part = '') {
  const out = join(dir, `vitest-${++vitestRuns}.json`);
  const vitest = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...files];
  const [cmd, args] =
    runtime === 'node'
      ? [bin('vitest'), vitest]
      : [bin('deno'), ['run', '-A', 'node_modules/vitest/vitest.mjs', ...vitest]];
  const ok = await step(`tests under ${runtime}${part}`, cmd, args, { SATP_RUNTIME: runtime }, live);
  let r;
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    r = {
      ok,
      passed: j.numPassedTests,
      failed: j.numFailedTests,
      skipped: j.numPendingTests + j.numTodoTests,
      files: j.testResults.length,
      failures: j.testResults.flatMap((file) =>
        file.assertionResults
          .filter((t) => t.status === 'failed')
          .map((t) => ({
            test: `${relative(process.cwd(), file.name)} > ${t.fullName}`,
            message: (t.failureMessages[0] ?? '').split('\n').slice(0, 6).join('\n'),
          })),
      ),
    };
  } catch {
    r = { ok: false, passed: 0, failed: 1, skipped: 0, files: 0, failures: [] };
  }
  const before = results[runtime];
  results[runtime] = before
    ? {
        ok: before.ok && r.ok,
        passed: before.passed + r.passed,
        failed: before.failed + r.failed,
        skipped: before.skipped + r.skipped,
        files: before.files + r.files,
        failures: [...before.failures, ...r.failures],
      }
    : r;
}

// The portable part of the suite (test/runtimes/portable.ts) in the two runtimes vitest cannot run in: bundled into
// a Chromium page (with the storage conformance suite on the browser's own IndexedDB) and into a workerd isolate.
async function bundledIn(runtime, live) {
  const out = join(dir, `${runtime}.json`);
  const ok = await step(
    `tests in ${runtime}`,
    process.execPath,
    ['--import', 'tsx', 'test/runtimes/cli.ts', runtime, '--out', out],
    {},
    live,
  );
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    results[runtime] = { ok, ...j };
  } catch {
    results[runtime] = { ok: false, passed: 0, failed: 1, skipped: 0, files: 0, failures: [] };
  }
}

// Two lanes at once, so that the second core works while the first waits. The suite under Node is the longest part
// by far, and its processes (gateways booting, waiting out leases and resends) leave much of a core idle. Lane 1 runs
// its simulator and real-process tiers (test/simulation, test/process: about half of all the work); lane 2 runs the
// static checks, the rest of the suite under Node, the suite under Deno, then the portable part in Chromium and
// workerd. Nothing in one lane writes where the other reads: every test takes its own temporary directories and ports.
// A file filter (npm test -- <files>) is vitest's, and runs as one run per runtime; the bundled runs take the whole
// portable list, so they are skipped then.
const HEAVY = ['test/simulation', 'test/process'];
const laneOne = extra.length === 0 ? HEAVY : extra;
const nodeLane = vitestUnder('node', laneOne, true, extra.length === 0 ? ' (test/simulation, test/process)' : '');
const otherLane = (async () => {
  for (const [label, cmd, args] of checks) if (!(await step(label, cmd, args, {}, false))) failedChecks++;
  if (extra.length === 0)
    await vitestUnder(
      'node',
      HEAVY.flatMap((d) => ['--exclude', `${d}/**`]),
      false,
      ' (the other tiers)',
    );
  await vitestUnder('deno', extra, false);
  for (const runtime of extra.length === 0 ? ['chromium', 'workerd'] : []) await bundledIn(runtime, false);
})();
await Promise.all([nodeLane, otherLane]);
rmSync(dir, { recursive: true, force: true });

// The failures again, last, so that whoever reads only the tail of the output sees which tests failed and why.
for (const [runtime, r] of Object.entries(results)) {
  for (const f of r.failures) console.log(`\n=== failed under ${runtime}: ${f.test}\n${f.message}`);
}
console.log('\n=== summary');
for (const [runtime, r] of Object.entries(results)) {
  console.log(
    `${runtime}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${r.files} files)` +
      `${r.ok ? '' : '  <- FAILED'}`,
  );
}
console.log(`static checks: ${checks.length - failedChecks} of ${checks.length} passed`);
console.log(
  `debian packages (${debianPackages.map((p) => p.pkg).join(', ')}): ${packagesOk ? 'present' : 'missing  <- FAILED'}`,
);
const passed =
  Object.values(results).reduce((n, r) => n + r.passed, 0) + checks.length - failedChecks + (packagesOk ? 1 : 0);
const failed =
  Object.values(results).reduce((n, r) => n + r.failed + (r.ok || r.failed ? 0 : 1), 0) +
  failedChecks +
  (packagesOk ? 0 : 1);
const allOk = failed === 0 && Object.values(results).every((r) => r.ok && r.passed > 0);
console.log(`${passed} passed, ${allOk ? 0 : Math.max(failed, 1)} failed`);
process.exit(allOk ? 0 : 1);
