// The page script, bundled by esbuild when the demo server starts, into memory: nothing is written, so nothing built
// can end up in the repository. The `browser` condition picks the browser side of every package.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('./page/main.ts', import.meta.url));

/** The page's ES module, as text. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['browser', 'import'],
    logLevel: 'error',
    sourcemap: 'inline',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
