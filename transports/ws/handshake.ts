// The WebSocket handshake's wire formats and its client side: fetch a signed challenge, sign a proof, and
// carry it in Sec-WebSocket-Protocol (the one field a standard WebSocket client can set). docs/transports.md.
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { SatpError } from '../../kernel/errors.ts';
import { canonicalJson, type Json } from '../../kernel/json.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import type { KeyResolver, Signer, Verifier } from '../../kernel/crypto/types.ts';

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

/** What GET <ws path>/challenge?client=<id> answers: a single-use token, signed by the server's key. */
export interface SignedChallenge {
  challenge: string;
  clientId: string;
  serverId: string;
  expiresAt: number;
  signature: string;
}

/** What the client signs (with `purpose`) and sends (with `signature`) on the upgrade. */
export interface Proof {
  challenge: string;
  clientId: string;
  serverId: string;
  timestamp: number;
  signature: string;
}

export const challengeSigningInput = (c: Omit<SignedChallenge, 'signature'>): Uint8Array =>
  utf8(
    canonicalJson({
      purpose: PURPOSE.challenge,
      challenge: c.challenge,
      clientId: c.clientId,
      serverId: c.serverId,
      expiresAt: c.expiresAt,
    }),
  );

export const proofSigningInput = (p: Omit<Proof, 'signature'>): Uint8Array =>
  utf8(
    canonicalJson({
      purpose: PURPOSE.proof,
      challenge: p.challenge,
      clientId: p.clientId,
      serverId: p.serverId,
      timestamp: p.timestamp,
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

/** Only these members, of these types: anything else in untrusted handshake JSON is a refusal. */
function exactFields<T>(value: Json, fields: Record<string, 'string' | 'number'>): T | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== Object.keys(fields).length) return undefined;
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
  if (!header || header.length > 4096) return { hasProtocol: false };
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
  const parsed = text.length <= 4096 ? parseStrictJson(text) : undefined;
  const ch = parsed?.ok ? parseChallenge(parsed.value) : undefined;
  const key = h.keys(peer);
  const refused = (why: string) =>
    new SatpError('PEER_REFUSED', `peer ${peer} failed the handshake: ${why}`, { detail: { peer } });
  if (!ch) throw refused('malformed challenge');
  if (ch.serverId !== peer || ch.clientId !== h.self)
    throw refused(`challenge is from ${ch.serverId} for ${ch.clientId}`);
  if (!key) throw refused('no trusted key for the peer');
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(ch.signature);
  } catch {
    throw refused('malformed challenge signature');
  }
  if (!(await h.verifier.verify(key, challengeSigningInput(ch), sig)))
    throw refused('challenge signature does not verify');
  const body = { challenge: ch.challenge, clientId: h.self, serverId: peer, timestamp: Math.floor(h.clock()) };
  const signature = toBase64Url(await h.signer.sign(proofSigningInput(body)));
  return [WS_PROTOCOL, encodeProof({ ...body, signature })];
}
