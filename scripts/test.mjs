// `npm test`: static checks, then the whole vitest suite under Node and again under Deno.
// Prints each run's counts and a closing "N passed, N failed" line; exits non-zero if anything failed.
import { spawnSync } from 'node:child_process';
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
let failedChecks = 0;
for (const [label, cmd, args] of checks) if (!run(label, cmd, args)) failedChecks++;

const dir = mkdtempSync(join(tmpdir(), 'satp-test-'));
const results = {};
for (const runtime of ['node', 'deno']) {
  const out = join(dir, `${runtime}.json`);
  const vitest = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extra];
  const [cmd, args] =
    runtime === 'node'
      ? [bin('vitest'), vitest]
      : [bin('deno'), ['run', '-A', 'node_modules/vitest/vitest.mjs', ...vitest]];
  const ok = run(`tests under ${runtime}`, cmd, args, { SATP_RUNTIME: runtime });
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    results[runtime] = {
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
    results[runtime] = { ok: false, passed: 0, failed: 1, skipped: 0, files: 0, failures: [] };
  }
}
// The portable part of the suite (test/runtimes/portable.ts) in the two runtimes vitest cannot run in: bundled into
// a Chromium page (with the storage conformance suite on the browser's own IndexedDB) and into a workerd isolate.
// A file filter (npm test -- <files>) is vitest's; the bundled runs take the whole portable list, so they are skipped.
for (const runtime of extra.length === 0 ? ['chromium', 'workerd'] : []) {
  const out = join(dir, `${runtime}.json`);
  const ok = run(`tests in ${runtime}`, process.execPath, [
    '--import',
    'tsx',
    'test/runtimes/cli.ts',
    runtime,
    '--out',
    out,
  ]);
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    results[runtime] = { ok, ...j };
  } catch {
    results[runtime] = { ok: false, passed: 0, failed: 1, skipped: 0, files: 0, failures: [] };
  }
}
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
