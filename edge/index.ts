// A SATP gateway in an edge worker (workerd, Cloudflare Workers) as a Durable Object: the object class, its bindings,
// and the clock that runs the driver's timers on the object's alarm. The log driver on the object's storage is its
// own subpath (storage/durable-object.ts); docs/edge.md says how to deploy it.
export { Activity } from './activity.ts';
export { AlarmClock, type AlarmStorage } from './alarm-clock.ts';
export { type EdgeGatewayConfig, type EdgePeer, edgeGatewayConfig, type GatewayObjectEnv } from './config.ts';
export {
  type DurableObjectStateLike,
  LOG_PREFIX,
  SatpGatewayObject,
  type SessionView,
  type Wake,
} from './gateway-object.ts';
