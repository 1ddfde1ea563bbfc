// Builds cli/gateway.ts into one ES module with esbuild (the same source tsx would run), so a Node gateway
// process starts in about 0.3 s instead of 1.1–1.5 s under tsx's per-file loader on this 2-core machine: that
// is what lets the SIGKILL test restart gateways 100+ times in a few minutes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../../examples/gateway-child.ts';

/**
 * The bundle's path. It lives under node_modules/.cache so that its bare imports (ws, level, zod, hono)
 * resolve from the repo's node_modules, as the source's do; npm packages stay external, unbundled.
 */
export async function bundleGateway(): Promise<{ path: string; remove(): void }> {
  const path = join(ROOT, 'node_modules', '.cache', 'satp-recovery', `gateway-${process.pid}.mjs`);
  await build({
    entryPoints: [join(ROOT, 'cli', 'gateway.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: path,
    logLevel: 'warning',
  });
  return { path, remove: () => rmSync(path, { force: true }) };
}
