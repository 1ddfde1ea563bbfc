// `npm run mutate:plan`: what a full `npm run mutate` would do and how long it could take, without testing a mutant.
// Runs Stryker with the same config up to its test plan (the initial test run, about one pass of the tests, on one
// core), stops it, and sums per file the time of the tests that cover each mutant: the worst case, every mutant
// surviving. Extra arguments go to Stryker (e.g. --mutate kernel/satp/recovery.ts).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PLAN_FILE } from './stryker-plan-reporter.mjs';

/** Per mutant, besides its tests: vitest collecting the test files again (measured on the trial run). */
const OVERHEAD_MS = Number(process.env.SATP_MUTANT_OVERHEAD_MS) || 2_000;

const TMP = '.stryker-tmp';
const sandboxes = () => (existsSync(TMP) ? readdirSync(TMP) : []);
const before = new Set(sandboxes());
const started = Date.now();
rmSync(PLAN_FILE, { force: true });
// Its own process group, so that stopping it stops its test runner and checker processes too. Its output is
// passed on until the plan is ready; what it prints while being stopped is not.
const stryker = spawn('node_modules/.bin/stryker', ['run', '--reporters', 'plan,progress', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let stopping = false;
stryker.stdout.on('data', (d) => stopping || process.stdout.write(d));
stryker.stderr.on('data', (d) => stopping || process.stderr.write(d));
const exited = new Promise((resolve) => stryker.on('exit', (code) => resolve(code ?? 1)));
let code;
while (code === undefined) {
  if (existsSync(PLAN_FILE) && statSync(PLAN_FILE).mtimeMs >= started) {
    stopping = true;
    process.kill(-stryker.pid, 'SIGTERM');
    await exited;
    break;
  }
  code = await Promise.race([exited, sleep(500).then(() => undefined)]);
}
// Stopped, Stryker leaves its sandbox behind: remove the one this run made.
for (const dir of sandboxes()) if (!before.has(dir)) rmSync(`${TMP}/${dir}`, { recursive: true, force: true });
if (!existsSync(PLAN_FILE)) {
  console.error(`Stryker exited (${code}) before its test plan was ready: see its output above.`);
  process.exit(1);
}

const { dryRun, mutants } = JSON.parse(readFileSync(PLAN_FILE, 'utf8'));
const h = (ms) => `${(ms / 3_600_000).toFixed(1)} h`;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const byFile = new Map();
for (const m of mutants) {
  const f = byFile.get(m.file) ?? { all: 0, early: {}, run: 0, ms: 0 };
  f.all++;
  if (m.run) {
    f.run++;
    f.ms += m.netMs + OVERHEAD_MS;
  } else {
    const key = m.status === 'Ignored' && m.static ? 'Ignored (static)' : m.status;
    f.early[key] = (f.early[key] ?? 0) + 1;
  }
  byFile.set(m.file, f);
}
const total = { all: 0, run: 0, ms: 0, early: {} };
console.log(
  `\nTest plan (${PLAN_FILE}), from an initial run of ${dryRun.tests.length} tests ` +
    `in ${s(dryRun.netMs)} (+ ${s(dryRun.overheadMs)} overhead)\n`,
);
console.log(
  `${'file'.padEnd(36)} ${'mutants'.padStart(7)} ${'to run'.padStart(7)} ${'worst case'.padStart(10)}  not run`,
);
for (const [file, f] of [...byFile].sort((a, b) => b[1].ms - a[1].ms)) {
  total.all += f.all;
  total.run += f.run;
  total.ms += f.ms;
  for (const [k, n] of Object.entries(f.early)) total.early[k] = (total.early[k] ?? 0) + n;
  const early = Object.entries(f.early)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  console.log(
    `${file.padEnd(36)} ${String(f.all).padStart(7)} ${String(f.run).padStart(7)} ${h(f.ms).padStart(10)}  ${early}`,
  );
}
const early = Object.entries(total.early)
  .map(([k, n]) => `${n} ${k}`)
  .join(', ');
console.log(
  `${'all files'.padEnd(36)} ${String(total.all).padStart(7)} ${String(total.run).padStart(7)} ` +
    `${h(total.ms).padStart(10)}  ${early}`,
);
console.log(
  `\nWorst case (every mutant that runs survives, so all its covering tests run; ${s(OVERHEAD_MS)} overhead each):`,
);
console.log(`  concurrency 1: ${h(total.ms)}; concurrency 2: ${h(total.ms / 2)} if both cores are free.`);
console.log(
  `  Mean per mutant that runs: ${s(total.ms / Math.max(total.run, 1))}. ` +
    'Killed mutants stop at the first failing test, and',
);
console.log(
  `  mutants the TypeScript checker rejects run no test, so a real run is shorter (docs/mutation-testing.md).`,
);
