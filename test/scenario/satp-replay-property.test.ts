// State is a fold over the chain: for random runs, replay(prefix) equals the live state at every prefix.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type EntryBody, entryHashOf } from '../../kernel/entry.ts';
import type { LedgerOp } from '../../kernel/ledger.ts';
import {
  gatewayConfig,
  messageHash,
  reduce,
  replay,
  withCheckedProofs,
  type GatewayEvent,
  type SatpMessage,
  type SessionState,
  type TimerName,
} from '../../kernel/satp/index.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { DESTINATION, ORIGIN } from '../support/satp-pair.ts';
import { testGateway } from '../support/fixtures.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

type Who = 'O' | 'D';
interface World {
  now: number;
  state: Record<Who, SessionState | undefined>;
  chain: Record<Who, EntryBody[]>;
  inflight: { to: Who; from: Who; message: SatpMessage }[];
  ledgerOps: { who: Who; op: LedgerOp }[];
  queries: { who: Who; opId: string }[];
  attests: { who: Who; assetId: string; opIds: string[] }[];
  timers: Record<Who, Partial<Record<TimerName, number>>>;
  ledgers: Record<Who, MemoryLedger>;
}

const LEDGER_A = testGateway('ledger-a');
const LEDGER_B = testGateway('ledger-b');
const peers = {
  [ORIGIN.id]: { publicJwk: ORIGIN.jwk, networkId: 'ledger-a', ledgerKey: LEDGER_A.jwk },
  [DESTINATION.id]: { publicJwk: DESTINATION.jwk, networkId: 'ledger-b', ledgerKey: LEDGER_B.jwk },
};
const cfg = {
  O: gatewayConfig({ id: ORIGIN.id, publicJwk: ORIGIN.jwk, networkId: 'ledger-a', ledgerKey: LEDGER_A.jwk, peers }),
  D: gatewayConfig({
    id: DESTINATION.id,
    publicJwk: DESTINATION.jwk,
    networkId: 'ledger-b',
    ledgerKey: LEDGER_B.jwk,
    peers,
  }),
};
const idOf = { O: ORIGIN.id, D: DESTINATION.id };
const other = (w: Who): Who => (w === 'O' ? 'D' : 'O');
const verifier = defaultVerifier();

async function apply(world: World, who: Who, raw: GatewayEvent): Promise<void> {
  const event = await withCheckedProofs(raw, cfg[who], verifier, idOf[other(who)]);
  const { state, entries, effects } = reduce(world.state[who], event, cfg[who]);
  world.chain[who].push(...entries);
  for (const e of effects) {
    if (e.kind === 'send') world.inflight.push({ to: other(who), from: who, message: e.message });
    if (e.kind === 'ledger-execute') world.ledgerOps.push({ who, op: e.op });
    if (e.kind === 'ledger-query') world.queries.push({ who, opId: e.opId });
    if (e.kind === 'ledger-attest') world.attests.push({ who, assetId: e.assetId, opIds: e.opIds });
    if (e.kind === 'set-timer') world.timers[who][e.timer] = e.at;
    if (e.kind === 'clear-timer') delete world.timers[who][e.timer];
  }
  world.state[who] = state;
  // The property: the live state is exactly the fold of the chain written so far.
  const replayed = replay(world.chain[who].map((b) => ({ ...b, entryHash: entryHashOf(b), messageSignature: '' })));
  expect(replayed).toEqual(state);
}

/** One scheduling step; `choice` picks what happens, `faults` allows drops, duplicates and aborts. */
async function step(world: World, choice: number, faults: boolean): Promise<boolean> {
  const actions: (() => Promise<void> | void)[] = [];
  world.inflight.forEach((m, i) => {
    actions.push(() => {
      world.inflight.splice(i, 1);
      return apply(world, m.to, {
        kind: 'message',
        now: world.now,
        from: idOf[m.from],
        message: m.message,
        hash: messageHash(m.message),
        proofs: [],
      });
    });
    if (faults) {
      actions.push(() => void world.inflight.splice(i, 1)); // lost
      actions.push(() =>
        apply(world, m.to, {
          kind: 'message',
          now: world.now,
          from: idOf[m.from],
          message: m.message,
          hash: messageHash(m.message),
          proofs: [],
        }),
      ); // duplicated
    }
  });
  for (const [i, l] of world.ledgerOps.entries()) {
    actions.push(async () => {
      world.ledgerOps.splice(i, 1);
      await apply(world, l.who, {
        kind: 'ledger-result',
        now: world.now,
        opId: l.op.opId,
        receipt: await world.ledgers[l.who].execute(l.op),
        verified: false,
      });
    });
  }
  for (const [i, q] of world.queries.entries()) {
    actions.push(async () => {
      world.queries.splice(i, 1);
      await apply(world, q.who, {
        kind: 'ledger-status',
        now: world.now,
        opId: q.opId,
        receipt: await world.ledgers[q.who].status(q.opId),
        verified: false,
      });
    });
  }
  for (const [i, q] of world.attests.entries()) {
    actions.push(async () => {
      world.attests.splice(i, 1);
      const attestation = await world.ledgers[other(q.who)].attest(q.assetId, q.opIds);
      await apply(world, q.who, {
        kind: 'attestation',
        now: world.now,
        assetId: q.assetId,
        attestation,
        verified: false,
      });
    });
  }
  // Aborts are rare (one choice in 32), so most runs get far enough for deadlines and the burn.
  if (faults && (choice >> 5) % 32 === 0)
    for (const who of ['O', 'D'] as Who[])
      if (world.state[who]) actions.push(() => apply(world, who, { kind: 'abort', now: world.now, reason: 'random' }));
  // The clock jumps past a deadline (the lock expiry) at once.
  if (faults) {
    for (const who of ['O', 'D'] as Who[]) {
      const at = world.timers[who].deadline;
      if (at !== undefined) {
        actions.push(() => {
          delete world.timers[who].deadline;
          world.now = Math.max(world.now, at);
          return apply(world, who, { kind: 'timer', now: world.now, timer: 'deadline' });
        });
      }
    }
  }
  const due = (['O', 'D'] as Who[])
    .flatMap((who) =>
      Object.entries(world.timers[who]).map(([timer, at]) => ({ who, timer: timer as TimerName, at: at! })),
    )
    .sort((a, b) => a.at - b.at);
  if (due.length && (faults || actions.length === 0)) {
    actions.push(() => {
      const t = due[0]!;
      delete world.timers[t.who][t.timer];
      world.now = Math.max(world.now, t.at);
      return apply(world, t.who, { kind: 'timer', now: world.now, timer: t.timer });
    });
  }
  if (actions.length === 0) return false;
  await actions[choice % actions.length]!();
  return true;
}

describe('replay(chain) is the live state', () => {
  it('at every prefix of random runs with loss, duplication, ' +
    'reordering, timeouts and aborts; and every run ends consistently', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { maxLength: 160 }),
        fc.integer({ min: 5, max: 60 }),
        async (choices, lockSeconds) => {
          const world: World = {
            now: 1_700_000_000_000,
            state: { O: undefined, D: undefined },
            chain: { O: [], D: [] },
            inflight: [],
            ledgerOps: [],
            queries: [],
            attests: [],
            timers: { O: {}, D: {} },
            ledgers: {
              O: new MemoryLedger({
                id: 'ledger-a',
                signer: LEDGER_A.signer,
                now: () => world.now,
                assets: [{ assetId: 'asset-1', owner: 'alice' }],
              }),
              D: new MemoryLedger({ id: 'ledger-b', signer: LEDGER_B.signer, now: () => world.now }),
            },
          };
          await apply(world, 'O', {
            kind: 'start',
            now: world.now,
            request: {
              sessionId: 's-prop',
              contextId: 'ctx-prop',
              peer: DESTINATION.id,
              assetId: 'asset-1',
              assetProfileId: 'p',
              originator: 'alice',
              beneficiary: 'bob',
              lockSeconds,
            },
          });
          for (const c of choices) if (!(await step(world, c, true))) break;
          // Faults stop: deliver everything, fire timers, until nothing is left (bounded).
          for (let i = 0; i < 2_000 && (await step(world, 0, false)); i++);
          const [o, d] = [world.state.O!, world.state.D];
          expect(outcomeOf(o), 'the origin ended').toBeDefined();
          if (d) expect(outcomeOf(d), 'both agree').toBe(outcomeOf(o));
          const a = await world.ledgers.O.asset('asset-1');
          const b = await world.ledgers.D.asset('asset-1');
          if (outcomeOf(o) === 'committed') {
            expect(a?.state).toBe('burned');
            expect(b).toMatchObject({ state: 'active', owner: 'bob' });
          } else {
            expect(a).toMatchObject({ state: 'active', owner: 'alice' });
            expect(b === undefined || b.state === 'burned').toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);
});
