// What the reducer-rule tests (test/unit/*-rules.test.ts) share: one event handed to the pure reduce() and what it
// decided, and session states taken from real runs between two gateways (test/support/satp-pair.ts).
import { expect } from 'vitest';
import type { Effect, GatewayConfig, GatewayEvent, SatpMessage, SessionState } from '../../kernel/satp/index.ts';
import { RMSG, reduce } from '../../kernel/satp/index.ts';
import { crashSide, makePair, outcomes, type Pair, settle, typeOf, until } from './satp-pair.ts';

/** The time every decided event happens at. */
export const NOW = 1_000_000;

/** reduce() of one event, with its sends, timers and reports picked out. */
export function decideOn(s: SessionState | undefined, event: GatewayEvent, cfg: GatewayConfig) {
  const r = reduce(s, event, cfg);
  const reports = r.effects.filter((e) => e.kind === 'report').map((e) => e.report);
  const sends = r.effects.filter((e): e is Extract<Effect, { kind: 'send' }> => e.kind === 'send');
  const timers = r.effects.filter((e): e is Extract<Effect, { kind: 'set-timer' }> => e.kind === 'set-timer');
  return { ...r, reports, sends, timers };
}

/** A peer's message as the driver hands it to the reducer: `proofs` are the ids of its verified receipts. */
export const message = (
  m: SatpMessage,
  from: string,
  proofs: readonly string[] = [],
  hash = 'f'.repeat(64),
): GatewayEvent => ({
  kind: 'message',
  now: NOW,
  from,
  message: m,
  hash,
  proofs,
});

/** A finished transfer, committed on both sides. */
export async function committed(): Promise<{ pair: Pair; o: SessionState; d: SessionState }> {
  const pair = await makePair();
  await pair.origin.gw.startTransfer(pair.request('s-done'));
  expect(await outcomes(pair, 's-done')).toEqual(['committed', 'committed']);
  return { pair, o: pair.origin.gw.session('s-done')!, d: pair.destination.gw.session('s-done')! };
}

/** The destination held right after its commit-ready (promised), which never arrives. */
export async function destinationPromised(): Promise<{ pair: Pair; d: SessionState }> {
  const pair = await makePair();
  pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
  await pair.origin.gw.startTransfer(pair.request('s-prom'));
  await until(pair, () => pair.destination.gw.session('s-prom')?.promised === true, 20, 'promised');
  return { pair, d: pair.destination.gw.session('s-prom')! };
}

/**
 * The origin restarted while waiting for commit-ready, and its recovery held at a chosen message: `hold` is the
 * type of the recovery message that never arrives. `d` is the destination's session as it then stands.
 */
export async function originRecovering(hold: string): Promise<{ pair: Pair; o: SessionState; d: SessionState }> {
  const pair = await makePair();
  pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg' || typeOf(env) === hold;
  await pair.origin.gw.startTransfer(pair.request('s-rec'));
  await until(pair, () => !!pair.destination.gw.session('s-rec')?.promised, 20, 'promised');
  const down = crashSide(pair, 'origin');
  await down.restart();
  const o = () => pair.origin.gw.session('s-rec');
  await until(pair, () => o()?.recovery?.status === 'recovering' && !!o()?.recovery?.last, 20, 'recovering');
  if (hold === 'recover-success-msg')
    await until(pair, () => o()?.recovery?.last?.messageType === RMSG.recoverUpdateAck, 20, 'ACK sent');
  // The last recovery message is on the wire and answered (or dropped) before the states are taken.
  await settle();
  return { pair, o: o()!, d: pair.destination.gw.session('s-rec')! };
}
