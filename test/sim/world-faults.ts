// Crashes and the completion of queued I/O: what survives a crash, and how a queued call fails, is decided here.
import { SatpError } from '../../kernel/errors.ts';
import type { LedgerReceipt } from '../../kernel/ledger.ts';
import { ledgerTimeout, ledgerUnavailable, storageFailure } from './hazards.ts';
import { callLedger, describeAppend, LEDGER_CALLS, ledgerCallLabel } from './io.ts';
import type { PendingAppend, PendingLedgerCall, Work } from './io.ts';
import { isRecoveryType } from './network.ts';
import { nodeOf, other, type NodeName } from './names.ts';
import type { World } from './world.ts';

/**
 * A fault the scheduler puts on one queued call as it runs it. Ledger calls: `before` fails it before the
 * ledger saw it, `after` once the ledger applied it with the answer lost. Appends: `fail-landed` and
 * `fail-lost` reject with STORAGE_FAILURE after the entries landed on the disk, or without landing.
 */
export type WorkFault = 'before' | 'after' | 'fail-landed' | 'fail-lost';

const appendLabel = (w: PendingAppend): string => {
  const d = describeAppend(w.texts);
  return (
    `${w.logId.split('/')[0]} seq ${w.expected.seq + 1}..${w.next.seq} ` +
    `[${d.map((e) => `${e.step}:${e.operation} ${e.payload}`).join(' | ')}]`
  );
};

/** The kind of write point an append is, for the crash counts: what its first and last entries record. */
function writePointKind(w: PendingAppend): string {
  const d = describeAppend(w.texts);
  const first = d[0]!.payload.split(' ')[0]!;
  const last = d.at(-1)!.payload.split(' ')[0]!;
  return first === last ? first : `${first}→${last}`;
}

/** Whether a crash of `n` now falls inside a recovery (recovery-04 §5): see the report for the definition. */
function duringRecovery(world: World, n: NodeName, pending: Work[]): boolean {
  const node = world.nodes[n];
  if ([...node.recovering].some((sid) => world.openSessions(n).includes(sid))) return true;
  if (world.wire.queue.some((m) => isRecoveryType(m.type) && (m.from === node.id || m.to === node.id))) return true;
  return pending.some(
    (w) => w.kind === 'append' && describeAppend(w.texts).some((e) => e.payload.startsWith('recovery-')),
  );
}

/**
 * Crashes gateway `n`: the incarnation is closed and discarded with its timers. Of its I/O in
 * flight, `decide(w)` says which appends landed and which ledger requests reached the ledger; the
 * rest is lost. A restart is scheduled at `restartAt` (none if undefined). `why` names a crash that is
 * not a fault of the schedule (a supervisor restarting a process whose boot failed).
 */
export async function crashNode(
  world: World,
  n: NodeName,
  decide: (w: Work) => boolean,
  restartAt: number | undefined,
  why?: string,
): Promise<void> {
  const node = world.nodes[n];
  const inc = node.inc;
  if (!inc) return;
  const pending = world.work.filter((w) => w.inc === inc);
  const recovering = duringRecovery(world, n, pending);
  inc.alive = false;
  inc.gw.close();
  node.inc = undefined;
  world.clock.dropOwner(`${n}#${inc.gen}`);
  const c = world.counts;
  // A process that exits on its own (its boot failed) is no crash of the schedule: it is counted as what it is.
  if (!why) {
    c.crashesTotal++;
    if (recovering) c.crashesDuringRecovery++;
    if (!world.isUp(other(n))) c.bothDown++;
  }
  let kind = why ?? 'between-steps';
  const landed: Promise<void>[] = [];
  for (const w of pending) {
    world.work.splice(world.work.indexOf(w), 1);
    const lands = decide(w);
    if (w.kind === 'append') {
      // A store in an outage takes nothing in, whatever the process did.
      const reaches = lands && !world.hazards.storeDown(n, world.clock.now);
      if (!why) kind = `append-${reaches ? 'landed' : 'lost'}:${writePointKind(w)}`;
      const fate = reaches ? 'landed as the process died' : 'lost with the process';
      world.log(n, reaches ? 'append' : 'append-lost', () => `${fate}: ${appendLabel(w)}`);
      if (reaches) landed.push(node.disk.append(w.logId, w.expected, w.texts, w.next).then(() => world.landed(n, w)));
    } else if (LEDGER_CALLS[w.call].mutates) {
      if (kind === 'between-steps') kind = 'ledger-call';
      if (w.timedOut) {
        // A hung call already reached the ledger or never will: the crash changes nothing.
        const applied = w.timedOut.applied;
        const fate = `hung call dies with the process (${applied ? 'applied' : 'not applied'})`;
        world.log(n, applied ? 'ledger' : 'ledger-lost', `${ledgerCallLabel(w)}: ${fate}`);
        continue;
      }
      const reaches = lands && !world.hazards.ledgerDown(w.ledger.id, world.clock.now);
      if (!why) {
        if (reaches) c.ledgerCallsLandedAfterCrash++;
        else c.ledgerCallsLostAtCrash++;
      }
      const fate = reaches ? 'reaches the ledger after the crash' : 'never reaches the ledger';
      world.log(n, reaches ? 'ledger' : 'ledger-lost', `${ledgerCallLabel(w)} ${fate}`);
      if (reaches)
        landed.push(
          callLedger(w).then(
            () => undefined,
            () => undefined,
          ),
        );
    }
  }
  if (!why) c.crashes[kind] = (c.crashes[kind] ?? 0) + 1;
  world.log(
    n,
    'crash',
    `gen ${inc.gen} (${kind}${recovering ? ', during recovery' : ''}` +
      `${world.isUp(other(n)) ? '' : ', peer also down'})` +
      `${restartAt !== undefined ? `, restart at t+${restartAt - world.clock.now}ms` : ''}`,
  );
  await Promise.all(landed);
  if (restartAt !== undefined) world.clock.set('world', restartAt, () => world.up(n, true));
}

/** Runs one queued I/O to completion, or fails it as `fault` (or an outage, or a decided timeout) says. */
export async function runWork(world: World, w: Work, fault?: WorkFault): Promise<void> {
  world.work.splice(world.work.indexOf(w), 1);
  if (w.kind === 'append') return runAppend(world, w, fault);
  return runLedgerCall(world, w, fault);
}

async function runAppend(world: World, w: PendingAppend, fault?: WorkFault): Promise<void> {
  const n = nodeOf(w.inc.node);
  const c = world.counts;
  if (world.hazards.storeDown(n, world.clock.now)) {
    c.storeOutageRefusals++;
    world.log(n, 'store-error', () => `append refused, the store is unavailable: ${appendLabel(w)}`);
    w.reject(storageFailure('append: store unavailable'));
    return;
  }
  if (fault === 'fail-lost') {
    c.appendFailedLost++;
    world.log(n, 'store-error', () => `append fails (STORAGE_FAILURE), not landed: ${appendLabel(w)}`);
    w.reject(storageFailure('append failed'));
    return;
  }
  try {
    await world.nodes[n].disk.append(w.logId, w.expected, w.texts, w.next);
  } catch (err) {
    world.log(n, 'note', `append refused by the disk: ${String(err)}`);
    w.reject(err);
    return;
  }
  world.landed(n, w);
  if (fault === 'fail-landed') {
    c.appendFailedLanded++;
    world.log(n, 'store-error', () => `append fails (STORAGE_FAILURE) after it landed: ${appendLabel(w)}`);
    w.reject(storageFailure('append failed; its outcome is unknown'));
    return;
  }
  world.log(n, 'append', () => appendLabel(w));
  w.resolve();
}

async function runLedgerCall(world: World, w: PendingLedgerCall, fault?: WorkFault): Promise<void> {
  const n = nodeOf(w.inc.node);
  const c = world.counts;
  const spec = LEDGER_CALLS[w.call];
  const label = ledgerCallLabel(w);
  if (w.timedOut) {
    const applied = w.timedOut.applied ? 'applied' : 'not applied';
    world.log(n, 'ledger-error', `${label}: timed out after ${w.timedOut.ms} ms (${applied} by the ledger)`);
    w.reject(ledgerTimeout(w.ledger.id, w.call, w.timedOut.ms));
    return;
  }
  if (world.hazards.ledgerDown(w.ledger.id, world.clock.now)) {
    c.ledgerOutageRefusals++;
    world.log(n, 'ledger-error', `${label}: refused, ${w.ledger.id} is down`);
    w.reject(ledgerUnavailable(`ledger ${w.ledger.id} is down`));
    return;
  }
  if (fault === 'before') {
    if (spec.mutates) c.ledgerErrors++;
    else c.ledgerReadFailures++;
    world.log(n, 'ledger-error', `${label}: unavailable${spec.mutates ? ', not applied' : ''}`);
    w.reject(new SatpError('LEDGER_UNAVAILABLE', 'simulated ledger outage'));
    return;
  }
  try {
    const r = await callLedger(w);
    // Logged as the ledger's act, at the ledger's own time (it decides lock expiry by its clock).
    world.log(w.ledger.id, spec.mutates ? 'ledger' : 'query', `${label} for ${n}: ${spec.answer(r)}`);
    if (w.op) world.onLedgerApplied?.(n, w.op.kind, (r as LedgerReceipt).ok);
    if (fault === 'after') {
      c.ledgerErrors++;
      world.log(n, 'ledger-error', `${label}: applied, but the answer is lost`);
      w.reject(new SatpError('LEDGER_UNAVAILABLE', 'simulated ledger outage after the op'));
      return;
    }
    w.resolve(r);
  } catch (err) {
    world.log(n, 'ledger-error', `${label}: ${String(err)}`);
    w.reject(err);
  }
}
