// After the demo's gateways have exited: reopen both LevelDBs, verify the chains, print one timeline of both
// logs with the crash and restart moments, the final balances, and the checks that must hold.
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { keyTable } from '../../kernel/crypto/types.ts';
import { type LogEntry, logIdOf } from '../../kernel/entry.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { describeEntry } from '../../cli/gateway-events.ts';
import type { Member, Role } from '../gateway-pair.ts';
import type { DemoLedger } from './ledgers.ts';
import { messageName } from './narrate.ts';

export interface DemoResult {
  sessionId: string;
  assetId: string;
  originator: string;
  beneficiary: string;
  expected: 'committed' | 'rolled-back';
  /** The restarted origin still held the session open: it had to recover it (false: it had ended before the crash). */
  recovered: boolean;
  members: Record<Role, Member>;
  ledgers: Record<Role, DemoLedger>;
}

const short = (h: string) => `${h.slice(0, 10)}…`;
const out = (line = '') => console.log(line);

async function readChain(m: Member, author: Member, keys: ReturnType<typeof keyTable>, sessionId: string) {
  const store = new LogStore(await LevelDriver.open(m.db), { keys, verifier: defaultVerifier() });
  try {
    return await store.verifyLog(logIdOf(sessionId, author.id));
  } finally {
    await store.close();
  }
}

/** Prints the timeline, balances and checks; true when every check holds. */
export async function printReport(r: DemoResult): Promise<boolean> {
  const { origin, destination } = r.members;
  const keys = keyTable({ [origin.id]: origin.publicJwk, [destination.id]: destination.publicJwk });
  const checks: [boolean, string][] = [];
  const chains: Partial<Record<Role, LogEntry[]>> = {};
  for (const m of [origin, destination]) {
    const v = await readChain(m, m, keys, r.sessionId);
    checks.push([
      v.ok && v.entries.length > 0,
      v.ok
        ? `${m.id}'s chain: ${v.entries.length} entries; every hash link and every ES256 signature verifies`
        : `${m.id}'s chain does NOT verify at entry ${v.index}: ${v.reason} ${v.detail}`,
    ]);
    if (v.ok) chains[m.role] = v.entries;
  }
  // The origin's copy of the destination's chain (what RECOVER-UPDATE brought) must be a prefix of it.
  const copy = await readChain(origin, destination, keys, r.sessionId);
  if (copy.ok && copy.entries.length > 0) {
    const prefix = copy.entries.every((e, i) => chains.destination?.[i]?.entryHash === e.entryHash);
    checks.push([
      prefix,
      `${origin.id} holds a verified copy of ${destination.id}'s chain up to seq ${copy.entries.length}, ` +
        'identical to the original',
    ]);
  }

  // One timeline: both chains, plus the moments a process died or came back.
  type Row = { t: number; text: string };
  const timeline: Row[] = [];
  for (const e of [...(chains.origin ?? []), ...(chains.destination ?? [])]) {
    const rm = e.recoveryMessage ? messageName(e.recoveryMessage) : '';
    timeline.push({
      t: e.timestamp,
      text:
        `${e.author.padEnd(15)} ${String(e.seqNumber).padStart(3)}  ${e.step.padEnd(8)} ${e.operation.padEnd(4)}  ` +
        `${rm.padEnd(18)} ${short(e.entryHash)}  ${describeEntry(e)}`,
    });
  }
  for (const m of [origin, destination]) {
    let life = 0;
    for (const e of m.history) {
      if (e.event === 'crash' || e.event === 'killed')
        timeline.push({ t: e.t, text: `── ${m.id}: SIGKILL ${e.event === 'crash' ? String(e.where) : ''} ──` });
      if (e.event === 'listening' && ++life > 1)
        timeline.push({ t: e.t, text: `── ${m.id}: restarted on the same LevelDB and key ──` });
    }
  }
  timeline.sort((a, b) => a.t - b.t);
  const t0 = timeline[0]?.t ?? 0;
  out(`\nTimeline of both logs (recovery-04 §4 entries; each author signs its own chain)`);
  out(
    `  ${'time'.padStart(8)}  ${'author'.padEnd(15)} seq  step     op    recovery message   hash         what happened`,
  );
  for (const row of timeline) out(`  ${`+${((row.t - t0) / 1000).toFixed(3)}s`.padStart(8)}  ${row.text}`);

  // Balances, straight from the two ledgers.
  out('\nFinal balances');
  const live: string[] = [];
  for (const l of [r.ledgers.origin, r.ledgers.destination]) {
    for (const a of await l.assets()) {
      out(`  ${l.id}  ${a.assetId}  owner ${a.owner.padEnd(16)} ${a.state}`);
      if (a.assetId === r.assetId && a.state !== 'burned') live.push(`${l.id}:${a.owner}`);
    }
  }
  const want =
    r.expected === 'committed'
      ? `${r.ledgers.destination.id}:${r.beneficiary}`
      : `${r.ledgers.origin.id}:${r.originator}`;
  checks.push([
    live.length === 1 && live[0] === want,
    `${r.assetId} exists on exactly one ledger: ${live.join(', ') || 'none'} (expected ${want})`,
  ]);

  const outcomeOf = (c?: LogEntry[]) =>
    c?.at(-1)?.step === 'end' ? (c.at(-1)!.payload as { outcome?: string }).outcome : 'not ended';
  const [oo, od] = [outcomeOf(chains.origin), outcomeOf(chains.destination)];
  checks.push([
    oo === r.expected && od === r.expected,
    `both gateways ended ${r.expected}: ${origin.id} ${oo}, ${destination.id} ${od}`,
  ]);

  // recovery-04 §5.1, §5.3: the four recovery messages went out in order, each from the right side. Each
  // sender logs its message while the session is open; a side whose session has already ended answers
  // without logging, so the last of them can be missing from the logs (the event lines show every send).
  const flow: [Member, string][] = [
    [origin, 'recover-msg'],
    [destination, 'recover-update-msg'],
    [origin, 'recover-update-ack-msg'],
    [destination, 'recover-success-msg'],
  ];
  const sent = [...origin.history, ...destination.history]
    .filter((e) => e.event === 'send' && e.ok === true && e.session === r.sessionId)
    .sort((a, b) => a.t - b.t);
  let at = 0;
  for (const e of sent) if (at < flow.length && e.gw === flow[at]![0].id && e.type === flow[at]![1]) at++;
  const loggedBy = (m: Member, type: string) =>
    (chains[m.role] ?? []).some((e) => e.operation === 'exec' && e.recoveryMessage === type);
  const logged = flow.filter(([m, type]) => loggedBy(m, type)).map(([, type]) => messageName(type));
  const unlogged = flow.filter(([m, type]) => !loggedBy(m, type)).map(([m, type]) => `${messageName(type)} by ${m.id}`);
  if (r.recovered) {
    const note = unlogged.length
      ? `; sent unlogged, by a side with no open session (ended, or never heard of it): ${unlogged.join(', ')}`
      : '';
    checks.push([
      at === flow.length && loggedBy(origin, 'recover-msg'),
      'recovery exchange RECOVER → RECOVER-UPDATE → RECOVER-UPDATE-ACK → RECOVER-SUCCESS sent in order; ' +
        `logged by their senders: ${logged.join(', ')}${note}`,
    ]);
  } else {
    // The crash came after the origin's end entry was durable: nothing to recover. The destination's resent
    // message was answered from the origin's log (a duplicate gets the logged answer, docs/decisions.md).
    checks.push([
      at === 0,
      `no RECOVER needed: ${origin.id}'s session had ended before the crash; ` +
        `${destination.id}'s resent message was answered from ${origin.id}'s log`,
    ]);
  }
  if (r.expected === 'rolled-back') {
    const evidence = (chains.destination ?? []).some(
      (e) => e.step === 'deadline' && (e.payload as { burned?: boolean }).burned === false,
    );
    checks.push([
      evidence,
      `${destination.id} asked ${r.ledgers.origin.id} past its deadline; ` +
        "its attestation (signed, or read on the chain) showed the lock lapsed by the ledger's own clock " +
        'with no burn, ' +
        'so it rolled back (recovery-04 §5.4.3)',
    ]);
  }

  out('\nChecks');
  for (const [ok, text] of checks) out(`  ${ok ? '✓' : '✗'} ${text}`);
  return checks.every(([ok]) => ok);
}
