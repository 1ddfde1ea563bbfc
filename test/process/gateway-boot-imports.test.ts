// Named after a slow start: every gateway process loaded viem, @peculiar/x509 and postgres when it started, whether
// its command line asked for an EVM ledger, a --trust file or --pg or not. viem alone cost about 0.6 s of CPU, and a
// restarted gateway's recovery waits for its boot (issue 15: the outage after a crash). The process now imports
// each of them only when its command line needs it (cli/gateway-process.ts). A LevelDB gateway on ledger servers
// is started here from the source (under tsx) and from the bundle the process tests use, runs a transfer to its
// end, and the modules it resolved are read back from a trace (test/support/import-trace.mjs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleGateway } from '../support/gateway-bundle.ts';
import { Cluster } from '../support/gateway-cluster.ts';

const TRACER = new URL('../support/import-trace.mjs', import.meta.url).pathname;
const WAIT_MS = 60_000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The npm packages a module list names (node_modules/<name> or node_modules/@scope/<name>). */
const packagesOf = (urls: string[]): Set<string> =>
  new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));

describe('what a gateway process loads (the gateways run on Node from either suite)', () => {
  for (const from of ['the source, under tsx', 'the bundle'] as const)
    it(`from ${from}: a LevelDB gateway on ledger servers loads no viem, @peculiar/x509 or postgres`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'satp-boot-imports-'));
      dirs.push(dir);
      const bundle = from === 'the bundle' ? await bundleGateway() : undefined;
      const traces: Record<string, string> = {};
      let cluster: Cluster | undefined;
      try {
        cluster = await Cluster.start({
          dir,
          runtime: 'node',
          assets: ['asset-1:alice'],
          flags: [],
          ...(bundle && { bundle: bundle.path }),
          wrap: (m, [cmd, args]) => {
            // The tracer goes first, so it sees tsx's own resolutions too; env names the trace file.
            traces[m.role] = join(dir, `${m.role}.imports`);
            return ['env', [`SATP_IMPORT_TRACE=${traces[m.role]}`, cmd, '--import', TRACER, ...args]];
          },
        });
        const { origin, destination } = cluster.members;
        const transfer = { sessionId: 's-boot-1', assetId: 'asset-1', originator: 'alice', beneficiary: 'bob' };
        const reply = await origin.child!.request({ cmd: 'transfer', ...transfer, lockSeconds: 60 }, WAIT_MS);
        expect(reply.started, JSON.stringify(reply)).toBe(true);
        const outcome = (m: typeof origin) =>
          m.child!.waitFor((e) => e.event === 'outcome' && e.session === 's-boot-1', WAIT_MS, `${m.id}'s outcome`);
        const ends = await Promise.all([outcome(origin), outcome(destination)]);
        expect(ends.map((e) => e.outcome)).toEqual(['committed', 'committed']);
      } finally {
        await cluster?.destroy();
        bundle?.remove();
      }
      for (const role of ['origin', 'destination']) {
        const loaded = packagesOf(readFileSync(traces[role]!, 'utf8').split('\n'));
        // The trace works: what every gateway needs is in it.
        expect([...loaded].filter((p) => ['level', 'ws', 'zod'].includes(p)).sort(), role).toEqual([
          'level',
          'ws',
          'zod',
        ]);
        expect(
          [...loaded].filter((p) => ['viem', '@peculiar/x509', 'postgres'].includes(p)),
          role,
        ).toEqual([]);
      }
    }, 180_000);
});
