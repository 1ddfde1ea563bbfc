// The server side of the WebSocket handshake, runtime-agnostic: issues challenges and decides an upgrade
// before it completes. Challenges are stateless (HMAC), single-use and short-lived; docs/transports.md.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64Url, toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { ID_PATTERN } from '../../kernel/entry.ts';
import type { KeyResolver, PublicJwk, Signer, Verifier } from '../../kernel/crypto/types.ts';
import type { SuccessorAuthority } from '../../kernel/takeover.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { errorMessage, PROBLEM_TYPES } from '../error-msg.ts';
import { type ProblemDetails, problemResponse } from '../../http/problem.ts';
import {
  challengeSigningInput,
  decodeProtocolHeader,
  type Proof,
  proofSigningInput,
  type SignedChallenge,
  WS_PROTOCOL,
} from './handshake.ts';

export interface GatekeeperOptions {
  self: string;
  signer: Signer;
  keys: KeyResolver;
  verifier?: Verifier;
  clock?: () => number;
  /** How long a challenge stays usable (default 30 s). */
  challengeTtlMs?: number;
  /** Largest |server clock − proof timestamp| (default 60 s). */
  maxSkewMs?: number;
  /** Most used challenges remembered; past it upgrades are refused 503 until some expire (default 100,000). */
  maxRemembered?: number;
  /**
   * Accepts a client that proves it is a successor of the gateway it claims to be (a backup with its own key and
   * a certificate, x5c in its proof; docs/high-availability.md). Without it such a proof is refused 401.
   */
  successor?: SuccessorAuthority;
  /**
   * Set when this server acts as a gateway in its place (`signer` is then the backup's key): its certificate,
   * base64 DER, sent in every challenge so that clients with a successor authority can accept it.
   */
  certificate?: string;
}

export type UpgradeDecision =
  | { ok: true; peer: string; protocol: string }
  | { ok: false; status: 400 | 401 | 403 | 503; detail: string };

export class Gatekeeper {
  readonly self: string;
  readonly #o: Required<Omit<GatekeeperOptions, 'self' | 'successor' | 'certificate'>> &
    Pick<GatekeeperOptions, 'successor' | 'certificate'>;
  /** Per-instance MAC key: a challenge is only good at the server process that issued it. */
  readonly #secret = crypto.getRandomValues(new Uint8Array(32));
  /** Used challenges until they expire; only verified proofs enter, so strangers cannot grow it. */
  readonly #used = new Map<string, number>();

  constructor(options: GatekeeperOptions) {
    this.self = options.self;
    this.#o = {
      signer: options.signer,
      keys: options.keys,
      verifier: options.verifier ?? defaultVerifier(),
      clock: options.clock ?? Date.now,
      challengeTtlMs: options.challengeTtlMs ?? 30_000,
      maxSkewMs: options.maxSkewMs ?? 60_000,
      maxRemembered: options.maxRemembered ?? 100_000,
      ...(options.successor ? { successor: options.successor } : {}),
      ...(options.certificate !== undefined ? { certificate: options.certificate } : {}),
    };
  }

  /** GET <ws path>/challenge?client=<id>: a fetch-style handler, mountable in Hono, Deno.serve or node:http. */
  async challengeResponse(url: string | URL): Promise<Response> {
    const response = await this.#challenge(url);
    // Readable from any origin: a gateway in a browser page dials peers served from other origins. The challenge
    // is a signed public nonce that only the holder of the client's key can turn into a proof.
    response.headers.set('access-control-allow-origin', '*');
    return response;
  }

  async #challenge(url: string | URL): Promise<Response> {
    const clientId = new URL(url).searchParams.get('client') ?? '';
    const refuse = (status: number, type: string, detail: string) =>
      problemResponse(errorMessage({ status, type, detail, timestamp: this.#o.clock() }) as unknown as ProblemDetails);
    if (!ID_PATTERN.test(clientId))
      return refuse(400, PROBLEM_TYPES.badlyFormed, 'query parameter client must be a gateway id');
    // Refused before any signing work: only our configured peers get challenges.
    if (!this.#o.keys(clientId))
      return refuse(403, PROBLEM_TYPES.forbidden, `gateway ${clientId} is not a peer of ${this.self}`);
    const expiresAt = Math.floor(this.#o.clock()) + this.#o.challengeTtlMs;
    const nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = `${expiresAt}.${nonce}.${this.#mac(clientId, expiresAt, nonce)}`;
    const body = {
      challenge,
      clientId,
      serverId: this.self,
      expiresAt,
      ...(this.#o.certificate !== undefined ? { x5c: this.#o.certificate } : {}),
    };
    const signed: SignedChallenge = {
      ...body,
      signature: toBase64Url(await this.#o.signer.sign(challengeSigningInput(body))),
    };
    return new Response(JSON.stringify(signed), {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  }

  /**
   * Decides an upgrade from its Sec-WebSocket-Protocol header, before the 101 is sent. On success the
   * challenge is spent: the same proof (a replay) is refused 401 ever after.
   */
  async decide(protocolHeader: string | null | undefined): Promise<UpgradeDecision> {
    const { proof, hasProtocol } = decodeProtocolHeader(protocolHeader);
    if (!hasProtocol || !proof)
      return { ok: false, status: 401, detail: `offer subprotocol ${WS_PROTOCOL} and one satp.auth.<proof>` };
    if (proof.serverId !== this.self)
      return { ok: false, status: 401, detail: `the proof is for ${proof.serverId}, not ${this.self}` };
    // Successor or not, the id must be a configured peer: the challenge endpoint issued nothing to others.
    const primaryKey = ID_PATTERN.test(proof.clientId) ? this.#o.keys(proof.clientId) : undefined;
    if (!primaryKey)
      return { ok: false, status: 403, detail: `gateway ${proof.clientId} is not a peer of ${this.self}` };
    const now = this.#o.clock();
    const parts = proof.challenge.split('.');
    const expiresAt = Number(parts[0]);
    if (
      parts.length !== 3 ||
      !Number.isSafeInteger(expiresAt) ||
      !sameText(this.#mac(proof.clientId, expiresAt, parts[1]!), parts[2]!)
    ) {
      return { ok: false, status: 401, detail: 'the challenge was not issued here for this gateway' };
    }
    if (now > expiresAt) return { ok: false, status: 401, detail: 'the challenge has expired' };
    if (Math.abs(now - proof.timestamp) > this.#o.maxSkewMs)
      return { ok: false, status: 401, detail: 'the proof timestamp is too far from the server clock' };
    if (this.#used.has(proof.challenge))
      return { ok: false, status: 401, detail: 'the challenge was already used (replay)' };
    let signature: Uint8Array;
    try {
      signature = fromBase64Url(proof.signature);
    } catch {
      return { ok: false, status: 401, detail: 'malformed proof signature' };
    }
    // Only after the challenge checked out; anyone may still fetch one for a peer's id (docs/transports.md).
    const key = proof.x5c === undefined ? primaryKey : await this.#successorKey(proof, now);
    if (typeof key === 'string') return { ok: false, status: 401, detail: key };
    if (!(await this.#o.verifier.verify(key, proofSigningInput(proof), signature))) {
      return { ok: false, status: 401, detail: 'the proof signature does not verify' };
    }
    // Check and spend in one synchronous step after the await, so two concurrent upgrades with one proof cannot
    // both pass.
    this.#forgetExpired(this.#o.clock());
    if (this.#used.has(proof.challenge))
      return { ok: false, status: 401, detail: 'the challenge was already used (replay)' };
    if (this.#used.size >= this.#o.maxRemembered)
      return { ok: false, status: 503, detail: 'too many recent handshakes; retry later' };
    this.#used.set(proof.challenge, expiresAt);
    return { ok: true, peer: proof.clientId, protocol: WS_PROTOCOL };
  }

  /** The key of the successor the proof's certificate makes its holder, or why not. */
  async #successorKey(proof: Proof, now: number): Promise<PublicJwk | string> {
    const authority = this.#o.successor;
    if (!authority)
      return `the proof carries a certificate (a successor of ${proof.clientId}) and ${this.self} trusts no successors`;
    const verdict = await authority(proof.clientId, proof.x5c!, now).catch((err: unknown) => ({
      ok: false as const,
      detail: `the successor authority failed: ${String(err)}`,
    }));
    return verdict.ok
      ? verdict.key
      : `the proof's certificate is not a successor of ${proof.clientId}: ${verdict.detail}`;
  }

  #mac(clientId: string, expiresAt: number, nonce: string): string {
    return toBase64Url(hmac(sha256, this.#secret, utf8(`${clientId}\n${this.self}\n${expiresAt}\n${nonce}`)));
  }

  #forgetExpired(now: number): void {
    // Insertion order is expiry order (a fixed TTL from a monotone-ish clock), so stop at the first live one.
    for (const [challenge, expiresAt] of this.#used) {
      if (expiresAt >= now) break;
      this.#used.delete(challenge);
    }
  }
}

/** Compares a MAC without an early exit, so response time says nothing about how much of it matched. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The refusal problem body of a failed decision (sent on the raw socket or as a Response). */
export function refusalBody(decision: Extract<UpgradeDecision, { ok: false }>, now: number): string {
  const type =
    decision.status === 403
      ? PROBLEM_TYPES.forbidden
      : decision.status === 503
        ? PROBLEM_TYPES.busy
        : decision.status === 400
          ? PROBLEM_TYPES.badlyFormed
          : PROBLEM_TYPES.unauthenticated;
  return JSON.stringify(errorMessage({ status: decision.status, type, detail: decision.detail, timestamp: now }));
}
