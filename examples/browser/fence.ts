// A crash inside one process. A killed process takes all its memory and pending work with it; a gateway "crashed"
// in a page (or in the demo server) would otherwise live on in its promises: a ledger call or an append that
// resolves after the crash would drive the dead incarnation one step further, writing beside the new one. So each
// incarnation reaches the world only through these wrappers: once its fence is down, nothing it started is
// answered and nothing new it asks for is done. What it already handed over (an append the store is committing,
// a ledger op the ledger received) still happens, as it would after a real crash. Runtime-neutral.
import type { Clock } from '../../kernel/driver.ts';
import type { Ledger } from '../../kernel/ledger.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import type { Transport } from '../../transports/types.ts';

const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class Fence {
  #alive = true;
  readonly #onCrash: (() => void)[] = [];

  get alive(): boolean {
    return this.#alive;
  }

  /** Takes the incarnation down: from now on it is never answered again. */
  crash(): void {
    if (!this.#alive) return;
    this.#alive = false;
    for (const f of this.#onCrash.splice(0)) f();
  }

  onCrash(f: () => void): void {
    if (this.#alive) this.#onCrash.push(f);
    else f();
  }

  /** What `p` settles to while the incarnation lives; after a crash it never settles, like a dead process. */
  guard<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      p.then(
        (v) => this.#alive && resolve(v),
        (e: unknown) => this.#alive && reject(e),
      ),
    );
  }

  /** Runs `work` while alive; after a crash it is not run at all. */
  call<T>(work: () => Promise<T>): Promise<T> {
    return this.#alive ? this.guard(work()) : never<T>();
  }
}

/** The store as the incarnation sees it. close() goes through: the host closes the store of a dead incarnation. */
export function fenceDriver(d: LogStoreDriver, f: Fence): LogStoreDriver {
  return {
    name: d.name,
    capabilities: d.capabilities,
    head: (logId) => f.call(() => d.head(logId)),
    append: (logId, expected, texts, next) => f.call(() => d.append(logId, expected, texts, next)),
    read: (logId, from, to) => f.call(() => d.read(logId, from, to)),
    openLogs: () => f.call(() => d.openLogs()),
    close: () => d.close(),
  };
}

export function fenceLedger(l: Ledger, f: Fence): Ledger {
  return {
    id: l.id,
    execute: (op) => f.call(() => l.execute(op)),
    status: (opId) => f.call(() => l.status(opId)),
    asset: (assetId) => f.call(() => l.asset(assetId)),
    attest: (assetId, opIds) => f.call(() => l.attest(assetId, opIds)),
  };
}

/** Inbound messages and link changes stop reaching the incarnation at the crash; its sends and dials go nowhere. */
export function fenceTransport(t: Transport, f: Fence): Transport {
  const connect = t.connect?.bind(t);
  return {
    self: t.self,
    capabilities: t.capabilities,
    send: (to, message) => f.call(() => t.send(to, message)),
    onMessage: (handler) => t.onMessage((from, message) => void (f.alive && handler(from, message))),
    onPeer: (handler) => t.onPeer((peer, up) => void (f.alive && handler(peer, up))),
    peers: () => (f.alive ? t.peers() : []),
    ...(connect && { connect: (peer: string) => f.call(() => connect(peer)) }),
    close: () => t.close(),
  };
}

/** The driver's timers: none fires after the crash, and the crash clears them all. */
export function fenceClock(c: Clock, f: Fence): Clock {
  const armed = new Set<unknown>();
  f.onCrash(() => {
    for (const h of armed) c.clearTimer(h);
    armed.clear();
  });
  return {
    now: () => c.now(),
    setTimer(at, fire) {
      if (!f.alive) return {}; // a handle clearTimer accepts, for a timer that will never fire
      const handle: unknown = c.setTimer(at, () => {
        armed.delete(handle);
        if (f.alive) fire();
      });
      armed.add(handle);
      return handle;
    },
    clearTimer(handle) {
      armed.delete(handle);
      c.clearTimer(handle);
    },
  };
}
