// The switchable fault classes (clocks, storage, ledgers, a misbehaving peer) and the `--faults` / SATP_SIM_FAULTS
// selection of them.
//
// Each seed turns each enabled class on or off by itself (swarm testing, plan.ts), so some seeds see
// only skewed clocks, some only storage faults, some several. The classes named here can be switched
// off for debugging; crashes and network faults are always on.

export const FAULT_CLASSES = {
  /** Each node's clock starts off by up to ±30 s. */
  'clock-offset': 'clocks',
  /** Each node's clock runs fast or slow by up to ±1,000 ppm. */
  'clock-drift': 'clocks',
  /** One node's clock jumps forward or back by 0.5–60 s. */
  'clock-jump': 'clocks',
  /** An append fails (STORAGE_FAILURE) after its entries landed on the disk. */
  'storage-fail-landed': 'storage',
  /** An append fails (STORAGE_FAILURE) without landing. */
  'storage-fail-lost': 'storage',
  /** head, read or openLogs fail (STORAGE_FAILURE). */
  'storage-read': 'storage',
  /** A gateway's store refuses every call for a while. */
  'storage-outage': 'storage',
  /** An append waits much longer than usual before it can complete. */
  'storage-slow': 'storage',
  /** A ledger execute hangs, then fails as timed out, applied or not. */
  'ledger-timeout': 'ledger',
  /** A ledger read (status, asset) fails (LEDGER_UNAVAILABLE). */
  'ledger-read': 'ledger',
  /** A ledger refuses every call (LEDGER_UNAVAILABLE) for a while. */
  'ledger-outage': 'ledger',
  /** The misbehaving peer (liar.ts): claims whose receipt is unsigned, another op's, or bound to another expiry. */
  'peer-forged-claim': 'peer',
  /** Real transfer messages with a wrong hashPrevMessage. */
  'peer-wrong-prev': 'peer',
  /** Messages naming a session, from a third gateway both know. */
  'peer-third-gateway': 'peer',
  /** Messages of one session re-addressed to another. */
  'peer-cross-session': 'peer',
  /** Old genuine envelopes sent again. */
  'peer-stale-replay': 'peer',
  /** RECOVER-SUCCESS, RECOVER-UPDATE-ACK, RECOVER-DISPUTE that answer nothing. */
  'peer-unbound-recovery': 'peer',
  /** RECOVER-UPDATEs for the pending RECOVER whose entries do not verify. */
  'peer-bad-update': 'peer',
  /** session-abort or ROLLBACK without evidence after the point of no return. */
  'peer-late-abort': 'peer',
} as const;

export type FaultClass = keyof typeof FAULT_CLASSES;
export type FaultGroup = (typeof FAULT_CLASSES)[FaultClass];
export type FaultSet = ReadonlySet<FaultClass>;

const ALL = Object.keys(FAULT_CLASSES) as FaultClass[];
const GROUPS: Record<string, FaultGroup> = {
  clock: 'clocks',
  clocks: 'clocks',
  storage: 'storage',
  ledger: 'ledger',
  ledgers: 'ledger',
  peer: 'peer',
  liar: 'peer',
};

/**
 * Parses a selection: `all` (the default), `none`, or a comma-separated list of groups (`clocks`, `storage`,
 * `ledger`) and classes (`clock-jump`, `storage-read`, ...). A leading `-` removes: `all,-storage-slow`.
 */
export function parseFaults(spec: string | undefined): FaultSet {
  const out = new Set<FaultClass>();
  const text = spec?.trim() || 'all';
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const remove = raw.startsWith('-');
    const name = remove ? raw.slice(1) : raw;
    const group = GROUPS[name];
    const inGroup = (c: FaultClass) => (group ? FAULT_CLASSES[c] === group : c === name);
    const picked = name === 'all' ? ALL : name === 'none' ? [] : ALL.filter(inGroup);
    if (name !== 'none' && picked.length === 0) {
      throw new RangeError(`unknown fault class ${name}; one of all, none, clocks, storage, ledger, ${ALL.join(', ')}`);
    }
    for (const c of picked) {
      if (remove) out.delete(c);
      else out.add(c);
    }
  }
  return out;
}

/** The selection in force: SATP_SIM_FAULTS, or all classes. */
export const faultsFromEnv = (): FaultSet => parseFaults(process.env.SATP_SIM_FAULTS);

export const formatFaults = (f: FaultSet): string =>
  f.size === ALL.length ? 'all' : f.size === 0 ? 'none' : ALL.filter((c) => f.has(c)).join(',');
