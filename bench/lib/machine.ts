// What the figures were measured on: CPU model and count, memory, Node and the versions of the measured packages.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

// package.json is read from node_modules directly: some packages' `exports` do not expose it.
const root = new URL('../../', import.meta.url);

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

const versionOf = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, root), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
};

export function machine() {
  return {
    cpu: cpuModel(),
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.versions.node,
    // `npm run bench` sizes it as the satp-gateway bin does (cli/uv-pool.cjs); 4 is libuv's default.
    uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (libuv default)',
    versions: Object.fromEntries(
      ['level', 'classic-level', '@noble/curves', '@noble/hashes', 'ws', 'zod', 'canonicalize'].map((p) => [
        p,
        versionOf(p),
      ]),
    ) as Record<string, string>,
  };
}
