// The limits measured in part 1, as numbers the later parts compute their bounds from.

export interface Limits {
  /** WebCrypto ES256 (the gateway's default signer and verifier), one at a time and with 32 in flight. */
  signSeq: number;
  sign32: number;
  verifySeq: number;
  verify32: number;
  /** A durable LevelDB write: single synced puts per second, and entries per second in synced batches of 64. */
  levelSync1: number;
  levelSync64: number;
  /** One WebSocket round trip on loopback (ms), and echoes per second with 32 in flight. */
  wsRttMs: number;
  wsEcho32: number;
}

/** The limits the scenarios need, filled in by part 1 (run.ts passes them on). */
export const emptyLimits = (): Partial<Limits> => ({});

export function need(l: Partial<Limits>): Limits {
  for (const k of [
    'signSeq',
    'sign32',
    'verifySeq',
    'verify32',
    'levelSync1',
    'levelSync64',
    'wsRttMs',
    'wsEcho32',
  ] as const) {
    if (!(typeof l[k] === 'number' && l[k]! > 0)) throw new TypeError(`limit ${k} was not measured`);
  }
  return l as Limits;
}
