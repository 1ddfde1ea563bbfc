// A SATP gateway as a Cloudflare Worker: every request goes to the one Durable Object of this gateway, which serves
// the peer WebSocket, the control routes and its alarm (edge/gateway-object.ts). Deploy with wrangler.toml beside this
// file; the bindings are listed in docs/edge.md. The tests run it in workerd under miniflare
// (test/integration/workerd-gateway.test.ts).
import { type GatewayObjectEnv, SatpGatewayObject } from '../../edge/index.ts';

/** The slice of a Durable Object namespace binding used here. */
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface Env extends GatewayObjectEnv {
  /** The namespace of SatpGatewayObject (wrangler.toml [[durable_objects.bindings]]). */
  GATEWAY: DurableObjectNamespaceLike;
}

export { SatpGatewayObject };

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    // One object per gateway: its id is the gateway's, so every request and every peer reaches the same object.
    return env.GATEWAY.get(env.GATEWAY.idFromName(env.GATEWAY_ID)).fetch(request);
  },
};
