// `npm run mutate:listed`: the deliberate bugs an outside review planted in the kernel and its store, each applied
// alone to a copy of the committed tree, and which suites catch it: the simulator (seeded schedules), the crash
// sweep, the scenario and kernel tests, and (for the missing sync) the strace durability test. The rule the
// project holds itself to: every one is caught, and by more than one suite where it can be (docs/mutation-testing.md).
//
//   npm run mutate:listed                      every mutant, 2,000 seeds
//   npm run mutate:listed -- --only M3,M8 --seeds 500
//
// Not part of npm test (about 40 minutes on 2 cores). Writes reports/listed-mutants.json and prints a table.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SEEDS = Number(arg('seeds') ?? 2000);
const ONLY = arg('only')?.split(',');

/** Each mutant: where, what text it replaces (each `from` must occur exactly once), and which suites may catch it. */
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: the mutants are source text, template literals included
const MUTANTS = [
  {
    id: 'M1',
    name: 'LevelDB writes without sync: true',
    file: 'storage/level.ts',
    edits: [['return new LevelDriver(db, options.sync ?? true);', 'return new LevelDriver(db, false);']],
    suites: ['strace', 'scenarios'],
  },
  {
    id: 'M2',
    name: 'no hashPrevMessage check on in-order messages',
    file: 'kernel/satp/decide.ts',
    edits: [["  if (!('hashPrevMessage' in m) || m.hashPrevMessage !== s.lastSent?.hash)\n", '  if (false)\n']],
  },
  {
    id: 'M3',
    name: 'chain verification without the lastEntryHash link check',
    file: 'kernel/chain.ts',
    edits: [['if (e.lastEntryHash !== head.hash) {', 'if (false) {']],
  },
  {
    id: 'M4',
    name: "a step's sends and ledger calls go on after its append failed",
    file: 'kernel/driver.ts',
    edits: [
      [
        '    } catch (err) {\n      const last = sealed[sealed.length - 1]!;',
        '    } catch (err) {\n      if (err) return;\n      const last = sealed[sealed.length - 1]!;',
      ],
    ],
  },
  {
    id: 'M5',
    name: 'a failed ledger status query read as "did not happen"',
    file: 'kernel/driver.ts',
    edits: [
      [
        "kind: 'ledger-status-failed',\n" +
          '              now: this.#o.clock.now(),\n' +
          '              opId: e.opId,\n' +
          '              error: String(err),',
        "kind: 'ledger-status',\n" +
          '              now: this.#o.clock.now(),\n' +
          '              opId: e.opId,\n' +
          '              receipt: undefined,\n' +
          '              verified: false,',
      ],
    ],
  },
  {
    id: 'M5b',
    name: 'a failed attestation of the origin ledger read as "no burn"',
    file: 'kernel/satp/decide.ts',
    edits: [
      [
        "  if (!a) return later(`the origin ledger did not attest: ${error ?? 'no answer'}`);",
        '  if (!a) return startRollback(s, now, `no answer read as no burn: ${error}`, true);',
      ],
    ],
  },
  {
    id: 'M6',
    name: 'RECOVER-SUCCESS ignores that the peer rolled back while this gateway was down',
    file: 'kernel/satp/recovery.ts',
    edits: [
      [
        'if (after.peerRolledBack && deadlineApplies(after))',
        'if (false && after.peerRolledBack && deadlineApplies(after))',
      ],
    ],
  },
  {
    id: 'M7',
    name: 'an exec settled at boot by executing it again instead of asking the ledger',
    file: 'kernel/satp/decide.ts',
    edits: [
      [
        "  if (s.pending) effects.push({ kind: 'ledger-query', opId: s.pending.op.opId });\n" +
          "  if (deadlineApplies(s)) effects.push({ kind: 'set-timer', timer: 'deadline', " +
          'at: deadlineOf(s, cfg) });\n' +
          '  const local',
        "  if (s.pending) effects.push({ kind: 'ledger-execute', op: s.pending.op });\n" +
          "  if (deadlineApplies(s)) effects.push({ kind: 'set-timer', timer: 'deadline', " +
          'at: deadlineOf(s, cfg) });\n' +
          '  const local',
      ],
    ],
  },
  {
    id: 'M8',
    name: 'RECOVER-UPDATE entries stored without signature and link verification',
    file: 'storage/log-store.ts',
    edits: [
      [
        '    if (!verified.ok) throw chainError(verified);\n    const entries = verified.entries;',
        '    const entries = verified.ok ? verified.entries : (source as LogEntry[]);',
      ],
    ],
  },
  {
    id: 'M9',
    name: 'the deadline timer not re-armed at boot',
    file: 'kernel/satp/decide.ts',
    edits: [
      [
        "  if (deadlineApplies(s)) effects.push({ kind: 'set-timer', timer: 'deadline', at: deadlineOf(s, cfg) });\n" +
          '  const local',
        '  const local',
      ],
    ],
  },
  {
    id: 'M10',
    name: "the origin committed at the burn's done instead of its exec",
    file: 'kernel/satp/state.ts',
    edits: [
      [
        "const committed = s.committed || (s.role === 'origin' && op.kind === 'burn' && p.purpose === 'forward');",
        'const committed = s.committed;',
      ],
      [
        '        receipts: { ...s.receipts, [op.opId]: p.receipt },\n' +
          '        compensations,\n' +
          '        rollbackList: list,',
        '        receipts: { ...s.receipts, [op.opId]: p.receipt },\n' +
          '        compensations,\n' +
          '        committed: s.committed || ' +
          "(s.role === 'origin' && op.kind === 'burn' && p.purpose === 'forward'),\n" +
          '        rollbackList: s.committed || ' +
          "(s.role === 'origin' && op.kind === 'burn' && p.purpose === 'forward') ? [] : list,",
      ],
    ],
  },
  {
    id: 'M11',
    name: 'BURN not cleared from the rollback list after the rollback burn',
    file: 'kernel/satp/state.ts',
    edits: [
      [
        "      if (op.kind === 'burn' && p.purpose === 'rollback') list = without(list, 'BURN');\n" +
          '      const compensations',
        '      const compensations',
      ],
    ],
  },
];
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: the mutants are source text

function sh(cmd, args, cwd, env = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out, ms: Date.now() - t0 }));
  });
}

const lastJson = (text) => {
  for (const line of text.trim().split('\n').reverse()) {
    try {
      return JSON.parse(line);
    } catch {
      // not the JSON line
    }
  }
  return undefined;
};

/** The suites, each resolving to { caught, detail, ms }. */
const SUITES = {
  async sim(dir) {
    const half = Math.ceil(SEEDS / 2);
    const runs = await Promise.all([
      sh(
        process.execPath,
        ['--import', 'tsx', 'test/sim/cli.ts', '--runs', String(half), '--from', '1', '--json'],
        dir,
      ),
      sh(
        process.execPath,
        ['--import', 'tsx', 'test/sim/cli.ts', '--runs', String(SEEDS - half), '--from', String(half + 1), '--json'],
        dir,
      ),
    ]);
    const results = runs.map((r) => lastJson(r.out));
    if (results.some((r) => !r))
      return {
        caught: true,
        detail: `the simulator crashed: ${runs.map((r) => r.out.slice(-300)).join(' | ')}`,
        ms: Math.max(...runs.map((r) => r.ms)),
      };
    const failures = results.flatMap((r) => r.failures);
    const kinds = [...new Set(failures.flatMap((f) => f.violations.map((v) => v.invariant)))];
    return {
      caught: failures.length > 0,
      detail: failures.length
        ? `${failures.length} of ${SEEDS} seeds (e.g. ${failures
            .slice(0, 3)
            .map((f) => f.seed)
            .join(', ')}): ${kinds.slice(0, 3).join('; ')}`
        : `0 of ${SEEDS} seeds`,
      ms: Math.max(...runs.map((r) => r.ms)),
    };
  },
  async sweep(dir) {
    const r = await sh(
      process.execPath,
      ['--import', 'tsx', 'test/sim/cli.ts', '--sweep-all', '--first-only', '--json'],
      dir,
    );
    const summaries = lastJson(r.out);
    if (!summaries) return { caught: true, detail: `the sweep crashed: ${r.out.slice(-300)}`, ms: r.ms };
    const failing = summaries.filter((s) => s.failures.length);
    const points = summaries.reduce((n, s) => n + s.failures.length, 0);
    return {
      caught: points > 0,
      detail: points ? `${points} crash points in ${failing.map((s) => s.scenario).join(', ')}` : 'no crash point',
      ms: r.ms,
    };
  },
  async scenarios(dir) {
    const files = [
      'test/scenario/safety-harsher-world.test.ts',
      'test/scenario/satp-transfer-scenarios.test.ts',
      'test/scenario/recovery-04-s5.4-scenarios.test.ts',
      'test/scenario/satp-replay-property.test.ts',
      'test/scenario/satp-bad-input.test.ts',
      'test/unit/kernel-log.test.ts',
      'test/conformance/storage-conformance.test.ts',
    ];
    const r = await sh(join(dir, 'node_modules/.bin/vitest'), ['run', '--reporter=json', ...files], dir, {
      SATP_RUNTIME: 'node',
    });
    const j = lastJson(r.out.slice(r.out.indexOf('{')));
    const failed = j?.testResults?.flatMap((f) =>
      f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.title),
    ) ?? ['(no report)'];
    return {
      caught: failed.length > 0,
      detail: failed.length ? `${failed.length} tests: ${failed.slice(0, 2).join(' | ')}` : 'all pass',
      ms: r.ms,
    };
  },
  async strace(dir) {
    const r = await sh(join(dir, 'node_modules/.bin/vitest'), ['run', 'test/process/durability-strace.test.ts'], dir, {
      SATP_RUNTIME: 'node',
    });
    return {
      caught: r.code !== 0,
      detail: r.code !== 0 ? (r.out.match(/AssertionError: [^\n]*/)?.[0] ?? 'failed').slice(0, 200) : 'passes',
      ms: r.ms,
    };
  },
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'satp-mutants-'));
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  spawnSync('git', ['worktree', 'add', '--detach', dir, 'HEAD'], { cwd: ROOT, stdio: 'inherit' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const results = [];
  try {
    for (const m of MUTANTS.filter((x) => !ONLY || ONLY.includes(x.id))) {
      const path = join(dir, m.file);
      const original = readFileSync(path, 'utf8');
      let text = original;
      for (const [from, to] of m.edits) {
        const n = text.split(from).length - 1;
        if (n !== 1) throw new Error(`${m.id}: expected one occurrence in ${m.file}, found ${n}: ${from.slice(0, 80)}`);
        text = text.replace(from, to);
      }
      writeFileSync(path, text);
      const row = { id: m.id, name: m.name, suites: {} };
      for (const suite of m.suites ?? ['sim', 'sweep', 'scenarios']) {
        process.stdout.write(`${m.id} ${suite}… `);
        row.suites[suite] = await SUITES[suite](dir);
        console.log(
          `${row.suites[suite].caught ? 'CAUGHT' : 'not caught'} ` +
            `(${Math.round(row.suites[suite].ms / 1000)} s): ${row.suites[suite].detail}`,
        );
      }
      writeFileSync(path, original);
      results.push(row);
    }
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'inherit' });
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(ROOT, 'reports'), { recursive: true });
  writeFileSync(join(ROOT, 'reports', 'listed-mutants.json'), JSON.stringify({ head, seeds: SEEDS, results }, null, 2));
  console.log(
    `\n| mutant | ${Object.keys(SUITES).join(' | ')} |\n|---|${Object.keys(SUITES)
      .map(() => '---')
      .join('|')}|`,
  );
  for (const r of results)
    console.log(
      `| ${r.id} ${r.name} | ${Object.keys(SUITES)
        .map((s) => (r.suites[s] ? (r.suites[s].caught ? 'caught' : '**missed**') : '—'))
        .join(' | ')} |`,
    );
  const missed = results.filter((r) => !Object.values(r.suites).some((s) => s.caught));
  console.log(
    `\n${results.length - missed.length} of ${results.length} mutants caught at ${head} (${SEEDS} seeds)` +
      `${missed.length ? `; missed: ${missed.map((r) => r.id).join(', ')}` : ''}`,
  );
  process.exitCode = missed.length ? 1 : 0;
}

/** `--check`: every mutant's text is found exactly once in this tree (run after a reformat), nothing else. */
function check() {
  let bad = 0;
  for (const m of MUTANTS) {
    const text = readFileSync(join(ROOT, m.file), 'utf8');
    for (const [from] of m.edits) {
      const n = text.split(from).length - 1;
      if (n !== 1) {
        bad++;
        console.log(`${m.id} ${m.file}: found ${n} times: ${from.slice(0, 100)}`);
      }
    }
  }
  console.log(bad ? `${bad} mutant texts do not match this tree` : `all ${MUTANTS.length} mutants match this tree`);
  process.exitCode = bad ? 1 : 0;
}

if (process.argv.includes('--check')) check();
else await main();
