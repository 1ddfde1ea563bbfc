// Reads Stryker's JSON report (reports/mutation/mutation.json, written by `npm run mutate`) and prints the mutation
// score per file and overall, the counts per status, and every mutant no test detected, as file:line, mutator,
// original and replacement. The same list goes to reports/mutation/survivors.md, one checkbox per mutant, to work
// through. `npm run mutate:report` prints it again; `-- <path>` reads another report.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPORT_FILE = 'reports/mutation/mutation.json';

const STATUSES = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError', 'Ignored', 'Pending'];

/** Stryker's scores: detected over all valid mutants, and over the mutants some test covers. */
function scores(c) {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  const covered = detected + c.Survived;
  return { score: valid ? (100 * detected) / valid : NaN, covered: covered ? (100 * detected) / covered : NaN };
}

const pct = (n) => (Number.isNaN(n) ? '   -  ' : `${n.toFixed(1).padStart(5)}%`);
const oneLine = (text, max = 70) => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** The source text a mutant replaces (lines and columns start at 1 in the report). */
function originalOf(source, { start, end }) {
  const lines = source.split('\n');
  if (start.line === end.line) return lines[start.line - 1]?.slice(start.column - 1, end.column - 1) ?? '';
  return [
    lines[start.line - 1]?.slice(start.column - 1),
    ...lines.slice(start.line, end.line - 1),
    lines[end.line - 1]?.slice(0, end.column - 1),
  ].join('\n');
}

export function report(file = REPORT_FILE) {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const empty = () => Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const total = empty();
  const rows = [];
  const undetected = [];
  for (const [name, f] of Object.entries(json.files).sort(([a], [b]) => a.localeCompare(b))) {
    const c = empty();
    for (const m of f.mutants) {
      c[m.status] = (c[m.status] ?? 0) + 1;
      total[m.status] = (total[m.status] ?? 0) + 1;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const where = `${name}:${m.location.start.line}:${m.location.start.column}`;
        // A survivor that ran no test was not measured: Stryker's vitest runner can report that as Survived.
        const note =
          m.status === 'NoCoverage'
            ? 'no test covers it'
            : m.testsCompleted === 0
              ? 'NO TEST RAN: not measured, run it again'
              : `${m.testsCompleted ?? '?'} tests passed`;
        undetected.push({
          where,
          line: m.location.start.line,
          file: name,
          mutator: m.mutatorName,
          original: originalOf(f.source, m.location),
          replacement: m.replacement ?? '',
          note,
        });
      }
    }
    rows.push([name, c]);
  }

  const head =
    `${'file'.padEnd(36)} ${'score'.padStart(6)} ${'covered'.padStart(7)} ${'killed'.padStart(6)} ` +
    `${'surv.'.padStart(5)} ${'t/o'.padStart(4)} ${'no cov'.padStart(6)} ${'compile'.padStart(7)} ` +
    `${'runtime'.padStart(7)} ${'ignored'.padStart(7)}`;
  const line = (name, c) => {
    const s = scores(c);
    return (
      `${name.padEnd(36)} ${pct(s.score)} ${pct(s.covered).padStart(7)} ${String(c.Killed).padStart(6)} ` +
      `${String(c.Survived).padStart(5)} ${String(c.Timeout).padStart(4)} ${String(c.NoCoverage).padStart(6)} ` +
      `${String(c.CompileError).padStart(7)} ${String(c.RuntimeError).padStart(7)} ${String(c.Ignored).padStart(7)}`
    );
  };
  console.log(`\nMutation report: ${file}`);
  console.log(
    'score = (killed + timeout) / (killed + timeout + survived + no coverage); ' +
      'covered = the same without no coverage\n',
  );
  console.log(head);
  for (const [name, c] of rows) console.log(line(name, c));
  console.log(line('all files', total));
  const { score, covered } = scores(total);
  console.log(
    `\nOverall: ${score.toFixed(1)} % of ${total.Killed + total.Timeout + total.Survived + total.NoCoverage} ` +
      `valid mutants detected (${covered.toFixed(1)} % of those a test covers).`,
  );
  console.log(
    `Killed ${total.Killed}, survived ${total.Survived}, timeout ${total.Timeout}, no coverage ${total.NoCoverage}, ` +
      `compile errors ${total.CompileError}, runtime errors ${total.RuntimeError}, ignored ${total.Ignored}.`,
  );
  const notRun = undetected.filter((u) => u.note.startsWith('NO TEST RAN')).length;
  if (notRun)
    console.log(
      `${notRun} of the survivors ran no test: not measured, not evidence of a gap (docs/mutation-testing.md).`,
    );

  const md = [
    '# Undetected mutants',
    '',
    `From ${file}. One box per mutant no test detected: ` +
      'tick it once a test kills it, or once it is shown equivalent (say why).',
    '',
  ];
  console.log(
    `\nUndetected mutants (${undetected.length}): file:line:column  mutator  original → replacement  (tests)`,
  );
  let current;
  for (const u of undetected.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)) {
    if (u.file !== current) {
      current = u.file;
      console.log(`\n${u.file}`);
      md.push('', `## ${u.file}`, '');
    }
    console.log(
      `  ${u.where}  ${u.mutator}  ${oneLine(u.original, 60)}  →  ${oneLine(u.replacement, 60)}  (${u.note})`,
    );
    md.push(
      `- [ ] \`${u.where}\` ${u.mutator}: \`${oneLine(u.original, 100).replaceAll('`', "'")}\` → ` +
        `\`${oneLine(u.replacement, 100).replaceAll('`', "'")}\` (${u.note})`,
    );
  }
  const mdFile = join(dirname(file), 'survivors.md');
  writeFileSync(mdFile, `${md.join('\n')}\n`);
  console.log(
    `\nThe same list, to work through: ${mdFile}. ` +
      `Every mutant, with its tests: ${join(dirname(file), 'mutation.html')}.`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) report(process.argv[2]);
