// `npm run mutate`: Stryker over the transfer and recovery kernel (stryker.config.json), then the report
// (scripts/mutation-report.mjs). Arguments go to Stryker: npm run mutate -- --mutate kernel/satp/refuse.ts
import { spawnSync } from 'node:child_process';
import { report } from './mutation-report.mjs';

const r = spawnSync('node_modules/.bin/stryker', ['run', ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`stryker exited with ${r.status ?? r.signal}: no report.`);
  process.exit(r.status ?? 1);
}
report();
