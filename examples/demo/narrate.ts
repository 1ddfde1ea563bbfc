// The demo's live commentary: one short line per thing worth seeing in the two gateways' event streams.
import type { GatewayEvent } from '../gateway-child.ts';

/** recovery-04 §5.3 names for the recovery message types. */
const NAMES: Record<string, string> = {
  'recover-msg': 'RECOVER',
  'recover-update-msg': 'RECOVER-UPDATE',
  'recover-update-ack-msg': 'RECOVER-UPDATE-ACK',
  'recover-success-msg': 'RECOVER-SUCCESS',
  'recover-dispute-msg': 'RECOVER-DISPUTE',
  'rollback-msg': 'ROLLBACK',
  'rollback-ack-msg': 'ROLLBACK-ACK',
};
export const messageName = (type: string): string => NAMES[type] ?? type;

export class Narrator {
  readonly #t0 = Date.now();
  /** Failed sends in a row, per gateway and message type: only the first of a streak is printed. */
  readonly #failing = new Map<string, number>();
  readonly #lives = new Map<string, number>();
  /** Delivered sends per gateway, session and type: a second one is a resend (same content, same hash). */
  readonly #sent = new Map<string, number>();

  constructor(private readonly write: (line: string) => void = (l) => console.log(l)) {}

  say(gw: string, text: string, t = Date.now()): void {
    this.write(`  ${`+${((t - this.#t0) / 1000).toFixed(3)}s`.padStart(9)}  ${gw.padEnd(15)} ${text}`);
  }

  note(text: string): void {
    this.write(`\n  ${text}`);
  }

  onEvent(e: GatewayEvent): void {
    const line = this.#describe(e);
    if (line) this.say(e.gw, line, e.t);
  }

  #describe(e: GatewayEvent): string | undefined {
    switch (e.event) {
      case 'listening': {
        const life = (this.#lives.get(e.gw) ?? 0) + 1;
        this.#lives.set(e.gw, life);
        return life === 1
          ? `listening on ${String(e.url)} (pid ${String(e.pid)})`
          : `restarted (pid ${String(e.pid)}): same LevelDB, same key, same port`;
      }
      case 'booted':
        return Number(e.sessions) > 0
          ? `boot: replayed its log, ${String(e.sessions)} unfinished session → sends RECOVER (recovery-04 §5.1)`
          : undefined;
      case 'send': {
        const key = `${e.gw} ${String(e.type)}`;
        const type = messageName(String(e.type));
        if (e.ok !== true) {
          const n = (this.#failing.get(key) ?? 0) + 1;
          this.#failing.set(key, n);
          return n === 1
            ? `✗ ${type} not delivered: no connection to ${String(e.to)} (resent by the retransmit timer)`
            : undefined;
        }
        const failed = this.#failing.get(key) ?? 0;
        this.#failing.delete(key);
        const sentKey = `${key} ${String(e.session)}`;
        const times = (this.#sent.get(sentKey) ?? 0) + 1;
        this.#sent.set(sentKey, times);
        const again = failed
          ? ` (delivered after ${failed} failed tries)`
          : times > 1
            ? ' (again: same message, same hash)'
            : '';
        return `→ ${type}${again}`;
      }
      case 'ledger': {
        const op = String(e.kind ?? '').toUpperCase();
        if (e.failed) return `ledger ${String(e.ledger)} unreachable: ${String(e.failed).slice(0, 80)}`;
        if (e.call === 'status')
          return (
            `asks ${String(e.ledger)} whether ${String(e.opId)} happened: ` +
            `${e.found ? (e.ok ? 'yes' : 'refused') : 'no'}`
          );
        if (e.call === 'attest') {
          const recorded = (e.recorded as { opId: string; ok: boolean }[] | undefined) ?? [];
          const burned = recorded.some((o) => o.ok && o.opId.endsWith(':3.4:burn'));
          return (
            `asks ${String(e.ledger)} for an attestation of ${String(e.asset)}: ` +
            `${String(e.state)} at its own time ${new Date(Number(e.ledgerTime)).toISOString().slice(11, 23)}, ` +
            `burn ${burned ? 'recorded' : 'not recorded'}`
          );
        }
        return (
          `${op} ${String(e.asset)} on ${String(e.ledger)}: ` +
          `${e.ok ? `done (txSeq ${String(e.txSeq)})` : `refused ${String(e.code)}`}` +
          (e.tx ? ` tx ${String(e.tx).slice(0, 18)}…` : '')
        );
      }
      case 'append': {
        if (e.recoveryMessage === 'recover-update-msg' && e.operation === 'ack') {
          const n = /\+(\d+) entries/.exec(String(e.what))?.[1] ?? '0';
          return (
            `logged RECOVER-UPDATE: ${n} entries of the peer's chain verified and added to its copy` +
            `${/peer rolled back/.test(String(e.what)) ? '; they show the peer rolled back' : ''}`
          );
        }
        if (e.step === 'rollback' && e.operation === 'init' && String(e.what).startsWith('decided'))
          return String(e.what);
        if (e.step === 'deadline') return String(e.what);
        return undefined;
      }
      case 'crash':
        return `✗ SIGKILL ${String(e.where)} (crash injected with --crash-after)`;
      case 'killed':
        return '✗ SIGKILL (sent by the demo)';
      case 'outcome':
        return `session ${String(e.session)} ended: ${String(e.outcome).toUpperCase()} (${String(e.reason)})`;
      case 'report':
        return e.kind === 'needs-operator' ? `needs an operator: ${String(e.detail)}` : undefined;
      default:
        return undefined;
    }
  }
}
