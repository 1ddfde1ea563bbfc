// RFC 9457 problem details: one generic helper for every HTTP surface, server and client side: the gateway app and
// its client, the Log Storage API and its client, and the refusals of the WebSocket servers' handshakes.
import { parseStrictJson } from '../kernel/strict-json.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * An RFC 9457 §3 problem object. `type` identifies the problem kind (a URI; RFC 9457 §3.1.1),
 * `title` is its short human summary, `status` repeats the HTTP status, `detail` explains this
 * occurrence. Extension members (RFC 9457 §3.2) sit beside them, e.g. a stable `code`.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Short titles for the statuses our surfaces answer with (RFC 9110 §15 reason phrases). */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The Response carrying `problem`, with the problem+json media type (RFC 9457 §3). */
export function problemResponse(problem: ProblemDetails, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  });
}

/** True if `value` has the members RFC 9457 requires us to send (type, title, status). */
export function isProblem(value: unknown): value is ProblemDetails {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && typeof v.title === 'string' && typeof v.status === 'number';
}

/**
 * Reads a reply body as a problem object, for clients. Untrusted text, so it goes through the strict
 * parser and is bounded; anything that is not a problem object gives undefined, never a throw.
 */
export async function readProblem(res: Response, maxChars = 64 * 1024): Promise<ProblemDetails | undefined> {
  try {
    const text = await res.text();
    if (text.length > maxChars) return undefined;
    const parsed = parseStrictJson(text);
    return parsed.ok && isProblem(parsed.value) ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}
