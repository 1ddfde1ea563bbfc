// Runs bundled test files in workerd (the Cloudflare Workers runtime, from npm through miniflare), inside a
// Durable Object: a test that needs Durable Object storage finds the object's state at globalThis.__satpDurable.
// The worker listens on 127.0.0.1 at a port the OS picks; one request runs the tests and answers their result.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Miniflare } from 'miniflare';
import type { RunResult } from './vitest-shim.ts';

const worker = (bundle: string) => `import { run } from './${bundle}';
export class TestRunner {
  constructor(state, env) { this.state = state; this.env = env; }
  async fetch() {
    globalThis.__satpDurable = { state: this.state, env: this.env };
    return Response.json(await run());
  }
}
export default {
  fetch(request, env) {
    const stub = env.RUNNER.get(env.RUNNER.idFromName('tests'));
    return stub.fetch(request);
  },
};
`;

/** The Miniflare options every workerd run of this project uses (a recent compatibility date, Node compat off). */
export const WORKERD_COMPAT = { compatibilityDate: '2024-09-23' } as const;

export async function runInWorkerd(bundle: string, dir: string, timeoutMs: number): Promise<RunResult> {
  writeFileSync(join(dir, 'worker.js'), worker(relative(dir, bundle)));
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath: join(dir, 'worker.js'),
    modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }],
    durableObjects: { RUNNER: 'TestRunner' },
    ...WORKERD_COMPAT,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const ready = await mf.ready;
    const res = await fetch(ready, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd answered ${res.status}: ${text.slice(0, 2000)}`);
    return JSON.parse(text) as RunResult;
  } finally {
    await mf.dispose();
  }
}
