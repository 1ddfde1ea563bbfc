// Builds cli/gateway.ts with esbuild into one ES module (the same source tsx would run) and, split off from it, the
// parts the process imports only when asked (X.509, PostgreSQL, EVM: cli/gateway-process.ts), so that a bundled
// gateway loads no more than the source does. A Node gateway process then starts in a fraction of what tsx's
// per-file loader costs on this 2-core machine: that is what lets the SIGKILL test restart gateways 100+ times.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../../examples/gateway-child.ts';

/**
 * The bundle's path. It lives under node_modules/.cache so that its bare imports (ws, level, zod, hono)
 * resolve from the repo's node_modules, as the source's do; npm packages stay external, unbundled.
 */
export async function bundleGateway(): Promise<{ path: string; remove(): void }> {
  const dir = join(ROOT, 'node_modules', '.cache', 'satp-recovery', `gateway-${process.pid}`);
  await build({
    entryPoints: [join(ROOT, 'cli', 'gateway.ts')],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  return { path: join(dir, 'gateway.mjs'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
