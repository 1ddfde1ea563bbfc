// One gateway across its incarnations, as a process supervisor sees it: boot (startGateway on the store and
// transports of this incarnation), crash (the fence drops the incarnation's memory and every pending promise; its
// connections and its database handle close, as the OS would close them for a killed process), boot again on the
// same store, where boot-time recovery (recovery-04 §5.1) resumes what was left open. Runtime-neutral: the page
// hosts its gateways with it, the demo server its Node gateway.
import type { Clock } from '../../kernel/driver.ts';
import type { Ledger } from '../../kernel/ledger.ts';
import type { Report } from '../../kernel/satp/effects.ts';
import { realClock } from '../../gateway/clock.ts';
import { type PeerGateway, type RunningGateway, type StartGatewayOptions, startGateway } from '../../gateway/start.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import type { Transport } from '../../transports/types.ts';
import { Fence, fenceClock, fenceDriver, fenceLedger, fenceTransport } from './fence.ts';

/** What one incarnation owns and loses at its crash: a handle on the store, and its transports. */
export interface Incarnation {
  store: LogStoreDriver;
  transports: Transport[];
}

export type LifeEvent =
  | { kind: 'booting'; incarnation: number }
  | { kind: 'booted'; incarnation: number; recovered: number }
  | { kind: 'crashed'; incarnation: number; why: string };

export interface GatewayHostOptions
  extends Omit<StartGatewayOptions, 'store' | 'transports' | 'ledger' | 'peers' | 'clock' | 'onReport'> {
  ledger: Ledger;
  /** Read at every boot, so a host can learn a new peer and restart (the demo server does). */
  peers: () => Record<string, PeerGateway>;
  /** Opens the store again (the same database) and makes fresh transports for incarnation `n`. */
  open(n: number): Promise<Incarnation>;
  clock?: Clock;
  onReport?: (sessionId: string, report: Report) => void;
  onLife?: (event: LifeEvent) => void;
}

export class GatewayHost {
  readonly id: string;
  readonly #o: GatewayHostOptions;
  #incarnation = 0;
  #fence = new Fence();
  #parts: Incarnation | undefined;
  #running: RunningGateway | undefined;

  constructor(options: GatewayHostOptions) {
    this.id = options.id;
    this.#o = options;
    this.#fence.crash(); // no incarnation yet: nothing to crash before the first boot
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  /** The live incarnation once it has booted; undefined while it boots or after a crash. */
  get running(): RunningGateway | undefined {
    return this.#running;
  }

  /** Boots a new incarnation. Never settles if that incarnation crashes before it has booted. */
  async boot(): Promise<RunningGateway> {
    const n = ++this.#incarnation;
    const fence = (this.#fence = new Fence());
    this.#o.onLife?.({ kind: 'booting', incarnation: n });
    const parts = await this.#o.open(n);
    if (!fence.alive) {
      await abandon(parts);
      return new Promise<RunningGateway>(() => {});
    }
    this.#parts = parts;
    const { open: _open, onLife: _onLife, peers, ledger, clock, onReport, ...base } = this.#o;
    const running = await fence.guard(
      startGateway({
        ...base,
        store: fenceDriver(parts.store, fence),
        transports: parts.transports.map((t) => fenceTransport(t, fence)),
        ledger: fenceLedger(ledger, fence),
        peers: Object.fromEntries(
          Object.entries(peers()).map(([id, p]) => [
            id,
            { ...p, ...(p.ledger && { ledger: fenceLedger(p.ledger, fence) }) },
          ]),
        ),
        clock: fenceClock(clock ?? realClock, fence),
        onReport: (sessionId, report) => void (fence.alive && onReport?.(sessionId, report)),
      }),
    );
    this.#running = running;
    this.#o.onLife?.({ kind: 'booted', incarnation: n, recovered: running.recovered });
    return running;
  }

  /** Kills the current incarnation: resolves once its connections and its store handle are closed. */
  async crash(why = 'crashed'): Promise<void> {
    const parts = this.#parts;
    if (!this.#fence.alive) return;
    this.#running?.gateway.close(); // the driver's timers; the fence would drop them anyway
    this.#fence.crash();
    this.#running = undefined;
    this.#parts = undefined;
    this.#o.onLife?.({ kind: 'crashed', incarnation: this.#incarnation, why });
    if (parts) await abandon(parts);
  }

  /** A crash, then a new incarnation on the same store. */
  async restart(why?: string): Promise<RunningGateway> {
    await this.crash(why);
    return this.boot();
  }

  /** Shuts the live incarnation down in order (gateway/start.ts close()); a dead one is only abandoned. */
  async close(): Promise<void> {
    const running = this.#running;
    if (!running) return this.crash('closed while booting');
    this.#running = undefined;
    this.#parts = undefined;
    this.#fence.crash();
    await running.close();
  }
}

async function abandon(parts: Incarnation): Promise<void> {
  await Promise.allSettled(parts.transports.map((t) => t.close()));
  await parts.store.close().catch(() => undefined);
}
