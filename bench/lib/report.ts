// The bench's results: one row per figure, each with the limit it is measured against, and the printed table.

export type Section = 'limits' | 'append' | 'transfers' | 'recovery' | 'memory' | 'ha' | 'notary' | 'evm';

export interface Row {
  section: Section;
  name: string;
  value: number;
  unit: string;
  /** The limit this figure is held against, in the same unit, and how it was obtained. */
  bound?: number;
  boundIs?: string;
  /** Fraction of the limit reached: value/bound for rates, bound/value for times and sizes. */
  ratio?: number;
  /** How the ratio reads: a percentage of the limit (default), or a plain multiple. */
  ratioAs?: '%' | '×';
  /** What the issue asks of the ratio; reported, never asserted. */
  target?: string;
  note?: string;
}

/** A measured run that did not do what it measured (a transfer that did not complete, a chain that does not verify). */
export class BenchFailure extends Error {
  override name = 'BenchFailure';
}

export function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new BenchFailure(what);
}

export class Results {
  readonly rows: Row[] = [];
  add(row: Row): Row {
    this.rows.push(row);
    return row;
  }
  /** A rate held against a limit rate. */
  rate(
    section: Section,
    name: string,
    value: number,
    bound: number | undefined,
    boundIs: string,
    extra: Partial<Row> = {},
  ): Row {
    return this.add({
      section,
      name,
      value,
      unit: '/s',
      ...(bound !== undefined ? { bound, boundIs, ratio: value / bound } : {}),
      ...extra,
    });
  }
  /** A time held against the shortest it could take. */
  time(
    section: Section,
    name: string,
    ms: number,
    boundMs: number | undefined,
    boundIs: string,
    extra: Partial<Row> = {},
  ): Row {
    return this.add({
      section,
      name,
      value: ms,
      unit: 'ms',
      ...(boundMs !== undefined ? { bound: boundMs, boundIs, ratio: boundMs / ms } : {}),
      ...extra,
    });
  }
}

export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  const n = v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit === '/s' ? `${n}/s` : unit === '×' ? `${n}×` : `${n} ${unit}`;
}

const pct = (r: number): string => `${(r * 100).toFixed(r < 0.1 ? 1 : 0)} %`;

/** The compact table: one line per figure, grouped by section, as Markdown so BENCHMARKS.md can hold it as is. */
export function table(rows: readonly Row[]): string {
  const lines = ['| part | figure | measured | limit | of limit | target |', '|---|---|---:|---:|---:|---|'];
  for (const r of rows) {
    const limit =
      r.bound !== undefined
        ? `${formatValue(r.bound, r.unit)}${r.boundIs ? ` (${r.boundIs})` : ''}`
        : (r.boundIs ?? '');
    const ratio =
      r.ratio !== undefined ? (r.unit === '×' || r.ratioAs === '×' ? formatValue(r.ratio, '×') : pct(r.ratio)) : '';
    lines.push(
      `| ${r.section} | ${r.name}${r.note ? ` (${r.note})` : ''} | ${formatValue(r.value, r.unit)} | ` +
        `${limit} | ${ratio} | ${r.target ?? ''} |`,
    );
  }
  return lines.join('\n');
}
