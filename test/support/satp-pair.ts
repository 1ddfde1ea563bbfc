// Two gateways, two in-memory ledgers and an in-process wire, on a manual clock: the scenario harness.
import { expect } from 'vitest';
import { defaultVerifier, keyTable, type Signer, type Verifier } from '../../kernel/index.ts';
import { type Clock, Gateway, type ReceiveResult } from '../../kernel/driver.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';
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
import { type ClockModel, type ClockName, SimClock } from '../sim/clock.ts';
import { type InFlight, Wire } from '../sim/network.ts';
import { macrotask } from '../sim/scheduler.ts';

/**
 * The pair's clock: the simulator's world clock (test/sim/clock.ts), whose timers fire only when a test advances
 * time, earliest first (ties in the order they were set).
 */
export class ManualClock implements Clock {
  readonly sim: SimClock;
  /** `models`: the clocks of the gateways (A the origin, B the destination), exact when absent. */
  constructor(models: Partial<Record<ClockName, ClockModel>> = {}) {
    this.sim = new SimClock(models);
  }
  get t(): number {
    return this.sim.now;
  }
  now = () => this.sim.now;
  setTimer = (at: number, fire: () => void) => this.sim.set('test', at, fire);
  clearTimer = (id: unknown) => this.sim.clear(id as number);
  /**
   * Moves time to `t`, firing every timer due by then, earliest first, each once the pair is quiet (see `settle`):
   * what a timer sets off runs to its end, messages included, at the time it fired.
   */
  async advanceTo(t: number): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      await settle();
      const due = this.sim.earliest();
      if (!due || due.at > t) break;
      this.sim.fire(due.id);
    }
    this.sim.now = Math.max(this.sim.now, t);
  }
  advance = (ms: number) => this.advanceTo(this.sim.now + ms);
}

/**
 * The work a gateway incarnation has in flight through its ports (signing, verifying, its store, its ledgers).
 * `settle` waits for all of it before the next message or timer. A gateway that is closed (a crash) retires its
 * work, so a call a test left hanging on purpose does not hold everything up.
 */
export class Work {
  pending = 0;
  retired = false;
  #idle: (() => void)[] = [];
  track<T>(p: Promise<T>): Promise<T> {
    this.pending++;
    const done = () => {
      if (--this.pending === 0) this.#wake();
    };
    p.then(done, done);
    return p;
  }
  retire(): void {
    this.retired = true;
    this.#wake();
  }
  /** Resolves once nothing is in flight (at once for a retired incarnation): an event, not a poll. */
  idle(): Promise<void> {
    if (this.retired || this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }
  #wake(): void {
    for (const resolve of this.#idle.splice(0)) resolve();
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

/**
 * One processor for the pair's WebCrypto calls: each starts when the one before it finished, so they finish in the
 * order they were made. WebCrypto works on other threads; two calls in flight at once could finish in either
 * order, and which gateway then acted first would depend on the machine. In a row, they cannot.
 */
class Cpu {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#tail.then(work);
    this.#tail = done.catch(() => undefined);
    return done;
  }
  signer(signer: Signer): Signer {
    return { alg: signer.alg, publicJwk: signer.publicJwk, sign: (data) => this.run(() => signer.sign(data)) };
  }
  verifier(verifier: Verifier): Verifier {
    return { verify: (key, data, sig) => this.run(() => verifier.verify(key, data, sig)) };
  }
}

/** Bounds, not timings: more steps than any scenario takes, so a livelock fails the test instead of hanging it. */
const MAX_QUIET_ROUNDS = 10_000;
const MAX_DELIVERIES = 10_000;

/**
 * Waits until no tracked work is in flight and every promise it set off has run: each round waits for the work
 * to finish (an event), then one macrotask (after which every microtask queued so far has run), and ends once
 * nothing new was started meanwhile.
 */
async function quiet(): Promise<void> {
  for (let round = 0; round < MAX_QUIET_ROUNDS; round++) {
    await Promise.all([...live].map((w) => w.idle()));
    await macrotask();
    if (!busy()) return;
  }
  throw new Error(`the gateways were still busy after ${MAX_QUIET_ROUNDS} rounds`);
}

/** The messages of the current pair on their way (the simulator's network), and how each is handed over. */
let network: { wire: Wire; deliver: (m: InFlight) => void; whenQuiet: (() => void)[]; failure?: unknown } | undefined;
let pumping: Promise<void> | undefined;

/**
 * Delivers the pair's messages on the simulator's scheduling rule, one step at a time: once the gateways are
 * quiet, the oldest message on the network is delivered, and so on until none is left; timers wait for the clock.
 * The order of events is the order messages were sent, whatever the machine's load. One pump runs at a time;
 * a send starts it, so a test awaiting an answer needs nothing else.
 */
function pump(): Promise<void> {
  pumping ??= (async () => {
    for (let i = 0; i < MAX_DELIVERIES; i++) {
      await quiet();
      const hooks = network?.whenQuiet.splice(0) ?? [];
      for (const hook of hooks) hook();
      if (hooks.length) await quiet();
      const next = network?.wire.queue[0];
      if (!next) return;
      network!.wire.take(next.id);
      network!.deliver(next);
    }
    throw new Error(`messages were still on the network after ${MAX_DELIVERIES} deliveries`);
  })().finally(() => {
    pumping = undefined;
  });
  return pumping;
}

/** Runs the pair to rest: every message delivered, every call through the gateways' ports answered. */
export async function settle(): Promise<void> {
  for (let i = 0; i < MAX_DELIVERIES; i++) {
    // A pump ends only once the pair is quiet with nothing left on the network: no second wait needed here.
    await pump();
    if (network?.failure) throw network.failure;
    if (!pumping && !network?.wire.size && !network?.whenQuiet.length) return;
  }
  throw new Error('the pair did not come to rest');
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
  /** Set once a backup took the side's place: a restart restarts the backup. */
  backup?: Backup;
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
  /**
   * Runs `action` at the next step of the scheduler: once the gateways are quiet, before the next message is
   * delivered (a crash "right after" a send lands at a fixed point, whatever the machine's load).
   */
  whenQuiet(action: () => void): void;
  /**
   * A backup takes a side's place for good (recovery-04 §5.1, §6.1): the side's gateway is closed and a new one, with
   * the backup's key and certificate, takes over its open sessions in the same store (Gateway.takeOver). Resolves
   * with how many it took over. `store`: the backup's own view of the shared store (its fencing epoch), if not
   * the side's.
   */
  replace(who: 'origin' | 'destination', backup: Backup, store?: LogStore): Promise<number>;
  /** Hands `message`, signed by `from`, straight to a side's gateway as if `from` had sent it; its answer. */
  inject(from: TestGateway, to: 'origin' | 'destination', message: SatpMessage): Promise<ReceiveResult>;
}

/** A backup gateway: its own key, its certificate (x5c: base64 DER), its name, and the epoch it takes over at. */
export interface Backup {
  signer: Signer;
  certificate: string;
  name: string;
  epoch: number;
}

export interface PairOptions {
  /** Each side's log store, when not a fresh in-memory one (a shared PostgreSQL log, say). */
  stores?: Partial<Record<'origin' | 'destination', LogStore>>;
  /** Who may take a gateway's place, for both stores and both gateways; without it no backup is ever trusted. */
  successor?: SuccessorAuthority;
  /** Per side, the authority its gateway trusts for the peer's messages instead of `successor` (its store keeps it). */
  peerTrust?: Partial<Record<'origin' | 'destination', SuccessorAuthority>>;
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
  /** How many ended sessions each gateway keeps in memory (GatewayOptions.keepEnded). */
  keepEnded?: number;
}

export async function makePair(options: PairOptions = {}): Promise<Pair> {
  const model = (offsetMs = 0): ClockModel => ({ offsetMs, driftPpm: 0 });
  const clock = new ManualClock({ A: model(options.skew?.origin), B: model(options.skew?.destination) });
  live = new Set<Work>();
  const shared = new Work();
  live.add(shared);
  const cpu = new Cpu();
  const verifier = tracked(cpu.verifier(defaultVerifier()), shared);
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
  const wire = new Wire();
  const net: NonNullable<typeof network> = {
    wire,
    whenQuiet: [],
    // To whoever runs the gateway when the message arrives (a closed one ignores it). Not counted as work: what
    // the gateway does with it goes through its ports (counted there), or waits for the clock (a retry's pause).
    deliver: (m) => {
      const target = Object.values(sides).find((s) => s.config.id === m.to);
      if (!target) throw new Error(`no gateway ${m.to}`);
      void target.gw.receive(m.from, structuredClone(m.env));
    },
  };
  network = net;
  /** Starts the pump if it is not running; a failure of one started here is thrown by the next `settle`. */
  const kick = () => void pump().catch((err: unknown) => void (net.failure ??= err));
  let incarnations = 0;
  const fast = { origin: await webCryptoTestGateway(ORIGIN), destination: await webCryptoTestGateway(DESTINATION) };
  const build = (
    who: 'origin' | 'destination',
    store: LogStore,
    ledger: MemoryLedger,
    reports: Side['reports'],
    backup?: Backup,
  ): Side => {
    const me = fast[who];
    const owner = `${who}#${++incarnations}`;
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
      signer: tracked(cpu.signer(backup?.signer ?? me.signer), work),
      ...((options.peerTrust?.[who] ?? options.successor)
        ? { successor: options.peerTrust?.[who] ?? options.successor }
        : {}),
      ...(backup ? { certificate: backup.certificate } : {}),
      verifier,
      keys,
      store: tracked(options.wrapStore ? options.wrapStore(who, store) : store, work),
      ledger: tracked(options.ledgerView ? options.ledgerView(who, ledger) : ledger, work),
      peerLedger: (peer) => {
        const l = peer === ORIGIN.id ? ledgerA : peer === DESTINATION.id ? ledgerB : undefined;
        const view = l && options.ledgerView ? options.ledgerView(who, l) : l;
        return view && tracked(view, work);
      },
      clock: clock.sim.view(owner, who === 'origin' ? 'A' : 'B'),
      outbox: {
        send: async (to, env) => {
          if (pair.drop(me.id, to, env)) return;
          env = (await pair.intercept(me.id, to, env)) ?? env;
          pair.wire.push({ from: me.id, to, env });
          wire.send(me.id, to, env, clock.now());
          kick();
        },
      },
      onReport: (sessionId, report) => reports.push({ sessionId, report }),
      ...(options.keepEnded !== undefined ? { keepEnded: options.keepEnded } : {}),
    });
    const close = gw.close.bind(gw);
    gw.close = () => {
      work.retire();
      close();
      clock.sim.dropOwner(owner);
    };
    return { gw, store, ledger, config, reports, work, ...(backup ? { backup } : {}) };
  };
  const storeOptions = { keys, verifier, ...(options.successor ? { successor: options.successor } : {}) };
  const fresh = () => new LogStore(new MemoryDriver(), storeOptions);
  sides.origin = build('origin', options.stores?.origin ?? fresh(), ledgerA, []);
  sides.destination = build('destination', options.stores?.destination ?? fresh(), ledgerB, []);
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
      sides[who] = build(who, old.store, old.ledger, old.reports, old.backup);
      await sides[who]!.gw.boot();
    },
    replace: async (who: 'origin' | 'destination', backup: Backup, store?: LogStore) => {
      const old = sides[who]!;
      old.gw.close();
      sides[who] = build(who, store ?? old.store, old.ledger, old.reports, backup);
      return sides[who]!.gw.takeOver({ backup: backup.name, certificate: backup.certificate, epoch: backup.epoch });
    },
    whenQuiet: (action: () => void) => {
      net.whenQuiet.push(action);
      kick();
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

/**
 * How the session ended on each side. While a side still holds it running once the pair is at rest, simulated time
 * moves in 100 ms ticks (bounded), as `until` does: which timers a session still needs to end can depend on how the
 * host scheduled the two gateways' work, and a wait that did not move the clock then hung. A side that does not hold
 * the session (forgotten, or never told) answers from its log, and time is not moved for it.
 */
export async function outcomes(pair: Pair, sessionId: string, maxSeconds = 300): Promise<[Outcome, Outcome]> {
  const ends = Promise.all([pair.origin.gw.whenEnded(sessionId), pair.destination.gw.whenEnded(sessionId)]);
  const running = () =>
    [pair.origin, pair.destination].some((side) => {
      const s = side.gw.session(sessionId);
      return s !== undefined && s.status.kind !== 'ended';
    });
  for (let i = 0; i < maxSeconds * 10; i++) {
    await settle();
    if (!running()) break;
    await pair.clock.advance(100);
  }
  if (running()) throw new Error(`session ${sessionId} still running after ${maxSeconds} simulated seconds`);
  return ends;
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
 * Moves simulated time in 100 ms ticks until `done()`, the pair run to rest (`settle`) before each tick. Bounded
 * in ticks.
 */
export async function until(pair: Pair, done: () => boolean, maxSeconds: number, what = 'condition'): Promise<void> {
  for (let i = 0; i < maxSeconds * 10 && !done(); i++) {
    await settle();
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

/**
 * Crashes the origin right after it sends its first message of `type` (once the pair is quiet: the message is on
 * the network, and the origin did all that sending it set off); the returned function gives the crash once it
 * happened.
 */
export function crashOriginAfterSending(pair: Pair, type: string): () => { restart: () => Promise<void> } | undefined {
  let down: { restart: () => Promise<void> } | undefined;
  let crashing = false;
  pair.intercept = (from, _to, env) => {
    if (!down && !crashing && from === ORIGIN.id && typeOf(env) === type) {
      crashing = true;
      pair.whenQuiet(() => (down = crashSide(pair, 'origin')));
    }
    return undefined;
  };
  return () => down;
}
