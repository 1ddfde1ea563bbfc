// The glue from a gateway's transports to its driver (kernel/driver.ts Gateway.receive), held until boot. Nothing
// inbound reaches the driver before boot() has replayed the unfinished sessions: a message handled mid-boot could
// be overwritten by boot's older replay of the same session. What arrives earlier waits, in arrival order.
import type { Gateway } from '../kernel/driver.ts';
import type { Json } from '../kernel/json.ts';
import type { Transport } from '../transports/types.ts';

export interface InboundGate {
  /** boot() has finished: what waited goes to the driver, then everything that arrives. */
  open(): void;
}

/**
 * Hands every message the `transports` receive to `gateway.receive`, once open() is called. `observe` sees
 * each message the moment it arrives, before it waits (the gateway process prints it).
 */
export function deliverInbound(
  gateway: Pick<Gateway, 'receive'>,
  transports: readonly Transport[],
  observe?: (from: string, message: Json) => void,
): InboundGate {
  let open!: () => void;
  const ready = new Promise<void>((r) => (open = r));
  const inbound = (from: string, message: Json) => {
    observe?.(from, message);
    void ready.then(() => gateway.receive(from, message));
  };
  for (const transport of transports) transport.onMessage(inbound);
  return { open };
}
