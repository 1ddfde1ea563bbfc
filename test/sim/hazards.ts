// Storage and ledger faults as the world applies them: outage windows, failing reads, and the errors they raise.
//
// Everything here holds only during the schedule's fault phase: when it ends, `stop()` closes every
// window, so every store and ledger is back before the world must go quiet.
import { SatpError } from '../../kernel/errors.ts';
import type { NodeName } from './names.ts';

export class Hazards {
  /** True during the fault phase. */
  active = false;
  /** Chance that one store read (head, read, openLogs) fails. */
  readFailRate = 0;
  readonly #storeDown = new Map<NodeName, number>();
  readonly #ledgerDown = new Map<string, number>();

  /** Draws for decisions made as calls happen (read faults); the plan's own stream of the new classes. */
  constructor(readonly rng: () => number = () => 1) {}

  storeDown(n: NodeName, now: number): boolean {
    return this.active && (this.#storeDown.get(n) ?? -Infinity) > now;
  }
  ledgerDown(ledgerId: string, now: number): boolean {
    return this.active && (this.#ledgerDown.get(ledgerId) ?? -Infinity) > now;
  }
  storeOutage(n: NodeName, until: number): void {
    this.#storeDown.set(n, until);
  }
  ledgerOutage(ledgerId: string, until: number): void {
    this.#ledgerDown.set(ledgerId, until);
  }

  /** Whether this read fails (outside an outage): a seeded draw, only while faults are on and the class is. */
  readFails(): boolean {
    return this.active && this.readFailRate > 0 && this.rng() < this.readFailRate;
  }

  /** The fault phase ended: every window closes and nothing fails any more. */
  stop(): void {
    this.active = false;
    this.#storeDown.clear();
    this.#ledgerDown.clear();
  }
}

export const storageFailure = (what: string): SatpError =>
  new SatpError('STORAGE_FAILURE', `simulated storage failure: ${what}`);
export const ledgerUnavailable = (what: string): SatpError => new SatpError('LEDGER_UNAVAILABLE', `simulated: ${what}`);

/**
 * What a ledger client raises when its request timed out: LEDGER_UNAVAILABLE (the outcome is unknown: ask
 * status), caused by a TimeoutError, as an HTTP client with an abort signal reports it.
 */
export function ledgerTimeout(ledgerId: string, call: string, ms: number): SatpError {
  const cause = Object.assign(new Error(`${call} timed out after ${ms} ms`), { name: 'TimeoutError' });
  const message = `simulated: ledger ${ledgerId}: ${call} timed out after ${ms} ms`;
  return new SatpError('LEDGER_UNAVAILABLE', message, { cause, detail: { timeout: true } });
}
