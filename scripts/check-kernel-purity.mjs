// Fails if kernel/ reaches for a runtime API: time, randomness and I/O must be handed in.
// Exempt: the driver (the kernel's one async edge).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const FORBIDDEN = [
  [/from\s+['"]node:/, 'imports node:*'],
  [/import\(\s*['"]node:/, 'imports node:*'],
  [
    /from\s+['"](fs|path|os|child_process|net|http|https|crypto|ws|level|classic-level)['"]/,
    'imports a runtime module',
  ],
  [/\bDeno\./, 'uses Deno.*'],
  [/\bprocess\./, 'uses process'],
  [/\bDate\.now\s*\(/, 'reads the clock (Date.now)'],
  [/\bnew\s+Date\s*\(\s*\)/, 'reads the clock (new Date())'],
  [/\bperformance\.now\s*\(/, 'reads the clock (performance.now)'],
  [/\bMath\.random\s*\(/, 'draws randomness (Math.random)'],
  [/\brandomUUID\s*\(/, 'draws randomness (crypto.randomUUID)'],
  [/\bsetTimeout\s*\(|\bsetInterval\s*\(/, 'owns a timer'],
];
const EXEMPT = /(^|\/)driver[^/]*\.ts$|\.test\.ts$/;

const root = new URL('../kernel/', import.meta.url).pathname;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(root);

const hits = [];
for (const file of files) {
  const rel = relative(root, file);
  if (EXEMPT.test(rel)) continue;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments may name what they avoid
      for (const [re, why] of FORBIDDEN) if (re.test(line)) hits.push(`kernel/${rel}:${i + 1}: ${why}: ${line.trim()}`);
    });
}
if (hits.length) {
  console.error(`kernel purity check failed:\n${hits.join('\n')}`);
  process.exit(1);
}
console.log(`kernel purity check: ${files.length} files, no runtime API outside the driver`);
