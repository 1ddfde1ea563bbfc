// RFC 9457 problem details for the ledger's HTTP surface: which SatpError code becomes which status.
import { type ErrorCode, isSatpError } from '../kernel/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_PREFIX = 'urn:satp-recovery:problem:';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

const BY_CODE: Partial<Record<ErrorCode, [status: number, slug: string, title: string]>> = {
  INVALID_INPUT: [400, 'invalid-input', 'Invalid input'],
  OP_CONFLICT: [409, 'op-conflict', 'Operation id reused with different parameters'],
  NOT_FOUND: [404, 'not-found', 'Not found'],
  STORE_CLOSED: [503, 'unavailable', 'Ledger unavailable'],
  LEDGER_UNAVAILABLE: [503, 'unavailable', 'Ledger unavailable'],
  STORAGE_FAILURE: [500, 'storage-failure', 'Ledger storage failed'],
};

export function problemResponse(status: number, slug: string, title: string, detail: string): Response {
  const body: Problem = { type: PROBLEM_TYPE_PREFIX + slug, title, status, detail };
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
}

/** The problem for a thrown error. Errors that are not SatpErrors are bugs: their text is not sent out. */
export function problemFor(err: unknown): Response {
  const mapped = isSatpError(err) ? BY_CODE[err.code] : undefined;
  if (isSatpError(err) && mapped) return problemResponse(mapped[0], mapped[1], mapped[2], err.message);
  return problemResponse(500, 'internal', 'Internal error', 'the ledger failed unexpectedly');
}
