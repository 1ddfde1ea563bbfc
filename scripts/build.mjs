// `npm run build`: compiles the library (and the cli/ programs behind the package's bins) to ES modules and
// declarations in dist/, for consumers that do not run TypeScript: plain Node, bundlers, Deno through npm:.
// The sources stay the package's truth and stay runnable as they are (tsx, Deno, JSR import .ts directly).
// tsc rewrites the sources' relative `.ts` imports to `.js` in the JavaScript it emits
// (rewriteRelativeImportExtensions) but leaves them as `.ts` in declarations, which a consumer's tsc then
// refuses unless it allows importing .ts; so the declarations' relative specifiers are rewritten here.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Relative specifiers ending in .ts, in import/export ... from '...', import('...') and declare module '...'.
const relativeTs = /(['"])(\.{1,2}\/[^'"\n]*?)\.ts\1/g;
let declarations = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const path = join(entry.parentPath, entry.name);
  const text = readFileSync(path, 'utf8');
  const rewritten = text.replace(relativeTs, (_, q, stem) => `${q}${stem}.js${q}`);
  if (rewritten !== text) writeFileSync(path, rewritten);
  declarations++;
}

// The CommonJS files of cli/ (the satp-gateway bin and the libuv pool preload it loads first; tsc emits ES modules
// only) are copied beside the compiled gateway.
for (const name of readdirSync(join(root, 'cli'))) {
  if (name.endsWith('.cjs')) copyFileSync(join(root, 'cli', name), join(dist, 'cli', name));
}

// The bins (package.json "bin") must be executable where npm links them.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(root, bin), 0o755);
console.log(`build: dist/ written (${declarations} declaration files)`);
