// Runs the portable tests (test/runtimes/portable.ts) in Chromium or workerd and writes the result as JSON:
//   node --import tsx test/runtimes/cli.ts chromium [--out result.json] [file ...]
// npm test (scripts/test.mjs) runs it once per runtime and prints one line per runtime.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleTests } from './bundle.ts';
import { PORTABLE_TESTS } from './portable.ts';
import type { RunResult } from './vitest-shim.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, timeout: { type: 'string', default: '600000' } },
});
const [runtime, ...only] = positionals;
const EXTRA: Record<string, string[]> = {
  chromium: ['test/browser/indexeddb-conformance.test.ts'],
  workerd: ['test/workerd/durable-object-conformance.test.ts'],
};
if (!runtime || !(runtime in EXTRA)) {
  console.error('usage: cli.ts chromium|workerd [--out result.json] [--timeout ms] [file ...]');
  process.exit(2);
}
const files = only.length > 0 ? only : [...PORTABLE_TESTS, ...(EXTRA[runtime] ?? [])];
const dir = mkdtempSync(join(tmpdir(), `satp-${runtime}-`));
let result: RunResult;
try {
  const bundle = await bundleTests({
    files,
    outdir: dir,
    conditions: runtime === 'chromium' ? ['browser', 'import'] : ['workerd', 'worker', 'browser', 'import'],
    define: { 'process.env.SATP_RUNTIME': JSON.stringify(runtime) },
  });
  const timeoutMs = Number(values.timeout);
  result =
    runtime === 'chromium'
      ? await (await import('./chromium.ts')).runInChromium(bundle, dir, timeoutMs)
      : await (await import('./workerd.ts')).runInWorkerd(bundle, dir, timeoutMs);
} catch (err) {
  result = { passed: 0, failed: 1, skipped: 0, files: 0, failures: [{ test: `${runtime} run`, message: String(err) }] };
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const f of result.failures) console.log(`FAIL ${f.test}\n  ${f.message.replace(/\n/g, '\n  ')}`);
console.log(
  `${runtime}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped (${result.files} files)`,
);
if (values.out) writeFileSync(values.out, JSON.stringify(result));
process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
