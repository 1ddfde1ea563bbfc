// How the Log Storage API reports failure: SatpError codes to HTTP statuses, as RFC 9457 problems
// that also carry the recovery-04 §3.4.1 reply member `"success": false`.
import { type ErrorCode, isSatpError } from '../kernel/errors.ts';
import { type ProblemDetails, problemResponse, STATUS_TITLES } from '../http/problem.ts';

/** Codes of the HTTP layer itself, beside the SatpError codes: who is calling, and may they. */
export type HttpProblemCode = 'UNAUTHENTICATED' | 'FORBIDDEN';
export type LogApiProblemCode = ErrorCode | HttpProblemCode;

/**
 * The status of each code (docs/log-storage-api.md, "Error codes"). recovery-04 §3.4.1 asks only
 * for 200 on success and 5xx on failure; client mistakes get 4xx so a client knows not to retry.
 * BAD_HASH and BAD_SIGNATURE are 422: the body parsed and has the right shape, its content does
 * not verify. STORAGE_FAILURE and STORE_CLOSED are 503: the outcome of a write is unknown and a
 * retry later (after reading the head) is the remedy, which recovery-04 §3.4.1 anticipates.
 */
export const STATUS_OF_CODE: Readonly<Record<LogApiProblemCode, number>> = {
  INVALID_INPUT: 400,
  BAD_HASH: 422,
  BAD_SIGNATURE: 422,
  UNKNOWN_AUTHOR: 403,
  CHAIN_CONFLICT: 409,
  LOG_DIVERGED: 409,
  NOT_FOUND: 404,
  STORAGE_FAILURE: 503,
  STORE_CLOSED: 503,
  // Codes of the transports and ledgers never arise in this API; mapped for completeness, as the
  // failures they name (unreachable or refusing peer, reused operation id) would be.
  PEER_UNAVAILABLE: 503,
  PEER_REFUSED: 403,
  TRANSPORT_CLOSED: 503,
  OP_CONFLICT: 409,
  LEDGER_UNAVAILABLE: 503,
  // A store driver's fencing refusal (storage/postgres.ts); a fenced writer must not retry, like a stale head.
  FENCED: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
};

/** Default base of problem `type` URIs; the code, lowercased with dashes, is appended. */
export const DEFAULT_PROBLEM_TYPE_BASE = 'urn:satp-recovery:problem:';

export const problemTypeOf = (code: LogApiProblemCode, base = DEFAULT_PROBLEM_TYPE_BASE): string =>
  `${base}${code.toLowerCase().replaceAll('_', '-')}`;

export interface LogApiProblemInput {
  code: LogApiProblemCode;
  detail: string;
  /** Overrides the code's status, e.g. 413 for an oversize body (INVALID_INPUT) or 500 for a bug. */
  status?: number;
  /** Extension members, e.g. `head` on CHAIN_CONFLICT. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
  typeBase?: string;
}

/** The problem object of a failed Log Storage API call. */
export function logApiProblem(input: LogApiProblemInput): ProblemDetails {
  const status = input.status ?? STATUS_OF_CODE[input.code];
  return {
    success: false,
    type: problemTypeOf(input.code, input.typeBase),
    title: STATUS_TITLES[status] ?? 'Error',
    status,
    detail: input.detail,
    code: input.code,
    ...input.extra,
  };
}

export const logApiProblemResponse = (input: LogApiProblemInput): Response =>
  problemResponse(logApiProblem(input), input.headers);

/**
 * Any thrown value as a problem: a SatpError by its code, anything else as 500 STORAGE_FAILURE
 * (a bug or an unexpected backend error: the outcome of a write is unknown).
 */
export function problemOfError(err: unknown, typeBase?: string): LogApiProblemInput {
  if (isSatpError(err)) {
    const extra = err.code === 'LOG_DIVERGED' && err.detail ? { divergence: err.detail } : undefined;
    return { code: err.code, detail: err.message, typeBase, ...(extra ? { extra } : {}) };
  }
  return {
    code: 'STORAGE_FAILURE',
    status: 500,
    detail: 'internal error; the operation may or may not have happened',
    typeBase,
  };
}
