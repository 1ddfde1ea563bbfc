// What a schedule injected and what came of it: the counts every run prints and the test asserts are all > 0.

export interface FaultCounts {
  schedules: number;
  transfers: number;
  /** Crashes by write point kind: `append-landed:<entry>`, `append-lost:<entry>`, `ledger-call`, `between-steps`. */
  crashes: Record<string, number>;
  crashesTotal: number;
  drops: number;
  /** Deliveries that found the receiver down (lost with the connection). */
  dropsReceiverDown: number;
  duplicates: number;
  /** Deliveries that overtook a message sent earlier on the same link. */
  reorders: number;
  delays: number;
  clockJumps: number;
  /** Sessions that ended rolled back because a deadline (the lock expiry) passed. */
  deadlineRollbacks: number;
  /** Ledger calls in flight at a crash that still reached the ledger, and those that did not. */
  ledgerCallsLandedAfterCrash: number;
  ledgerCallsLostAtCrash: number;
  ledgerErrors: number;
  aborts: number;
  /** Boots that found unfinished sessions. */
  recoveries: number;
  crashesDuringRecovery: number;
  bothDown: number;
  recoveryMessages: number;
  disputes: number;
  outcomes: { committed: number; 'rolled-back': number; rejected: number; 'not-started': number };
  /** Seeds that turned each switchable class on (swarm testing), by class name. */
  classes: Record<string, number>;
  /** Nodes (gateways and ledgers) whose clock started off by a non-zero offset, and that ran fast or slow. */
  clockOffsets: number;
  clockDrifts: number;
  /** Jumps of one node's clock, forward and back. */
  nodeClockJumpsForward: number;
  nodeClockJumpsBack: number;
  /** Appends that failed (STORAGE_FAILURE) with the gateway up: after landing, and without landing. */
  appendFailedLanded: number;
  appendFailedLost: number;
  /** Store reads (head, read, openLogs) that failed outside an outage. */
  readFailures: number;
  /** Windows during which a store refused every call, and the calls it refused. */
  storeOutages: number;
  storeOutageRefusals: number;
  slowSyncs: number;
  /** boot() rejected: the process exits and its supervisor restarts it. */
  bootFailures: number;
  /** startTransfer, receive or abort rejected instead of answering (the message or command is lost). */
  driverRejections: number;
  /** Ledger executes that hung and timed out: applied before the timeout, and not applied. */
  ledgerTimeoutsApplied: number;
  ledgerTimeoutsNotApplied: number;
  /** Ledger reads (status, asset) that failed. */
  ledgerReadFailures: number;
  /** Windows during which a ledger refused every call, and the calls it refused. */
  ledgerOutages: number;
  ledgerOutageRefusals: number;
  /**
   * Largest over runs (not summed): the longest chain any gateway wrote, the most steps a run took, and the
   * most steps in a row after faults stopped in which no entry landed while the world was not quiet.
   */
  maxChainEntries: number;
  maxSteps: number;
  /** Messages the misbehaving peer put on the wire, by kind of forgery (liar.ts). */
  forgeries: Record<string, number>;
  maxIdleSteps: number;
  /** The same stretch in world time (ms). */
  maxIdleMs: number;
}

/** Counts merged by taking the larger, not the sum. */
const MAX_FIELDS: ReadonlySet<string> = new Set(['maxChainEntries', 'maxSteps', 'maxIdleSteps', 'maxIdleMs']);

export function emptyCounts(): FaultCounts {
  return {
    schedules: 0,
    transfers: 0,
    crashes: {},
    crashesTotal: 0,
    drops: 0,
    dropsReceiverDown: 0,
    duplicates: 0,
    reorders: 0,
    delays: 0,
    clockJumps: 0,
    deadlineRollbacks: 0,
    ledgerCallsLandedAfterCrash: 0,
    ledgerCallsLostAtCrash: 0,
    ledgerErrors: 0,
    aborts: 0,
    recoveries: 0,
    crashesDuringRecovery: 0,
    bothDown: 0,
    recoveryMessages: 0,
    disputes: 0,
    outcomes: { committed: 0, 'rolled-back': 0, rejected: 0, 'not-started': 0 },
    classes: {},
    clockOffsets: 0,
    clockDrifts: 0,
    nodeClockJumpsForward: 0,
    nodeClockJumpsBack: 0,
    appendFailedLanded: 0,
    appendFailedLost: 0,
    readFailures: 0,
    storeOutages: 0,
    storeOutageRefusals: 0,
    slowSyncs: 0,
    bootFailures: 0,
    driverRejections: 0,
    ledgerTimeoutsApplied: 0,
    ledgerTimeoutsNotApplied: 0,
    ledgerReadFailures: 0,
    ledgerOutages: 0,
    ledgerOutageRefusals: 0,
    maxChainEntries: 0,
    maxSteps: 0,
    forgeries: {},
    maxIdleSteps: 0,
    maxIdleMs: 0,
  };
}

/** Adds `b` into `a`. */
export function addCounts(a: FaultCounts, b: FaultCounts): FaultCounts {
  for (const [k, v] of Object.entries(b) as [keyof FaultCounts, unknown][]) {
    if (typeof v !== 'number') continue;
    if (MAX_FIELDS.has(k)) (a[k] as number) = Math.max(a[k] as number, v);
    else (a[k] as number) += v;
  }
  for (const [k, v] of Object.entries(b.crashes)) a.crashes[k] = (a.crashes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.classes)) a.classes[k] = (a.classes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.forgeries)) a.forgeries[k] = (a.forgeries[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.outcomes) as [keyof FaultCounts['outcomes'], number][]) a.outcomes[k] += v;
  return a;
}

/** The crash kinds grouped coarsely: what kind of write point the crash hit. */
export function crashKinds(c: FaultCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.crashes)) {
    const kind = k.split(':')[0]!;
    out[kind] = (out[kind] ?? 0) + v;
  }
  return out;
}

export function formatCounts(c: FaultCounts): string {
  const lines = [
    `schedules ${c.schedules}, transfers ${c.transfers}`,
    `crashes ${c.crashesTotal}: ${Object.entries(crashKinds(c))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `  by write point: ${Object.entries(c.crashes)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `ledger calls in flight at a crash: landed ${c.ledgerCallsLandedAfterCrash}, ` +
      `lost ${c.ledgerCallsLostAtCrash}; ledger errors ${c.ledgerErrors}`,
    `messages: drops ${c.drops}, lost to a down receiver ${c.dropsReceiverDown}, ` +
      `duplicates ${c.duplicates}, reorders ${c.reorders}, delays ${c.delays}`,
    `clock jumps ${c.clockJumps}, deadline rollbacks ${c.deadlineRollbacks}, aborts ${c.aborts}`,
    `recoveries ${c.recoveries}, crashes during recovery ${c.crashesDuringRecovery}, both down ${c.bothDown}, ` +
      `recovery messages ${c.recoveryMessages}, disputes ${c.disputes}`,
    `outcomes: committed ${c.outcomes.committed}, rolled-back ${c.outcomes['rolled-back']}, ` +
      `rejected ${c.outcomes.rejected}, not started ${c.outcomes['not-started']}`,
    `seeds per fault class: ${
      Object.entries(c.classes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `clocks: offset ${c.clockOffsets} node(s), drift ${c.clockDrifts} node(s), ` +
      `one node's clock jumped forward ${c.nodeClockJumpsForward}, back ${c.nodeClockJumpsBack}`,
    `storage: appends failed landed ${c.appendFailedLanded}, not landed ${c.appendFailedLost}; ` +
      `reads failed ${c.readFailures}; outages ${c.storeOutages} (refused ${c.storeOutageRefusals} calls); ` +
      `slow syncs ${c.slowSyncs}; boot failures ${c.bootFailures}; driver calls rejected ${c.driverRejections}`,
    `ledgers: timeouts applied ${c.ledgerTimeoutsApplied}, not applied ${c.ledgerTimeoutsNotApplied}; ` +
      `reads failed ${c.ledgerReadFailures}; outages ${c.ledgerOutages} (refused ${c.ledgerOutageRefusals} calls)`,
    `misbehaving peer: ${
      Object.entries(c.forgeries)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `bounds: longest chain ${c.maxChainEntries} entries, most steps ${c.maxSteps}, longest without progress ` +
      `after faults stopped ${c.maxIdleSteps} steps, ${Math.round(c.maxIdleMs / 1000)} simulated s`,
  ];
  return lines.join('\n');
}
