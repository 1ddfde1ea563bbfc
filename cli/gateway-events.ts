// What a gateway process prints: one JSON line per notable event on stdout, read by the demo and the tests.
//
// Every line is `{"event": <name>, "gw": <gateway id>, "t": <epoch ms>, ...}`. docs/demo.md lists the
// events. Lines are written synchronously (console.log to a pipe is synchronous on Linux in Node and
// Deno), so a line that was printed before a SIGKILL is never lost.
import type { LogEntry } from '../kernel/entry.ts';
import type { Json } from '../kernel/json.ts';

export type EventFields = Record<string, Json | undefined>;
export type Emit = (event: string, fields?: EventFields) => void;

/** An emitter for gateway `gw`; `write` is console.log unless a test captures lines. */
export function emitter(gw: string, write: (line: string) => void = (l) => console.log(l)): Emit {
  return (event, fields = {}) => {
    const clean: Record<string, Json> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
    write(JSON.stringify({ event, gw, t: Date.now(), ...clean }));
  };
}

import { shortType } from '../gateway/peek.ts';

export { peek, shortType } from '../gateway/peek.ts';

/** One line saying what a log entry records, for people (the demo's timeline and the append event). */
export function describeEntry(e: Pick<LogEntry, 'payload' | 'recoveryMessage'>): string {
  const p = e.payload as Record<string, unknown> & { kind?: string };
  const op = p.op as { kind?: string; assetId?: string; opId?: string } | undefined;
  const receipt = p.receipt as { txSeq?: number; error?: { code?: string } } | undefined;
  const req = p.request as
    | { assetId?: string; originator?: string; beneficiary?: string; lockSeconds?: number }
    | undefined;
  const msg = p.message as { messageType?: string } | undefined;
  switch (p.kind) {
    case 'request':
      return (
        `transfer requested: ${req?.assetId} ` +
        `${req?.originator} → ${req?.beneficiary}, ` +
        `lock ${req?.lockSeconds} s`
      );
    case 'send':
      return `send ${shortType(msg?.messageType)} → ${String(p.to)}`;
    case 'receive':
      return `accepted ${shortType(msg?.messageType)} from ${String(p.from)}`;
    case 'ledger-op':
      return (
        `${p.purpose === 'rollback' ? 'rollback: ' : ''}` +
        `${op?.kind?.toUpperCase()} ${op?.assetId} (calling the ledger)`
      );
    case 'ledger-done':
      return `${op?.kind?.toUpperCase()} done, ledger receipt txSeq ${receipt?.txSeq}`;
    case 'ledger-failed':
      return `${op?.kind?.toUpperCase()} refused: ${String(p.reason)}`;
    case 'burn-evidence':
      return (
        'asked the origin ledger past the deadline: ' +
        `its attestation says the burn ${p.burned ? 'happened' : 'never happened and never can'}`
      );
    case 'record':
      return String(p.what);
    case 'rollback':
      return `decided to roll back: ${String(p.reason)}`;
    case 'recovery-send':
      return (
        `send ${shortType(p.messageType)}` +
        `${Array.isArray(p.entryHashes) ? ` (${p.entryHashes.length} entries)` : ''}`
      );
    case 'recovery-receive': {
      const appended = Array.isArray(p.appended) ? ` (+${p.appended.length} entries of the peer's chain)` : '';
      return `accepted ${shortType(p.messageType)}${appended}${p.peerRolledBack ? ', peer rolled back' : ''}`;
    }
    case 'dispute':
      return `DISPUTE: ${String(p.detail)}`;
    case 'end':
      return `session ended: ${String(p.outcome)} (${String(p.reason)})`;
    default:
      return String(p.kind ?? e.recoveryMessage ?? '?');
  }
}

/** One durable append to the copy of a peer's chain: whose chain, which entries, the hash it now ends with. */
export function copyFields(entries: readonly LogEntry[]): EventFields {
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  return {
    session: first.sessionId,
    author: first.author,
    from: first.seqNumber,
    to: last.seqNumber,
    entries: entries.length,
    hash: last.entryHash.slice(0, 12),
  };
}

/** One entry of the gateway's own chain made durable. */
export function appendFields(e: LogEntry): EventFields {
  return {
    session: e.sessionId,
    author: e.author,
    seq: e.seqNumber,
    step: e.step,
    operation: e.operation,
    recoveryMessage: e.recoveryMessage || undefined,
    hash: e.entryHash.slice(0, 12),
    what: describeEntry(e),
  };
}
