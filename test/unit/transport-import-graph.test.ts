// docs/transports.md: importing the kernel, a runtime-agnostic transport, the Log Storage API client or the
// gateway wiring never loads `ws` or a Node API. Walks the static import graph (dynamic import() is lazy, so it
// is not followed) from each public entry point.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Every bare or node: specifier reachable from `entry` through static imports of project files. */
function externalImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const external = new Set<string>();
  const todo = [resolve(root, entry)];
  for (let n = 0; todo.length > 0 && n < 1_000; n++) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    // `import type` is erased at compile time, so it loads nothing.
    const text = readFileSync(file, 'utf8').replace(/^\s*(?:import|export)\s+type\s[^;]*;/gm, '');
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else external.add(spec);
    }
  }
  return external;
}

const AGNOSTIC = [
  'kernel/index.ts',
  'transports/index.ts',
  'transports/memory/network.ts',
  'transports/ws/web/client.ts',
  'transports/http/index.ts',
  'log-api/client.ts',
  'gateway/index.ts',
  // workerd runs them without Node compatibility: a node: import would not even load there.
  'transports/ws/workerd/server.ts',
  'storage/durable-object.ts',
  'edge/index.ts',
];

describe('what each entry point loads', () => {
  for (const entry of AGNOSTIC) {
    it(`${entry} loads neither ws nor any node: module`, () => {
      const ext = [...externalImports(entry)];
      expect(ext.filter((s) => s === 'ws' || s.startsWith('ws/') || s.startsWith('node:'))).toEqual([]);
    });
  }

  it('the walker finds ws where it is meant to be (transports/ws/node/server.ts, transports/ws/node/client.ts)', () => {
    expect(externalImports('transports/ws/node/server.ts').has('ws')).toBe(true);
    expect(externalImports('transports/ws/node/client.ts').has('ws')).toBe(true);
  });
});
