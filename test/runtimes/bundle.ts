// Bundles test files into one ES module for a runtime vitest cannot run in (Chromium, workerd): esbuild, with
// `vitest` aliased to test/runtimes/vitest-shim.ts and each file's registrations labelled with its path. The
// module exports run() (the shim's). Written into a temp dir the caller owns, never into the repository.
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

export const ROOT: string = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const SHIM = join(ROOT, 'test', 'runtimes', 'vitest-shim.ts');

export interface BundleOptions {
  /** Test files, relative to the repository root, in the order they run. */
  files: readonly string[];
  outdir: string;
  /** esbuild's resolve conditions of the runtime (e.g. ['workerd', 'worker', 'browser']). */
  conditions: string[];
  /** Globals the runtime has under another name, e.g. { 'process.env.SATP_RUNTIME': '"chromium"' }. */
  define?: Record<string, string>;
}

/** Writes `<outdir>/tests.js` and returns its path. */
export async function bundleTests(o: BundleOptions): Promise<string> {
  const lines = [`export { run } from ${JSON.stringify(SHIM)};`, `import { beginFile } from ${JSON.stringify(SHIM)};`];
  o.files.forEach((file, i) => {
    lines.push(`import 'satp-file:${i}';`, `import ${JSON.stringify(join(ROOT, file))};`);
  });
  // A file's marker module runs just before the file's own module body (ES module evaluation order).
  const markers: Plugin = {
    name: 'file-markers',
    setup(b) {
      b.onResolve({ filter: /^satp-file:\d+$/ }, (args) => ({ path: args.path, namespace: 'satp-file' }));
      b.onLoad({ filter: /.*/, namespace: 'satp-file' }, (args) => ({
        contents: `import { beginFile } from ${JSON.stringify(SHIM)};
beginFile(${JSON.stringify(o.files[Number(args.path.split(':')[1])])});`,
        resolveDir: ROOT,
        loader: 'js',
      }));
    },
  };
  const entry = join(o.outdir, 'entry.js');
  writeFileSync(entry, `${lines.join('\n')}\nvoid beginFile;\n`);
  const outfile = join(o.outdir, 'tests.js');
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['browser', 'module', 'main'],
    conditions: o.conditions,
    alias: { vitest: SHIM },
    define: { 'process.env.SATP_RUNTIME': 'undefined', ...o.define },
    plugins: [markers],
    outfile,
    absWorkingDir: ROOT,
    nodePaths: [join(ROOT, 'node_modules')],
    logLevel: 'error',
    sourcemap: false,
    // package.json says sideEffects: false (true of the library); test files are nothing but side effects.
    ignoreAnnotations: true,
  });
  return outfile;
}

/** A path as the runners print it. */
export const shown = (path: string): string => relative(ROOT, path);
