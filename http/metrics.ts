// GET /metrics: a gateway's metrics (gateway/metrics.ts) in the Prometheus text exposition format 0.0.4, as a plain
// fetch handler, `(req: Request) => Response`, so every runtime serves it the same way: Deno.serve, a Worker's
// fetch, http/node-serve.ts or @hono/node-server on Node, or a Hono route (`app.get('/metrics', (c) =>
// handler(c.req.raw))`). Refusals are RFC 9457 problems (http/problem.ts).
import { PROMETHEUS_CONTENT_TYPE } from '../gateway/metrics.ts';
import { problemResponse, STATUS_TITLES } from './problem.ts';

/** What the handler renders: a MetricsRegistry (gateway/metrics.ts), or anything with its render(). */
export interface MetricsSource {
  render(): string;
}

export interface MetricsHandlerOptions {
  /** The path it answers (default `/metrics`); any other path is 404. */
  path?: string;
}

const problem = (status: number, detail: string, headers: Record<string, string> = {}) =>
  problemResponse({ type: 'about:blank', title: STATUS_TITLES[status] ?? 'Error', status, detail }, headers);

/** GET (and HEAD) of `path` answers the metrics; another method is 405 with Allow, another path 404. */
export function metricsHandler(
  metrics: MetricsSource,
  options: MetricsHandlerOptions = {},
): (req: Request) => Response {
  const path = options.path ?? '/metrics';
  return (req) => {
    if (new URL(req.url).pathname !== path) return problem(404, `nothing is served here but ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return problem(405, `${path} answers GET and HEAD, not ${req.method}`, { allow: 'GET, HEAD' });
    const headers = { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' };
    return new Response(req.method === 'HEAD' ? null : metrics.render(), { status: 200, headers });
  };
}
