// A Stryker reporter plugin for `npm run mutate` (docs/mutation-testing.md): once the initial test run is done and
// before any mutant is tested, writes the test plan to reports/mutation/plan.json: each mutant, whether it will run
// and which of the dry run's tests cover it, with their time. `npm run mutate:plan` stops there and estimates how
// long the whole run would take (scripts/mutation-plan.mjs).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const PLAN_FILE = 'reports/mutation/plan.json';

let dryRun;

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Reporter, 'plan', {
    onDryRunCompleted({ result, timing }) {
      dryRun = {
        tests: result.tests.map((t) => ({
          id: t.id,
          name: t.name,
          file: t.fileName && relative(process.cwd(), t.fileName),
          ms: t.timeSpentMs,
        })),
        netMs: timing.net,
        overheadMs: timing.overhead,
      };
    },
    onMutationTestingPlanReady({ mutantPlans }) {
      const mutants = mutantPlans.map(({ plan, mutant, netTime, runOptions }) => ({
        id: mutant.id,
        file: relative(process.cwd(), mutant.fileName),
        line: mutant.location.start.line + 1,
        mutator: mutant.mutatorName,
        replacement: mutant.replacement,
        static: Boolean(mutant.static),
        ...(plan === 'EarlyResult'
          ? { status: mutant.status, reason: mutant.statusReason }
          : {
              run: true,
              tests: runOptions.testFilter?.length ?? 'all',
              netMs: Math.round(netTime),
              timeoutMs: Math.round(runOptions.timeout),
            }),
      }));
      mkdirSync(dirname(PLAN_FILE), { recursive: true });
      writeFileSync(
        PLAN_FILE,
        `${JSON.stringify({ createdAt: new Date().toISOString(), dryRun, mutants }, null, 1)}\n`,
      );
    },
  }),
];
