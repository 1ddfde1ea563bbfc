// Two gateways, two in-memory ledgers and an in-process wire, on a manual clock: the scenario harness.
import { expect } from 'vitest';
import { defaultVerifier, keyTable } from '../../kernel/index.ts';
import { type Clock, Gateway, type ReceiveResult } from '../../kernel/driver.ts';
import type { SessionLogStore } from '../../kernel/ports.ts';
import type { Ledger } from '../../kernel/ledger.ts';
import { type Envelope, sealMessage } from '../../kernel/satp/envelope.ts';
import { fromBase64Url, fromUtf8 } from '../../kernel/encoding.ts';
import {
  gatewayConfig,
  type GatewayConfig,
  type Outcome,
  type Report,
  type SatpMessage,
  type TransferRequest,
} from '../../kernel/satp/index.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import {
  type ChainView,
  checkRun,
  type LedgerView,
  memoryLedgerView,
  readChain,
  type TransferView,
} from './invariants.ts';
import { type TestGateway, testGateway, webCryptoTestGateway } from './fixtures.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

/** Timers fire only when a test advances time, in order of their due time. */
export class ManualClock implements Clock {
  t: number;
  #next = 0;
  readonly #timers = new Map<number, { at: number; fire: () => void }>();
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now = () => this.t;
  setTimer = (at: number, fire: () => void) => {
    const id = ++this.#next;
    this.#timers.set(id, { at, fire });
    return id;
  };
  clearTimer = (id: unknown) => void this.#timers.delete(id as number);
  pending = () => this.#timers.size;
  /**
   * Moves time to `t`, firing every timer due by then, earliest first. Time moves only once the gateways are
   * quiet: the work in flight when this is called finishes at the time it started at, and so does what each timer
   * sets off (without the first settle, a test looping on `advance` until something happens would race the
   * gateways in real time, and what it saw would depend on the machine's load).
   */
  async advanceTo(t: number): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      await settle();
      const due = [...this.#timers].filter(([, x]) => x.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fire();
    }
    this.t = Math.max(this.t, t);
  }
  advance = (ms: number) => this.advanceTo(this.t + ms);
}

/**
 * The work a gateway incarnation has in flight through its ports (signing, verifying, its store, its ledgers) and
 * the messages on their way to it. `settle` waits for all of it, so the manual clock never moves while a gateway is
 * still busy, however slow the machine: what a test sees does not depend on load. A gateway that is closed (a
 * crash) retires its work, so a call a test left hanging on purpose does not hold everything up.
 */
export class Work {
  pending = 0;
  retired = false;
  track<T>(p: Promise<T>): Promise<T> {
    this.pending++;
    const done = () => void this.pending--;
    p.then(done, done);
    return p;
  }
}
let live = new Set<Work>();
const busy = (): boolean => [...live].some((w) => !w.retired && w.pending > 0);

/** Work of gateways a test wires itself, outside a pair: `settle` (and so `ManualClock.advance`) waits for it. */
export function newWork(): Work {
  const w = new Work();
  live.add(w);
  return w;
}

/** `target` with every method that returns a promise counted as work in flight. */
export function tracked<T extends object>(target: T, work: Work): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = v.apply(t, args);
        return r instanceof Promise ? work.track(r) : r;
      };
    },
  });
}

/** More than any one settle should ever need: a bound, not a timing (a turn of the event loop is about 1 ms). */
const MAX_TURNS = 20_000;

/**
 * Lets the gateways finish what they are doing: returns once no tracked work is in flight for two turns of the
 * event loop in a row, and at least `rounds` turns have passed (bounded by MAX_TURNS turns).
 */
export async function settle(rounds = 2): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < MAX_TURNS; i++) {
    await new Promise<void>((r) => setTimeout(r, 0));
    quiet = busy() ? 0 : quiet + 1;
    if (i + 1 >= rounds && quiet >= 2) return;
  }
  throw new Error(`the gateways were still busy after ${MAX_TURNS} turns of the event loop`);
}

export const ORIGIN = testGateway('gw-origin');
export const DESTINATION = testGateway('gw-destination');
/** A gateway both sides know and trust, but that is the peer of none of their sessions. */
export const THIRD = testGateway('gw-third');
export const LEDGER_A = testGateway('ledger-a');
export const LEDGER_B = testGateway('ledger-b');
export const keys = keyTable({ [ORIGIN.id]: ORIGIN.jwk, [DESTINATION.id]: DESTINATION.jwk, [THIRD.id]: THIRD.jwk });

export interface Side {
  gw: Gateway;
  store: LogStore;
  ledger: MemoryLedger;
  config: GatewayConfig;
  reports: { sessionId: string; report: Report }[];
  /** What this incarnation has in flight (see `settle`). */
  work: Work;
}

export interface Pair {
  clock: ManualClock;
  /** Offsets of each ledger's clock from the test's (ms); a test may move them at any time (a clock jump). */
  ledgerClock: Record<'origin' | 'destination', number>;
  origin: Side;
  destination: Side;
  /** Return true to drop a message on the wire. */
  drop: (from: string, to: string, env: Envelope) => boolean;
  /** Replace a message on the wire (return another envelope), or return undefined to deliver it as is. */
  intercept: (from: string, to: string, env: Envelope) => Promise<Envelope | undefined> | Envelope | undefined;
  /** Every envelope that crossed the wire, in order. */
  wire: { from: string; to: string; env: Envelope }[];
  request(sessionId: string, overrides?: Partial<TransferRequest>): TransferRequest;
  /** Restarts a side: a new Gateway over the same store and ledger (what a crash leaves is the store). */
  restart(side: 'origin' | 'destination'): Promise<void>;
  /** Hands `message`, signed by `from`, straight to a side's gateway as if `from` had sent it; its answer. */
  inject(from: TestGateway, to: 'origin' | 'destination', message: SatpMessage): Promise<ReceiveResult>;
}

/** A view of `clock` that runs `offset` ms ahead of it (behind, if negative): a gateway with a skewed clock. */
export function skewed(clock: ManualClock, offset: number): Clock {
  return {
    now: () => clock.now() + offset,
    setTimer: (at, fire) => clock.setTimer(at - offset, fire),
    clearTimer: clock.clearTimer,
  };
}

export interface PairOptions {
  assets?: string[];
  config?: Partial<GatewayConfig>;
  origin?: Partial<GatewayConfig>;
  destination?: Partial<GatewayConfig>;
  /** How far each gateway's clock runs ahead of the ledgers' (which share the test's clock). */
  skew?: Partial<Record<'origin' | 'destination', number>>;
  /** What a gateway sees of its store: a wrapper can make it fail. The side keeps the real store. */
  wrapStore?: (who: 'origin' | 'destination', store: LogStore) => SessionLogStore;
  /** What a gateway sees of a ledger (its own, and the peer's it reads): a wrapper can make calls fail. */
  ledgerView?: (who: 'origin' | 'destination', ledger: MemoryLedger) => Ledger;
}

export async function makePair(options: PairOptions = {}): Promise<Pair> {
  const clock = new ManualClock();
  live = new Set<Work>();
  const shared = new Work();
  live.add(shared);
  const verifier = tracked(defaultVerifier(), shared);
  const assets = options.assets ?? ['asset-1'];
  const ledgerClock = { origin: 0, destination: 0 };
  const ledgerA = new MemoryLedger({
    id: 'ledger-a',
    signer: LEDGER_A.signer,
    now: () => clock.now() + ledgerClock.origin,
    assets: assets.map((assetId) => ({ assetId, owner: 'alice' })),
  });
  const ledgerB = new MemoryLedger({
    id: 'ledger-b',
    signer: LEDGER_B.signer,
    now: () => clock.now() + ledgerClock.destination,
  });
  const peers = {
    [ORIGIN.id]: { publicJwk: ORIGIN.jwk, networkId: 'ledger-a', ledgerKey: LEDGER_A.jwk },
    [DESTINATION.id]: { publicJwk: DESTINATION.jwk, networkId: 'ledger-b', ledgerKey: LEDGER_B.jwk },
    [THIRD.id]: { publicJwk: THIRD.jwk, networkId: 'ledger-c', ledgerKey: THIRD.jwk },
  };
  const pair = { clock, ledgerClock, wire: [], drop: () => false, intercept: () => undefined } as unknown as Pair;
  const sides: Record<string, Side> = {};
  const fast = { origin: await webCryptoTestGateway(ORIGIN), destination: await webCryptoTestGateway(DESTINATION) };
  const build = (
    who: 'origin' | 'destination',
    store: LogStore,
    ledger: MemoryLedger,
    reports: Side['reports'],
  ): Side => {
    const me = fast[who];
    const work = new Work();
    live.add(work);
    const config = gatewayConfig({
      id: me.id,
      publicJwk: me.jwk,
      networkId: who === 'origin' ? 'ledger-a' : 'ledger-b',
      ledgerKey: who === 'origin' ? LEDGER_A.jwk : LEDGER_B.jwk,
      peers,
      ...options.config,
      ...options[who],
    });
    const gw = new Gateway({
      config,
      signer: tracked(me.signer, work),
      verifier,
      keys,
      store: tracked(options.wrapStore ? options.wrapStore(who, store) : store, work),
      ledger: tracked(options.ledgerView ? options.ledgerView(who, ledger) : ledger, work),
      peerLedger: (peer) => {
        const l = peer === ORIGIN.id ? ledgerA : peer === DESTINATION.id ? ledgerB : undefined;
        const view = l && options.ledgerView ? options.ledgerView(who, l) : l;
        return view && tracked(view, work);
      },
      clock: skewed(clock, options.skew?.[who] ?? 0),
      outbox: {
        send: async (to, env) => {
          if (pair.drop(me.id, to, env)) return;
          env = (await pair.intercept(me.id, to, env)) ?? env;
          pair.wire.push({ from: me.id, to, env });
          const target = Object.values(sides).find((s) => s.config.id === to);
          if (!target) throw new Error(`no gateway ${to}`);
          // Counted until the gateway has the message: what it then does goes through its ports (counted
          // there), or waits for the clock (a retry's pause), which is not work in flight.
          void target.work.track(
            new Promise<void>((resolve) =>
              setTimeout(() => {
                void target.gw.receive(me.id, structuredClone(env));
                resolve();
              }, 0),
            ),
          );
        },
      },
      onReport: (sessionId, report) => reports.push({ sessionId, report }),
    });
    const close = gw.close.bind(gw);
    gw.close = () => {
      work.retired = true;
      close();
    };
    return { gw, store, ledger, config, reports, work };
  };
  sides.origin = build('origin', new LogStore(new MemoryDriver(), { keys, verifier }), ledgerA, []);
  sides.destination = build('destination', new LogStore(new MemoryDriver(), { keys, verifier }), ledgerB, []);
  // Getters, not values: a restart replaces a side, and pair.origin must then be the new one.
  Object.defineProperty(pair, 'origin', { get: () => sides.origin });
  Object.defineProperty(pair, 'destination', { get: () => sides.destination });
  Object.assign(pair, {
    request: (sessionId: string, o: Partial<TransferRequest> = {}): TransferRequest => ({
      sessionId,
      contextId: `ctx-${sessionId}`,
      peer: DESTINATION.id,
      assetId: 'asset-1',
      assetProfileId: 'test-profile',
      originator: 'alice',
      beneficiary: 'bob',
      lockSeconds: 60,
      ...o,
    }),
    restart: async (who: 'origin' | 'destination') => {
      const old = sides[who]!;
      old.gw.close();
      sides[who] = build(who, old.store, old.ledger, old.reports);
      await sides[who]!.gw.boot();
    },
    inject: async (from: TestGateway, to: 'origin' | 'destination', message: SatpMessage) =>
      sides[to]!.gw.receive(from.id, structuredClone(await sealMessage(message, from.id, from.signer))),
  });
  return pair;
}

/** The message inside an envelope. */
export const messageOf = (env: Envelope): SatpMessage =>
  JSON.parse(fromUtf8(fromBase64Url(env.payload))) as SatpMessage;
export const typeOf = (env: Envelope): string => messageOf(env).messageType.split(':').pop()!;

/** The last message of `type` (short form, `recover-msg`) that crossed a pair's wire: sent and not dropped. */
export function lastOnWire(pair: Pair, type: string): SatpMessage {
  const env = pair.wire.findLast((w) => typeOf(w.env) === type)?.env;
  if (!env) throw new Error(`no ${type} crossed the wire`);
  return messageOf(env);
}

/** A message signed by `who`, as that gateway would send it. */
export const signedBy = (who: typeof ORIGIN, m: SatpMessage): Promise<Envelope> => sealMessage(m, who.id, who.signer);

export async function outcomes(pair: Pair, sessionId: string): Promise<[Outcome, Outcome]> {
  return Promise.all([pair.origin.gw.whenEnded(sessionId), pair.destination.gw.whenEnded(sessionId)]);
}

/** What a pair's stores and ledgers hold of one session, as test/support/invariants.ts reads it. */
export async function observePair(
  pair: Pair,
  sessionId: string,
  assetId = 'asset-1',
  beneficiary = 'bob',
  originator = 'alice',
): Promise<{ chains: ChainView[]; ledgers: LedgerView[]; transfer: TransferView }> {
  const chains: ChainView[] = [];
  for (const side of [pair.origin, pair.destination])
    for (const author of [pair.origin.config.id, pair.destination.config.id]) {
      // A refused proposal leaves no chain.
      const c = await readChain(side.store, side.config.id, sessionId, author);
      if (c) chains.push(c);
    }
  const ledgers = [await memoryLedgerView(pair.origin.ledger), await memoryLedgerView(pair.destination.ledger)];
  const transfer = {
    sessionId,
    assetId,
    owner: originator,
    beneficiary,
    origin: { gateway: pair.origin.config.id, ledger: pair.origin.ledger.id },
    destination: { gateway: pair.destination.config.id, ledger: pair.destination.ledger.id },
  };
  return { chains, ledgers, transfer };
}

/**
 * What must hold after a session (test/support/invariants.ts): both chains verify and end with the same outcome,
 * the asset lives on exactly one ledger with the right owner, no ledger operation was applied twice or without
 * its exec logged first, and each copy of a peer's chain is a prefix of it. Other sessions of the same pair may
 * still be running: only this one is checked. Returns the outcome.
 */
export async function checkInvariants(
  pair: Pair,
  sessionId: string,
  assetId = 'asset-1',
  beneficiary = 'bob',
  originator = 'alice',
): Promise<Outcome> {
  const outcome = outcomeOf(pair.origin.gw.session(sessionId));
  expect(outcome, 'origin ended').toBeDefined();
  const { chains, ledgers, transfer } = await observePair(pair, sessionId, assetId, beneficiary, originator);
  const verdict = checkRun(chains, ledgers, [transfer], { agreement: 'exact', closedWorld: false });
  expect(verdict.violations, 'invariants').toEqual([]);
  expect(verdict.outcomes.get(sessionId), "the origin's chain ends as its state says").toBe(outcome);
  return outcome!;
}

/**
 * Moves simulated time in 100 ms ticks until `done()`, letting the in-process wire deliver before each tick
 * (it uses real macrotasks), so how many macrotasks a runtime needs cannot decide what is seen. Bounded.
 */
export async function until(pair: Pair, done: () => boolean, maxSeconds: number, what = 'condition'): Promise<void> {
  for (let i = 0; i < maxSeconds * 10 && !done(); i++) {
    await settle(5);
    if (!done()) await pair.clock.advance(100);
  }
  if (!done()) throw new Error(`${what} not reached within ${maxSeconds} simulated seconds`);
}

/**
 * Takes the origin down as the first message of `type` sent by `from` crosses the wire (that message still arrives);
 * the returned function gives the crash once it happened.
 */
export function crashOriginOn(
  pair: Pair,
  from: TestGateway,
  type: string,
): () => ReturnType<typeof crashSide> | undefined {
  let down: ReturnType<typeof crashSide> | undefined;
  pair.intercept = (sender, _to, env) => {
    if (!down && sender === from.id && typeOf(env) === type) down = crashSide(pair, 'origin');
    return undefined;
  };
  return () => down;
}

/** Takes a side down: closed (all it had in memory is gone) and unreachable until restarted. */
export function crashSide(pair: Pair, who: 'origin' | 'destination'): { restart: () => Promise<void> } {
  const id = pair[who].config.id;
  pair[who].gw.close();
  const before = pair.drop;
  pair.drop = (from, to, env) => to === id || from === id || before(from, to, env);
  return {
    restart: async () => {
      pair.drop = before;
      await pair.restart(who);
    },
  };
}
