// Builds a process's entry script with esbuild into one ES module (the same source tsx would run) and, split off
// from it, the parts the process imports only when asked (for a gateway: X.509, PostgreSQL, EVM; see
// cli/gateway-process.ts), so that a bundled process loads no more than the source does. A Node child then starts
// in a fraction of what tsx's per-file loader costs on this 2-core machine: that is what lets the SIGKILL tests
// restart gateways 100+ times and append children 50 times. Deno runs the sources itself and needs none of this.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../../examples/gateway-child.ts';

export interface Bundle {
  /** The entry's bundled module, for `node <path>`. */
  path: string;
  remove(): void;
}

/**
 * Bundles `entry` (a path from the repo's root). The bundle lives under node_modules/.cache so that its bare
 * imports (ws, level, zod, hono) resolve from the repo's node_modules, as the source's do; npm packages stay
 * external, unbundled. The caller removes it.
 */
export async function bundleScript(entry: string): Promise<Bundle> {
  const name = basename(entry).replace(/\.ts$/, '');
  const cache = join(ROOT, 'node_modules', '.cache', 'satp-recovery');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, `${name}-`)); // its own, however many this process builds at once
  const remove = () => rmSync(dir, { recursive: true, force: true });
  await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  }).catch((err: unknown) => {
    remove();
    throw err;
  });
  return { path: join(dir, `${name}.mjs`), remove };
}

/** The gateway process (cli/gateway.ts), bundled. */
export const bundleGateway = (): Promise<Bundle> => bundleScript('cli/gateway.ts');
