// Fails if a tracked source file has a line over 120 characters. Biome wraps code at 120 but leaves long strings,
// template literals and comments as they are; this catches those.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', '*.ts', '*.mjs', '*.js'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const hits = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed by git but deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > MAX) hits.push(`${file}:${i + 1}: ${line.length} characters`);
  });
}
for (const h of hits) console.error(h);
console.log(`line length: ${hits.length} line(s) over ${MAX} characters in ${files.length} files`);
process.exit(hits.length ? 1 : 0);
