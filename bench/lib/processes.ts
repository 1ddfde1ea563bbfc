// Driving gateway processes (`satp-gateway`, examples/gateway-child.ts) from the bench: one transfer at a time per
// lane, through the stdin command and the outcome event.
import type { GatewayChild } from '../../examples/gateway-child.ts';
import type { TransferSpec } from '../../test/support/gateway-invariants.ts';
import { check } from './report.ts';

/** One transfer through a gateway process: the command, then its outcome at the origin. */
export async function transferThrough(child: GatewayChild, spec: TransferSpec): Promise<void> {
  const from = child.events.length;
  const r = await child.request(
    {
      cmd: 'transfer',
      sessionId: spec.sessionId,
      assetId: spec.assetId,
      originator: spec.originator,
      beneficiary: spec.beneficiary,
      peer: spec.destination,
      lockSeconds: 60,
    },
    30_000,
  );
  check(r.started === true, `${spec.sessionId} did not start: ${JSON.stringify(r)}`);
  const ended = await child.waitFor(
    (e) => e.event === 'outcome' && e.session === spec.sessionId,
    60_000,
    `${spec.sessionId} ends`,
    from,
  );
  check(ended.outcome === 'committed', `${spec.sessionId} ended ${String(ended.outcome)}`);
}
