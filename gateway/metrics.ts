// Prometheus metrics for a gateway, the same in every runtime: a small registry that implements the GatewayMetrics
// port of gateway/start.ts (counters, histograms, gauges read when collected) and renders the Prometheus text
// exposition format 0.0.4. No Node API, so it runs in Node, Deno, browsers and workerd alike; prom-client, the
// usual choice on Node, is CommonJS that loads node:cluster and the other Node modules (docs/embedding.md says
// more). http/metrics.ts serves `render()` as GET /metrics; docs/embedding.md lists the metrics.
import type { GatewayMetrics } from './start.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

export interface MetricDefinition {
  type: MetricType;
  /** The `# HELP` line. */
  help: string;
  /** The label names its series carry: none means one unlabeled series, shown at zero before anything counts. */
  labels?: readonly string[];
  /** Histograms: the upper bounds of the buckets, increasing; `+Inf` is added. */
  buckets?: readonly number[];
}

/** The Content-Type of the text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A durable append: an fsync on LevelDB, a round trip to PostgreSQL or the Log Storage API (0.5 ms to 5 s). */
export const APPEND_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** One ES256 signature: about 0.1 ms with WebCrypto, more with a remote key (0.1 ms to 0.25 s). */
export const SIGN_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25];

/** Every metric gateway/start.ts reports, as docs/embedding.md lists them. */
export const GATEWAY_METRICS: Readonly<Record<string, MetricDefinition>> = {
  satp_messages_sent_total: {
    type: 'counter',
    help: 'SATP messages handed to a transport, by peer and message type.',
    labels: ['peer', 'type'],
  },
  satp_send_failures_total: {
    type: 'counter',
    help: 'SATP messages no transport could send (the driver resends), by peer and message type.',
    labels: ['peer', 'type'],
  },
  satp_messages_received_total: {
    type: 'counter',
    help: 'SATP messages received from a peer, by peer and message type.',
    labels: ['peer', 'type'],
  },
  satp_sessions_ended_total: {
    type: 'counter',
    help: 'Sessions ended, by outcome (committed, rolled-back, rejected): rolled-back counts the rollbacks.',
    labels: ['outcome'],
  },
  satp_reports_total: {
    type: 'counter',
    help: 'Reports of the driver other than a session ending, by kind (refused, ignored, needs-operator).',
    labels: ['kind'],
  },
  satp_sessions_recovered_total: {
    type: 'counter',
    help: 'Unfinished sessions a boot (or a takeover) found in the log and resumed (recovery-04 5.1).',
  },
  satp_disputes_total: {
    type: 'counter',
    help: 'Sessions frozen by a RECOVER-DISPUTE (sent or received) and left for an operator.',
  },
  satp_peer_up_total: { type: 'counter', help: 'A link to a peer came up, by peer.', labels: ['peer'] },
  satp_peer_down_total: { type: 'counter', help: 'A link to a peer went down, by peer.', labels: ['peer'] },
  satp_dial_failures_total: { type: 'counter', help: 'Failed dials of a peer, by peer.', labels: ['peer'] },
  satp_sessions: {
    type: 'gauge',
    help: 'Sessions the gateway holds in memory, by state (running, rolling-back, disputed, ended, quarantined).',
    labels: ['state'],
  },
  satp_append_duration_seconds: {
    type: 'histogram',
    help: "Durable appends of the gateway's own entries to its log store, in seconds.",
    buckets: APPEND_BUCKETS,
  },
  satp_sign_duration_seconds: {
    type: 'histogram',
    help: "Signatures with the gateway's key (entries and messages), in seconds.",
    buckets: SIGN_BUCKETS,
  },
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value in the text format: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** A HELP text in the text format: backslash and line feed escaped. */
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample value as the format writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

type Histogram = { counts: number[]; sum: number; count: number };
type Reader = () => Iterable<readonly [Labels, number]>;
interface Family {
  def: MetricDefinition;
  /** Series by their rendered label set (`a="x",b="y"`, names sorted). */
  series: Map<string, number | Histogram>;
  readers: Set<Reader>;
}

/**
 * The registry. `count` and `observe` are the GatewayMetrics port (pass the registry as `metrics` to
 * startGateway); `set` and `collect` feed gauges; `render` writes the text format. A name it has no definition
 * for is defined at its first use, as a counter by `count` and so on, with a HELP line saying so.
 */
export class MetricsRegistry implements GatewayMetrics {
  readonly #families = new Map<string, Family>();

  constructor(definitions: Readonly<Record<string, MetricDefinition>> = GATEWAY_METRICS) {
    for (const [name, def] of Object.entries(definitions)) this.define(name, def);
  }

  /** Adds a metric; redefining one with another type is an error. */
  define(name: string, def: MetricDefinition): void {
    if (!METRIC_NAME.test(name)) throw new TypeError(`not a Prometheus metric name: ${JSON.stringify(name)}`);
    for (const l of def.labels ?? [])
      if (!LABEL_NAME.test(l) || l.startsWith('__') || (def.type === 'histogram' && l === 'le'))
        throw new TypeError(`${name}: not a label name it may carry: ${JSON.stringify(l)}`);
    const b = def.buckets ?? [];
    if (def.type === 'histogram' && (!b.length || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!))))
      throw new TypeError(`${name}: buckets must be finite and increasing`);
    const known = this.#families.get(name);
    if (known && known.def.type !== def.type) throw new TypeError(`${name} is a ${known.def.type}, not a ${def.type}`);
    this.#families.set(name, known ? { ...known, def } : { def, series: new Map(), readers: new Set() });
  }

  /** Adds `by` (default 1; 0 makes the series appear) to a counter. */
  count(name: string, labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${name}: a counter only goes up (by ${by})`);
    const f = this.#family(name, 'counter');
    const key = labelKey(name, labels);
    f.series.set(key, ((f.series.get(key) as number | undefined) ?? 0) + by);
  }

  /** Records one measurement in a histogram. */
  observe(name: string, labels: Labels, value: number): void {
    const f = this.#family(name, 'histogram');
    if (Object.hasOwn(labels, 'le')) throw new TypeError(`${name}: a histogram's series carry no label le`);
    const key = labelKey(name, labels);
    let h = f.series.get(key) as Histogram | undefined;
    if (!h) f.series.set(key, (h = emptyHistogram(f.def)));
    const buckets = f.def.buckets!;
    for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  /** Sets a gauge's series. */
  set(name: string, labels: Labels, value: number): void {
    this.#family(name, 'gauge').series.set(labelKey(name, labels), value);
  }

  /**
   * A gauge read when the metrics are rendered (sessions by state, say). Several readers of one gauge add up,
   * series by series. Returns what stops reading it.
   */
  collect(name: string, read: Reader): () => void {
    const f = this.#family(name, 'gauge');
    f.readers.add(read);
    return () => f.readers.delete(read);
  }

  /** Every metric in the text exposition format 0.0.4, families in definition order, series by their labels. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      const series = new Map(f.series);
      for (const read of f.readers)
        for (const [labels, v] of read()) {
          const key = labelKey(name, labels);
          series.set(key, ((series.get(key) as number | undefined) ?? 0) + v);
        }
      // A metric without labels has its one series from the start, at zero; one with labels, once it is used.
      if (!series.size && !f.def.labels?.length) series.set('', f.def.type === 'histogram' ? emptyHistogram(f.def) : 0);
      out.push(`# HELP ${name} ${escapeHelp(f.def.help)}`, `# TYPE ${name} ${f.def.type}`);
      for (const [key, v] of [...series].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (typeof v === 'number') {
          out.push(`${name}${key ? `{${key}}` : ''} ${formatValue(v)}`);
          continue;
        }
        const sep = key ? `${key},` : '';
        for (const [i, le] of f.def.buckets!.entries())
          out.push(`${name}_bucket{${sep}le="${formatValue(le)}"} ${v.counts[i]}`);
        out.push(`${name}_bucket{${sep}le="+Inf"} ${v.count}`);
        out.push(`${name}_sum${key ? `{${key}}` : ''} ${formatValue(v.sum)}`);
        out.push(`${name}_count${key ? `{${key}}` : ''} ${v.count}`);
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  #family(name: string, type: MetricType): Family {
    let f = this.#families.get(name);
    if (!f) {
      this.define(name, {
        type,
        help: `${name} (no definition in gateway/metrics.ts)`,
        ...(type === 'histogram' ? { buckets: APPEND_BUCKETS } : {}),
      });
      f = this.#families.get(name)!;
    }
    if (f.def.type !== type) throw new TypeError(`${name} is a ${f.def.type}, not a ${type}`);
    return f;
  }
}

function emptyHistogram(def: MetricDefinition): Histogram {
  return { counts: (def.buckets ?? []).map(() => 0), sum: 0, count: 0 };
}

/** The label set as the format writes it between braces, names sorted; '' for none. */
function labelKey(metric: string, labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => {
      if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new TypeError(`${metric}: not a label name: ${k}`);
      return `${k}="${escapeLabelValue(String(labels[k]))}"`;
    })
    .join(',');
}

/**
 * The same metrics with `extra` labels on every series: one registry for several gateways (a process acting for
 * its own gateway and others it took over, docs/high-availability.md), each under its own `gateway` label.
 */
export function withLabels(metrics: GatewayMetrics, extra: Labels): GatewayMetrics {
  const collect = metrics.collect?.bind(metrics);
  const observe = metrics.observe?.bind(metrics);
  return {
    count: (name, labels, by) => metrics.count(name, { ...labels, ...extra }, by),
    ...(observe && { observe: (name, labels, value) => observe(name, { ...labels, ...extra }, value) }),
    ...(collect && {
      collect: (name, read) =>
        collect(name, function* () {
          for (const [labels, v] of read()) yield [{ ...labels, ...extra }, v] as const;
        }),
    }),
  };
}

/** A registry with every gateway metric defined: pass it as `metrics` to startGateway, serve it (http/metrics.ts). */
export function createGatewayMetrics(): MetricsRegistry {
  return new MetricsRegistry(GATEWAY_METRICS);
}
