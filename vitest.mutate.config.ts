// The tests Stryker runs against each mutant (`npm run mutate`, docs/mutation-testing.md): the kernel's log layer,
// the SATP reducers through two gateways, the recovery-04 §5.4 scenarios, and the simulator, cut down to a size
// one mutant can afford. `npx vitest run -c vitest.mutate.config.ts` runs the same selection without mutants.
import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Cheapest first: Stryker stops at the first failing test, so a mutant a quick test kills costs little. The sweep
 * goes before the random schedules: it fails at its first broken scenario, they only after their last seed.
 */
const FILES = [
  'kernel-log.test.ts',
  'error-codes.test.ts',
  'entry-steps.test.ts',
  'envelope-rules.test.ts',
  'compose-rules.test.ts',
  'decide-rules.test.ts',
  'recovery-rules.test.ts',
  'transfer-rules.test.ts',
  'recovery-message-schema.test.ts',
  'claim-schema.test.ts',
  'claims-rules.test.ts',
  'rollback-rules.test.ts',
  'codec-round-trip.test.ts',
  'satp-bad-input.test.ts',
  'safety-harsher-world.test.ts',
  'satp-transfer-scenarios.test.ts',
  'satp-over-memory-transport.test.ts',
  'satp-replay-property.test.ts',
  'recovery-04-s5.4-scenarios.test.ts',
  'sim-crash-sweep.test.ts',
  'sim-schedules.test.ts',
];

class CheapestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => FILES.indexOf(basename(f.moduleId));
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;

export default defineConfig({
  test: {
    include: FILES.map((f) => `test/**/${f}`),
    setupFiles: ['test/support/mutation-setup.ts'],
    sequence: { sequencer: CheapestFirst },
    env: {
      SATP_RUNTIME: 'node',
      // Every seed and sweep in the test's own process: a child would load the kernel without the mutant active.
      SATP_SIM_NO_CHILD: '1',
      // 10,000 seeds in `npm test`; 200 here, at about 60 ms of CPU each.
      SATP_SIM_RUNS: env('SATP_SIM_RUNS', '200'),
      // The first-crash sweep of every scenario, without the second crash during each recovery (the random
      // schedules crash gateways during recovery too). `commit` here would add that sweep for the commit path.
      SATP_SWEEP_SECOND: env('SATP_SWEEP_SECOND', ''),
    },
    testTimeout: 600_000,
    hookTimeout: 60_000,
    // As under Stryker, which runs the files one after another in one worker thread whatever this says.
    pool: 'threads',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
