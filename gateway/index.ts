// Library code for wiring a gateway (kernel/driver.ts Gateway) to the world, the same in every runtime: the
// production clock, the links to peers with their reconnect loop, the inbound glue held until boot, and its
// Prometheus metrics with their GET /metrics handler. Key files (keys.ts) are their own subpath, since they need
// node:fs. cli/gateway-process.ts uses them all.
export { realClock } from './clock.ts';
export { deliverInbound, type InboundGate } from './deliver.ts';
export { holdLease, type HoldLeaseOptions, type Lease, type LeaseHolder, type LeaseStore } from './ha.ts';
export { type LinkEvents, type LinksOptions, PeerLinks } from './links.ts';
export {
  APPEND_BUCKETS,
  createGatewayMetrics,
  GATEWAY_METRICS,
  type Labels,
  type MetricDefinition,
  MetricsRegistry,
  type MetricType,
  PROMETHEUS_CONTENT_TYPE,
  SIGN_BUCKETS,
} from './metrics.ts';
export { type MetricsHandlerOptions, type MetricsSource, metricsHandler } from '../http/metrics.ts';
export { peek, shortType } from './peek.ts';
export {
  type GatewayLogger,
  type GatewayMetrics,
  type PeerGateway,
  type RunningGateway,
  SESSION_STATES,
  type StartGatewayOptions,
  startGateway,
} from './start.ts';
