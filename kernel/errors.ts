// One error class with stable uppercase codes; codes are documented in docs/errors.md and never renamed.

export const ERROR_CODES = [
  'INVALID_INPUT', // the value is not of the expected shape (schema, size, type, forbidden key)
  'CHAIN_CONFLICT', // the entry does not extend the chain (wrong seqNumber or lastEntryHash)
  'BAD_HASH', // payloadHash or entryHash does not match the content
  'BAD_SIGNATURE', // the signature does not verify under the author's key
  'UNKNOWN_AUTHOR', // the author has no trusted key
  'LOG_DIVERGED', // two views of the same chain differ at the same seqNumber
  'NOT_FOUND', // the log or entry does not exist
  'STORE_CLOSED', // the store was used after close()
  'STORAGE_FAILURE', // the backend failed; the operation may or may not have happened
  // no live authenticated connection to the peer (or it is unreachable or its send buffer is full); a message may or
  // may not have arrived; later may succeed
  'PEER_UNAVAILABLE',
  // the peer (or the handshake) refused: unauthenticated, unknown, too large or invalid; the same attempt will fail
  // again
  'PEER_REFUSED',
  'TRANSPORT_CLOSED', // the transport was used after close()
  'OP_CONFLICT', // a ledger operation id was reused with different parameters; nothing changed
  // the ledger could not be reached or failed; the operation may or may not have happened: ask status(opId)
  'LEDGER_UNAVAILABLE',
  // a store refused an append by a writer whose fencing epoch is below the log's (a newer holder took over); nothing
  // changed; this writer must stop writing the log
  'FENCED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class SatpError extends Error {
  readonly code: ErrorCode;
  readonly detail?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SatpError';
    this.code = code;
    if (options?.detail) this.detail = options.detail;
  }
}

export function isSatpError(err: unknown, code?: ErrorCode): err is SatpError {
  return err instanceof SatpError && (code === undefined || err.code === code);
}

/** Exhaustiveness guard for discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
