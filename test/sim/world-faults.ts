// Crashes and the completion of queued I/O: what survives a crash is decided here, from the seed.
import { SatpError } from '../../kernel/errors.ts';
import { describeAppend, type PendingAppend, type Work } from './io.ts';
import { isRecoveryType } from './network.ts';
import { nodeOf, other, type NodeName } from './names.ts';
import type { World } from './world.ts';

const appendLabel = (w: PendingAppend): string => {
  const d = describeAppend(w.texts);
  return `${w.logId.split('/')[0]} seq ${w.expected.seq + 1}..${w.next.seq} [${d.map((e) => `${e.step}:${e.operation} ${e.payload}`).join(' | ')}]`;
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
  return pending.some((w) => w.kind === 'append' && describeAppend(w.texts).some((e) => e.payload.startsWith('recovery-')));
}

/**
 * Crashes gateway `n`: the incarnation is closed and discarded with its timers. Of its I/O in
 * flight, `decide(w)` says which appends landed and which ledger requests reached the ledger; the
 * rest is lost. A restart is scheduled at `restartAt` (none if undefined).
 */
export async function crashNode(world: World, n: NodeName, decide: (w: Work) => boolean, restartAt: number | undefined): Promise<void> {
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
  c.crashesTotal++;
  if (recovering) c.crashesDuringRecovery++;
  if (!world.isUp(other(n))) c.bothDown++;
  let kind = 'between-steps';
  const landed: Promise<void>[] = [];
  for (const w of pending) {
    world.work.splice(world.work.indexOf(w), 1);
    const lands = decide(w);
    if (w.kind === 'append') {
      kind = `append-${lands ? 'landed' : 'lost'}:${writePointKind(w)}`;
      world.log(n, lands ? 'append' : 'append-lost', () => `${lands ? 'landed as the process died' : 'lost with the process'}: ${appendLabel(w)}`);
      if (lands) landed.push(node.disk.append(w.logId, w.expected, w.texts, w.next));
    } else if (w.call === 'execute') {
      if (kind === 'between-steps') kind = 'ledger-call';
      if (lands) c.ledgerCallsLandedAfterCrash++;
      else c.ledgerCallsLostAtCrash++;
      world.log(n, lands ? 'ledger' : 'ledger-lost', `${w.op!.kind} ${w.opId} ${lands ? 'reaches the ledger after the crash' : 'never reaches the ledger'}`);
      if (lands) landed.push(w.ledger.execute(w.op!).then(() => undefined, () => undefined));
    }
  }
  c.crashes[kind] = (c.crashes[kind] ?? 0) + 1;
  world.log(n, 'crash', `gen ${inc.gen} (${kind}${recovering ? ', during recovery' : ''}${world.isUp(other(n)) ? '' : ', peer also down'})${restartAt !== undefined ? `, restart at t+${restartAt - world.clock.now}ms` : ''}`);
  await Promise.all(landed);
  if (restartAt !== undefined) world.clock.set('world', restartAt, () => world.up(n, true));
}

/**
 * Runs one queued I/O to completion. `ledgerFault` makes a ledger execute fail as unavailable,
 * either before the ledger saw it or after it applied it (the caller cannot tell which).
 */
export async function runWork(world: World, w: Work, ledgerFault?: 'before' | 'after'): Promise<void> {
  world.work.splice(world.work.indexOf(w), 1);
  const n = nodeOf(w.inc.node);
  if (w.kind === 'append') {
    try {
      await world.nodes[n].disk.append(w.logId, w.expected, w.texts, w.next);
    } catch (err) {
      world.log(n, 'note', `append refused by the disk: ${String(err)}`);
      w.reject(err);
      return;
    }
    world.log(n, 'append', () => appendLabel(w));
    w.resolve();
    return;
  }
  if (w.call === 'status') {
    const r = await w.ledger.status(w.opId);
    world.log(n, 'query', `${w.ledger.id} status ${w.opId}: ${r ? (r.ok ? 'applied' : `refused ${r.error?.code}`) : 'unknown'}`);
    w.resolve(r);
    return;
  }
  if (ledgerFault === 'before') {
    world.counts.ledgerErrors++;
    world.log(n, 'ledger-error', `${w.op!.kind} ${w.opId}: unavailable, not applied`);
    w.reject(new SatpError('LEDGER_UNAVAILABLE', 'simulated ledger outage'));
    return;
  }
  try {
    const r = await w.ledger.execute(w.op!);
    world.log(n, 'ledger', `${w.ledger.id} ${w.op!.kind} ${w.op!.assetId} (${w.opId}): ${r.ok ? 'applied' : `refused ${r.error?.code}`}`);
    world.onLedgerApplied?.(n, w.op!.kind, r.ok);
    if (ledgerFault === 'after') {
      world.counts.ledgerErrors++;
      world.log(n, 'ledger-error', `${w.op!.kind} ${w.opId}: applied, but the answer is lost`);
      w.reject(new SatpError('LEDGER_UNAVAILABLE', 'simulated ledger outage after the op'));
      return;
    }
    w.resolve(r);
  } catch (err) {
    world.log(n, 'ledger-error', `${w.opId}: ${String(err)}`);
    w.reject(err);
  }
}
