// Prometheus metrics (gateway/metrics.ts, http/metrics.ts): the exact text exposition format 0.0.4 (HELP and TYPE
// lines, label escaping, histogram buckets), what a pair of gateways built by startGateway reports after a
// committed transfer and after a recovery, and the GET /metrics handler. Portable: it runs in every runtime.
import { rewriteHistory } from '../support/rewrite-history.ts';
import { describe, expect, it } from 'vitest';
import { embeddedWorld, transferOf } from '../support/embedded-pair.ts';
import type { RunningGateway } from '../../gateway/start.ts';
import {
  createGatewayMetrics,
  GATEWAY_METRICS,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  withLabels,
} from '../../gateway/metrics.ts';
import { metricsHandler } from '../../http/metrics.ts';
import { isProblem } from '../../http/problem.ts';
import { DESTINATION, ORIGIN, typeOf } from '../support/satp-pair.ts';

/** The samples of a rendering, by series (`name{labels}`), as numbers. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('the text exposition format 0.0.4', () => {
  it('writes HELP, TYPE and samples exactly, escaping label values and HELP text', () => {
    const r = new MetricsRegistry({
      demo_events_total: { type: 'counter', help: 'Events, by path.\nA second line, a \\ too.', labels: ['path'] },
      demo_idle_total: { type: 'counter', help: 'Never counted: shown at zero.' },
      demo_tagged_total: { type: 'counter', help: 'Labelled, never counted: no sample.', labels: ['x'] },
      demo_depth: { type: 'gauge', help: 'Depth.', labels: ['queue'] },
    });
    r.count('demo_events_total', { path: 'C:\\tmp\\"a"\nb' }, 2);
    r.count('demo_events_total', { path: 'C:\\tmp\\"a"\nb' });
    r.count('demo_events_total', { path: 'plain' }, 0.5);
    r.set('demo_depth', { queue: 'b' }, -1.5);
    const stop = r.collect('demo_depth', () => [[{ queue: 'a' }, 4]]);
    r.collect('demo_depth', () => [[{ queue: 'a' }, 3]]);
    expect(r.render()).toBe(
      [
        '# HELP demo_events_total Events, by path.\\nA second line, a \\\\ too.',
        '# TYPE demo_events_total counter',
        'demo_events_total{path="C:\\\\tmp\\\\\\"a\\"\\nb"} 3',
        'demo_events_total{path="plain"} 0.5',
        '# HELP demo_idle_total Never counted: shown at zero.',
        '# TYPE demo_idle_total counter',
        'demo_idle_total 0',
        '# HELP demo_tagged_total Labelled, never counted: no sample.',
        '# TYPE demo_tagged_total counter',
        '# HELP demo_depth Depth.',
        '# TYPE demo_depth gauge',
        'demo_depth{queue="a"} 7',
        'demo_depth{queue="b"} -1.5',
        '',
      ].join('\n'),
    );
    stop();
    expect(r.render()).toContain('demo_depth{queue="a"} 3\n');
  });

  it('writes a histogram as cumulative buckets with le, +Inf, _sum and _count, labels first', () => {
    const r = new MetricsRegistry({
      demo_seconds: { type: 'histogram', help: 'Durations.', labels: ['op'], buckets: [0.005, 0.1, 1] },
      demo_plain_seconds: { type: 'histogram', help: 'Never observed.', buckets: [1, 2.5] },
    });
    for (const v of [0.001, 0.005, 0.05, 2]) r.observe('demo_seconds', { op: 'write' }, v);
    r.observe('demo_seconds', { op: 'read' }, 0.25);
    expect(r.render()).toBe(
      [
        '# HELP demo_seconds Durations.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{op="read",le="0.005"} 0',
        'demo_seconds_bucket{op="read",le="0.1"} 0',
        'demo_seconds_bucket{op="read",le="1"} 1',
        'demo_seconds_bucket{op="read",le="+Inf"} 1',
        'demo_seconds_sum{op="read"} 0.25',
        'demo_seconds_count{op="read"} 1',
        'demo_seconds_bucket{op="write",le="0.005"} 2',
        'demo_seconds_bucket{op="write",le="0.1"} 3',
        'demo_seconds_bucket{op="write",le="1"} 3',
        'demo_seconds_bucket{op="write",le="+Inf"} 4',
        'demo_seconds_sum{op="write"} 2.056',
        'demo_seconds_count{op="write"} 4',
        '# HELP demo_plain_seconds Never observed.',
        '# TYPE demo_plain_seconds histogram',
        'demo_plain_seconds_bucket{le="1"} 0',
        'demo_plain_seconds_bucket{le="2.5"} 0',
        'demo_plain_seconds_bucket{le="+Inf"} 0',
        'demo_plain_seconds_sum 0',
        'demo_plain_seconds_count 0',
        '',
      ].join('\n'),
    );
  });

  it('refuses what the format cannot carry, and a counter going down', () => {
    const r = createGatewayMetrics();
    expect(() => r.count('satp_sessions', {})).toThrow(/is a gauge, not a counter/);
    expect(() => r.count('satp_messages_sent_total', { 'bad-name': 'x' })).toThrow(/not a label name/);
    expect(() => r.count('satp_messages_sent_total', { peer: 'p' }, -1)).toThrow(/only goes up/);
    expect(() => r.observe('satp_sign_duration_seconds', { le: '1' }, 1)).toThrow(/no label le/);
    expect(() => r.define('0bad', { type: 'counter', help: 'x' })).toThrow(/metric name/);
    expect(() => r.define('demo', { type: 'histogram', help: 'x', buckets: [1, 1] })).toThrow(/increasing/);
    // A name with no definition is defined at its first use.
    r.count('satp_something_new_total', { peer: 'p' });
    expect(r.render()).toContain('# TYPE satp_something_new_total counter\nsatp_something_new_total{peer="p"} 1\n');
  });

  it('withLabels: several gateways on one registry, each series under its own gateway label', () => {
    const r = createGatewayMetrics();
    const [a1, a2] = [withLabels(r, { gateway: 'gw-a1' }), withLabels(r, { gateway: 'gw-a2' })];
    a1.count('satp_sessions_ended_total', { outcome: 'committed' });
    a2.count('satp_sessions_ended_total', { outcome: 'committed' }, 2);
    a2.observe?.('satp_sign_duration_seconds', {}, 0.0002);
    const stop = a1.collect?.('satp_sessions', () => [[{ state: 'running' }, 3] as const]);
    const text = r.render();
    expect(text).toContain('satp_sessions_ended_total{gateway="gw-a1",outcome="committed"} 1\n');
    expect(text).toContain('satp_sessions_ended_total{gateway="gw-a2",outcome="committed"} 2\n');
    expect(text).toContain('satp_sign_duration_seconds_count{gateway="gw-a2"} 1\n');
    expect(text).toContain('satp_sessions{gateway="gw-a1",state="running"} 3\n');
    stop?.();
    expect(r.render()).not.toContain('state="running"');
  });
});

const request = transferOf('s-metrics');

/** The embedded pair (test/support/embedded-pair.ts); each start gets its own registry. */
function world() {
  const w = embeddedWorld();
  const { clock } = w;
  /** Which messages the network loses (a send that vanishes), by type. */
  let drop: (type: string) => boolean = () => false;
  const start = async (me: typeof ORIGIN) => {
    const metrics = createGatewayMetrics();
    const running = await w.start(me, {
      metrics,
      wrapOutbox: (out) => ({ send: async (to, env) => (drop(typeOf(env)) ? undefined : out.send(to, env)) }),
    });
    return { running, metrics };
  };
  const until = async (done: () => boolean, what: string) => {
    for (let step = 0; step < 300 && !done(); step++) await clock.advance(100);
    if (!done()) throw new Error(`never happened: ${what}`);
  };
  const ended = async (g: RunningGateway, sessionId: string) => {
    for (let step = 0; step < 200 && g.gateway.session(sessionId)?.status.kind !== 'ended'; step++)
      await clock.advance(100);
    return g.whenEnded(sessionId);
  };
  return {
    net: w.net,
    ledgerB: w.ledgerB,
    stores: w.stores,
    start,
    until,
    ended,
    clock,
    crash: w.crash,
    setDrop: (d: (type: string) => boolean) => {
      drop = d;
    },
  };
}

describe('the metrics of a gateway pair built by startGateway', () => {
  it('after a committed transfer: sessions by state, ends, messages, and the append and sign histograms', async () => {
    const w = world();
    const origin = await w.start(ORIGIN);
    const destination = await w.start(DESTINATION);
    const before = samples(origin.metrics.render());
    expect(before.get('satp_sessions{state="running"}')).toBe(0);
    expect(before.get('satp_sessions_recovered_total')).toBe(0);
    expect(before.get('satp_append_duration_seconds_count')).toBe(0);
    expect(await origin.running.transfer(request(0))).toEqual({ accepted: true });
    expect(samples(origin.metrics.render()).get('satp_sessions{state="running"}')).toBe(1);
    expect(await w.ended(origin.running, 's-metrics-0')).toBe('committed');
    expect(await w.ended(destination.running, 's-metrics-0')).toBe('committed');
    expect(await w.ledgerB.asset('asset-0')).toMatchObject({ state: 'active', owner: 'bob' });

    for (const [me, peer, side] of [
      [ORIGIN, DESTINATION, origin],
      [DESTINATION, ORIGIN, destination],
    ] as const) {
      const text = side.metrics.render();
      const s = samples(text);
      expect(s.get('satp_sessions{state="ended"}'), me.id).toBe(1);
      for (const state of ['running', 'rolling-back', 'disputed', 'quarantined'])
        expect(s.get(`satp_sessions{state="${state}"}`), `${me.id} ${state}`).toBe(0);
      expect(s.get('satp_sessions_ended_total{outcome="committed"}'), me.id).toBe(1);
      expect(s.has('satp_sessions_ended_total{outcome="rolled-back"}'), me.id).toBe(false);
      expect(s.get('satp_sessions_recovered_total'), me.id).toBe(0);
      expect(s.get('satp_disputes_total'), me.id).toBe(0);
      const sent = [...s]
        .filter(([k]) => k.startsWith(`satp_messages_sent_total{peer="${peer.id}",`))
        .map(([, v]) => v);
      expect(
        sent.reduce((a, b) => a + b, 0),
        me.id,
      ).toBeGreaterThanOrEqual(4);
      // Every append of its own entries is timed, and every entry was signed: at least one signature each.
      const entries = [...w.stores[me.id]!.logs].find(([logId]) => logId.endsWith(me.id))![1].length;
      const appends = s.get('satp_append_duration_seconds_count')!;
      expect(appends, me.id).toBeGreaterThanOrEqual(1);
      expect(appends, me.id).toBeLessThanOrEqual(entries);
      expect(s.get('satp_append_duration_seconds_bucket{le="+Inf"}'), me.id).toBe(appends);
      expect(s.get('satp_sign_duration_seconds_count'), me.id).toBeGreaterThanOrEqual(entries);
      expect(s.get('satp_sign_duration_seconds_sum'), me.id).toBeGreaterThanOrEqual(0);
      expect(text).toContain('# TYPE satp_append_duration_seconds histogram\n');
    }
    expect(
      samples(origin.metrics.render()).get(
        'satp_messages_sent_total{peer="gw-destination",type="transfer-proposal-msg"}',
      ),
    ).toBe(1);

    // Closed, the gateway is no longer read: the gauge has no series left.
    await Promise.all([origin.running.close(), destination.running.close()]);
    expect(origin.metrics.render()).not.toMatch(/^satp_sessions\{/m);
  }, 60_000);

  it('after a crash: the restarted gateway counts the session it recovered', async () => {
    const w = world();
    const destination = await w.start(DESTINATION);
    const first = await w.start(ORIGIN);
    w.net.setReachable(DESTINATION.id, false);
    expect(await first.running.transfer(request(1))).toEqual({ accepted: true });
    await w.crash(ORIGIN);
    w.net.setReachable(DESTINATION.id, true);
    const origin = await w.start(ORIGIN);
    expect(origin.running.recovered).toBe(1);
    const s = samples(origin.metrics.render());
    expect(s.get('satp_sessions_recovered_total')).toBe(1);
    expect(s.get('satp_sessions{state="running"}')).toBe(1);
    expect(await w.ended(origin.running, 's-metrics-1')).toBe('committed');
    expect(samples(origin.metrics.render()).get('satp_sessions_ended_total{outcome="committed"}')).toBe(1);
    await Promise.all([origin.running.close(), destination.running.close()]);
  }, 60_000);
  it('after a dispute (recovery-04 §5.3.3): counted once on each side, not again after a restart', async () => {
    const w = world();
    const sid = 's-metrics-1';
    const session = (g: { running: RunningGateway }) => g.running.gateway.session(sid);
    w.setDrop((type) => type === 'commit-ready-msg'); // hold the transfer open
    const destination = await w.start(DESTINATION);
    const first = await w.start(ORIGIN);
    expect(await first.running.transfer(request(1))).toEqual({ accepted: true });
    await w.until(() => session(destination)?.promised === true, 'commit-ready sent');
    // A crash and a first recovery: the origin now holds a copy of the destination's chain.
    await w.crash(ORIGIN);
    const second = await w.start(ORIGIN);
    await w.until(() => (session(second)?.peerCopy.seq ?? 0) > 0, 'the first recovery');
    w.setDrop(() => true); // the network goes quiet
    const view = session(second)!.peerCopy;
    // The destination's chain rewritten from there on: valid, but not the one the origin holds a copy of.
    await rewriteHistory(w.stores[DESTINATION.id], `${sid}/${DESTINATION.id}`, view.seq, DESTINATION.signer);
    await w.crash(DESTINATION);
    const rewritten = await w.start(DESTINATION);
    await w.crash(ORIGIN);
    w.setDrop(() => false);
    const third = await w.start(ORIGIN);
    await w.until(
      () => session(third)?.status.kind === 'disputed' && session(rewritten)?.status.kind === 'disputed',
      'both disputed',
    );
    for (const side of [third, rewritten]) {
      const s = samples(side.metrics.render());
      expect(s.get('satp_disputes_total')).toBe(1);
      expect(s.get('satp_sessions{state="disputed"}')).toBe(1);
      expect(s.get('satp_sessions{state="running"}')).toBe(0);
    }
    // The same frozen session after a restart: in the gauge, and not a new dispute, however often it reports.
    await w.crash(ORIGIN);
    const fourth = await w.start(ORIGIN);
    await w.until(() => session(fourth)?.status.kind === 'disputed', 'reloaded disputed');
    for (let i = 0; i < 20; i++) await w.clock.advance(1_000);
    const s = samples(fourth.metrics.render());
    expect(s.get('satp_reports_total{kind="needs-operator"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('satp_disputes_total')).toBe(0);
    expect(s.get('satp_sessions{state="disputed"}')).toBe(1);
    await Promise.all([fourth.running.close(), rewritten.running.close()]);
  }, 60_000);
});

describe('GET /metrics (http/metrics.ts)', () => {
  const metrics = createGatewayMetrics();
  metrics.count('satp_messages_sent_total', { peer: 'gw-b', type: 'transfer-proposal-msg' });
  const handler = metricsHandler(metrics);

  it('answers GET with the text format and its content-type, HEAD with no body', async () => {
    const res = handler(new Request('http://127.0.0.1:9464/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(PROMETHEUS_CONTENT_TYPE).toBe(res.headers.get('content-type'));
    const body = await res.text();
    expect(body).toBe(metrics.render());
    expect(body).toContain('satp_messages_sent_total{peer="gw-b",type="transfer-proposal-msg"} 1\n');
    for (const name of Object.keys(GATEWAY_METRICS)) expect(body).toContain(`# TYPE ${name} `);
    const head = handler(new Request('http://127.0.0.1:9464/metrics', { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses another method with 405 and another path with 404, as problem+json', async () => {
    const res = handler(new Request('http://127.0.0.1:9464/metrics', { method: 'POST', body: 'x' }));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(isProblem(problem)).toBe(true);
    expect(problem).toMatchObject({ type: 'about:blank', title: 'Method Not Allowed', status: 405 });
    const other = handler(new Request('http://127.0.0.1:9464/other'));
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect(await other.json()).toMatchObject({ status: 404, title: 'Not Found' });
  });
});
