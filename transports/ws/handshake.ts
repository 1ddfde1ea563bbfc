// The WebSocket handshake's wire formats and its client side: fetch a signed challenge, sign a proof, and
// carry it in Sec-WebSocket-Protocol (the one field a standard WebSocket client can set). docs/transports.md.
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { SatpError } from '../../kernel/errors.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import type { KeyResolver, PublicJwk, Signer, Verifier } from '../../kernel/crypto/types.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';

/** The subprotocol both sides agree on; the server selects it only after the proof checked out. */
export const WS_PROTOCOL = 'satp.v1';
/** Prefix of the offered subprotocol that carries the proof: `satp.auth.<base64url(JSON)>`. */
export const AUTH_PROTOCOL_PREFIX = 'satp.auth.';
/**
 * Domain separation: the identity key also signs log entries and messages (docs/transports.md, "Handshake"), so each
 * handshake signature names what it is for and cannot be mistaken for, or reused as, another.
 */
export const PURPOSE = {
  challenge: 'urn:satp-recovery:ws-challenge:v1',
  proof: 'urn:satp-recovery:ws-auth:v1',
} as const;

/** Longest certificate (base64 DER) a challenge or proof may carry in `x5c`, as takeover entries allow. */
export const MAX_X5C_CHARS = 16_384;
/**
 * Longest Sec-WebSocket-Protocol header decoded: room for a proof carrying a gateway certificate of a few
 * kilobytes (about 1,000 base64 characters is usual), well under the 16 KiB of headers Node accepts.
 */
export const MAX_PROTOCOL_HEADER_CHARS = 8_192;
/** Longest challenge response body read: a challenge with a certificate of MAX_X5C_CHARS fits. */
export const MAX_CHALLENGE_CHARS = MAX_X5C_CHARS + 4_096;

/**
 * What GET <ws path>/challenge?client=<id> answers: a single-use token, signed by the server's key. A server
 * acting as a gateway in its place (a backup, docs/high-availability.md) signs with its own key and adds its
 * certificate, `x5c` (base64 DER), which a successor authority must accept for `serverId`.
 */
export interface SignedChallenge {
  challenge: string;
  clientId: string;
  serverId: string;
  expiresAt: number;
  x5c?: string;
  signature: string;
}

/**
 * What the client signs (with `purpose`) and sends (with `signature`) on the upgrade. A client acting as a
 * gateway in its place adds its certificate, `x5c`, as a server-side successor authority checks it.
 */
export interface Proof {
  challenge: string;
  clientId: string;
  serverId: string;
  timestamp: number;
  x5c?: string;
  signature: string;
}

/** The signed input covers x5c when there is one (it cannot be swapped); without one it is what it always was. */
export const challengeSigningInput = (c: Omit<SignedChallenge, 'signature'>): Uint8Array =>
  utf8(
    canonicalJson({
      purpose: PURPOSE.challenge,
      challenge: c.challenge,
      clientId: c.clientId,
      serverId: c.serverId,
      expiresAt: c.expiresAt,
      ...(c.x5c !== undefined ? { x5c: c.x5c } : {}),
    }),
  );

/** The signed input covers x5c when there is one (it cannot be swapped); without one it is what it always was. */
export const proofSigningInput = (p: Omit<Proof, 'signature'>): Uint8Array =>
  utf8(
    canonicalJson({
      purpose: PURPOSE.proof,
      challenge: p.challenge,
      clientId: p.clientId,
      serverId: p.serverId,
      timestamp: p.timestamp,
      ...(p.x5c !== undefined ? { x5c: p.x5c } : {}),
    }),
  );

/** The challenge URL of a WebSocket endpoint: same host, http(s) scheme, path + "/challenge". */
export function challengeUrlOf(wsUrl: string, clientId: string): string {
  const u = new URL(wsUrl);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a ws: or wss: URL: ${wsUrl}`);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/challenge`;
  u.search = `?client=${encodeURIComponent(clientId)}`;
  return u.toString();
}

/**
 * Only these members, of these types (plus, if present, an `x5c` string of at most MAX_X5C_CHARS): anything
 * else in untrusted handshake JSON is a refusal.
 */
function exactFields<T>(value: Json, fields: Record<string, 'string' | 'number'>): T | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const x5c = Object.hasOwn(value, 'x5c') ? value.x5c : undefined;
  if (x5c !== undefined && (typeof x5c !== 'string' || x5c.length === 0 || x5c.length > MAX_X5C_CHARS))
    return undefined;
  if (keys.length !== Object.keys(fields).length + (x5c === undefined ? 0 : 1)) return undefined;
  for (const [k, t] of Object.entries(fields)) {
    const v = value[k];
    if (
      typeof v !== t ||
      (t === 'string' && (v as string).length > 512) ||
      (t === 'number' && !Number.isSafeInteger(v))
    )
      return undefined;
  }
  return value as T;
}

export const parseChallenge = (value: Json): SignedChallenge | undefined =>
  exactFields(value, {
    challenge: 'string',
    clientId: 'string',
    serverId: 'string',
    expiresAt: 'number',
    signature: 'string',
  });

export const parseProof = (value: Json): Proof | undefined =>
  exactFields(value, {
    challenge: 'string',
    clientId: 'string',
    serverId: 'string',
    timestamp: 'number',
    signature: 'string',
  });

/** The subprotocol token carrying a proof. */
export const encodeProof = (proof: Proof): string =>
  AUTH_PROTOCOL_PREFIX + toBase64Url(utf8(canonicalJson(proof as unknown as Json)));

/** Decodes the proof offered in a Sec-WebSocket-Protocol header; undefined if absent or malformed. Never throws. */
export function decodeProtocolHeader(header: string | null | undefined): { proof?: Proof; hasProtocol: boolean } {
  if (!header || header.length > MAX_PROTOCOL_HEADER_CHARS) return { hasProtocol: false };
  const offered = header.split(',').map((s) => s.trim());
  const auth = offered.filter((p) => p.startsWith(AUTH_PROTOCOL_PREFIX));
  const hasProtocol = offered.includes(WS_PROTOCOL);
  if (auth.length !== 1) return { hasProtocol };
  try {
    const parsed = parseStrictJson(fromUtf8(fromBase64Url(auth[0]!.slice(AUTH_PROTOCOL_PREFIX.length))));
    return { hasProtocol, proof: parsed.ok ? parseProof(parsed.value) : undefined };
  } catch {
    return { hasProtocol };
  }
}

export interface ClientHandshake {
  self: string;
  signer: Signer;
  keys: KeyResolver;
  verifier: Verifier;
  fetch: typeof fetch;
  clock: () => number;
  /** Set when this client acts as a gateway in its place: its certificate (base64 DER), sent in the proof. */
  certificate?: string;
  /** Accepts a challenge signed by a successor of the peer (it carries x5c); without it such a one is refused. */
  successor?: SuccessorAuthority;
}

/**
 * Fetches and checks a challenge from `peer` at `wsUrl`, then returns the subprotocols to offer.
 * The challenge's signature tells the client the endpoint holds the peer's key (on a TLS channel
 * that also rules out a relay; recovery-04 §7 assumes TLS). Rejects PEER_UNAVAILABLE if the server
 * cannot be reached, PEER_REFUSED if it refuses us or does not prove it is `peer`.
 */
export async function clientProtocols(
  h: ClientHandshake,
  peer: string,
  wsUrl: string,
  signal?: AbortSignal,
): Promise<string[]> {
  let res: Response;
  // Called as a plain function, never as a method of `h`: browsers and workerd throw "Illegal invocation"
  // when fetch runs with a `this` other than the global object.
  const fetchFn = h.fetch;
  try {
    res = await fetchFn(challengeUrlOf(wsUrl, h.self), { signal, headers: { accept: 'application/json' } });
  } catch (cause) {
    throw new SatpError('PEER_UNAVAILABLE', `peer ${peer} is unavailable: challenge request failed`, {
      cause,
      detail: { peer },
    });
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const code = res.status >= 500 ? 'PEER_UNAVAILABLE' : 'PEER_REFUSED';
    throw new SatpError(code, `peer ${peer} refused the challenge request with ${res.status}`, {
      detail: { peer, status: res.status },
    });
  }
  const parsed = text.length <= MAX_CHALLENGE_CHARS ? parseStrictJson(text) : undefined;
  const ch = parsed?.ok ? parseChallenge(parsed.value) : undefined;
  const refused = (why: string) =>
    new SatpError('PEER_REFUSED', `peer ${peer} failed the handshake: ${why}`, { detail: { peer } });
  if (!ch) throw refused('malformed challenge');
  if (ch.serverId !== peer || ch.clientId !== h.self)
    throw refused(`challenge is from ${ch.serverId} for ${ch.clientId}`);
  const key = ch.x5c === undefined ? h.keys(peer) : await successorKey(h, peer, ch.x5c, refused);
  if (!key) throw refused('no trusted key for the peer');
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(ch.signature);
  } catch {
    throw refused('malformed challenge signature');
  }
  if (!(await h.verifier.verify(key, challengeSigningInput(ch), sig)))
    throw refused('challenge signature does not verify');
  const body = {
    challenge: ch.challenge,
    clientId: h.self,
    serverId: peer,
    timestamp: Math.floor(h.clock()),
    ...(h.certificate !== undefined ? { x5c: h.certificate } : {}),
  };
  const signature = toBase64Url(await h.signer.sign(proofSigningInput(body)));
  return [WS_PROTOCOL, encodeProof({ ...body, signature })];
}

/** The key of the successor of `peer` that `certificate` names, if the client's authority accepts it now. */
async function successorKey(
  h: ClientHandshake,
  peer: string,
  certificate: string,
  refused: (why: string) => SatpError,
): Promise<PublicJwk> {
  if (!h.successor)
    throw refused(`the challenge carries a certificate (a successor of ${peer}) and no successor authority is set`);
  const verdict = await h.successor(peer, certificate, h.clock()).catch((err: unknown) => ({
    ok: false as const,
    detail: `the successor authority failed: ${String(err)}`,
  }));
  if (!verdict.ok) throw refused(`the challenge's certificate is not a successor of ${peer}: ${verdict.detail}`);
  return verdict.key;
}
