// `npm run mutate`: Stryker over the transfer and recovery kernel (stryker.config.json), then the report
// (scripts/mutation-report.mjs). Arguments go to Stryker: npm run mutate -- --mutate kernel/satp/refuse.ts
//
// `npm run mutate -- --in-parts`: the same mutants in parts (PARTS), one Stryker run each. Stryker writes its report
// only when a whole run ends, and a full run takes hours; a part's report is kept in reports/mutation/parts/ with the
// code and tests it measured (committed and not), and a part already measured on the same ones is skipped, so a run
// cut short resumes where it stopped. The parts' reports are then merged into reports/mutation/mutation.json.
// SATP_MUTATE_PARTS='[["kernel/satp/effects.ts"]]' replaces the parts (to try the runner on a small one).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORT_FILE, report } from './mutation-report.mjs';

const args = process.argv.slice(2);

function stryker(extra) {
  const r = spawnSync('node_modules/.bin/stryker', ['run', ...extra], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`stryker exited with ${r.status ?? r.signal}: no report.`);
    process.exit(r.status ?? 1);
  }
}

if (!args.includes('--in-parts')) {
  stryker(args);
  report();
  process.exit(0);
}

/** The largest files alone, then the rest of stryker.config.json's `mutate` in one part. */
const NAMED = [
  ['kernel/satp/decide.ts'],
  ['kernel/satp/state.ts'],
  ['kernel/satp/recovery.ts', 'kernel/satp/recovery-messages.ts'],
  ['kernel/satp/origin.ts', 'kernel/satp/destination.ts', 'kernel/satp/rollback.ts'],
];
const config = JSON.parse(readFileSync('stryker.config.json', 'utf8'));
const PARTS = process.env.SATP_MUTATE_PARTS
  ? JSON.parse(process.env.SATP_MUTATE_PARTS)
  : [...NAMED, [...config.mutate, ...NAMED.flat().map((f) => `!${f}`)]];

const git = (...a) => spawnSync('git', a, { encoding: 'utf8' }).stdout;
/** What a part's result depends on: the code, the tests and the mutation setup (committed and not), not the docs. */
const INPUTS = ['kernel', 'test', 'stryker.config.json', 'vitest.mutate.config.ts', 'scripts', 'package-lock.json'];
const tree = createHash('sha256')
  .update(git('ls-files', '-s', '--', ...INPUTS))
  .update(git('diff', 'HEAD', '--', ...INPUTS))
  .digest('hex')
  .slice(0, 24);
const PARTS_DIR = 'reports/mutation/parts';
mkdirSync(PARTS_DIR, { recursive: true });
const passThrough = args.filter((a) => a !== '--in-parts');

const partFile = (globs) =>
  join(PARTS_DIR, `${createHash('sha256').update(globs.join(',')).digest('hex').slice(0, 16)}.json`);
let skeleton;
const files = {};
for (const [i, globs] of PARTS.entries()) {
  const file = partFile(globs);
  const kept = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  if (kept?.tree === tree) {
    console.log(`part ${i + 1} of ${PARTS.length} (${globs.join(', ')}): measured already on this tree, skipped`);
  } else {
    console.log(`part ${i + 1} of ${PARTS.length}: ${globs.join(', ')}`);
    stryker(['--mutate', globs.join(','), ...passThrough]);
    const json = JSON.parse(readFileSync(REPORT_FILE, 'utf8'));
    writeFileSync(file, JSON.stringify({ tree, globs, report: json }));
  }
  const { report: part } = JSON.parse(readFileSync(file, 'utf8'));
  skeleton ??= part;
  Object.assign(files, part.files);
}
writeFileSync(REPORT_FILE, JSON.stringify({ ...skeleton, files }));
console.log(`merged ${PARTS.length} parts (${Object.keys(files).length} files) into ${REPORT_FILE}, tree ${tree}`);
report();
