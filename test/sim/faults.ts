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
}

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
  };
}

/** Adds `b` into `a`. */
export function addCounts(a: FaultCounts, b: FaultCounts): FaultCounts {
  for (const [k, v] of Object.entries(b) as [keyof FaultCounts, unknown][]) {
    if (typeof v === 'number') (a[k] as number) += v;
  }
  for (const [k, v] of Object.entries(b.crashes)) a.crashes[k] = (a.crashes[k] ?? 0) + v;
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
    `crashes ${c.crashesTotal}: ${Object.entries(crashKinds(c)).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  by write point: ${Object.entries(c.crashes).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `ledger calls in flight at a crash: landed ${c.ledgerCallsLandedAfterCrash}, lost ${c.ledgerCallsLostAtCrash}; ledger errors ${c.ledgerErrors}`,
    `messages: drops ${c.drops}, lost to a down receiver ${c.dropsReceiverDown}, duplicates ${c.duplicates}, reorders ${c.reorders}, delays ${c.delays}`,
    `clock jumps ${c.clockJumps}, deadline rollbacks ${c.deadlineRollbacks}, aborts ${c.aborts}`,
    `recoveries ${c.recoveries}, crashes during recovery ${c.crashesDuringRecovery}, both down ${c.bothDown}, recovery messages ${c.recoveryMessages}, disputes ${c.disputes}`,
    `outcomes: committed ${c.outcomes.committed}, rolled-back ${c.outcomes['rolled-back']}, rejected ${c.outcomes.rejected}, not started ${c.outcomes['not-started']}`,
  ];
  return lines.join('\n');
}
