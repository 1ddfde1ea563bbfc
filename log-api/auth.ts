// Who is calling: gateways authenticate with a bearer token from a configured table, or with a request
// signed by their identity key (http/signed-request.ts). Framework-agnostic, so every HTTP app can reuse it.
import * as z from '../kernel/zod.ts';
import { utf8 } from '../kernel/encoding.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import { HASH_PATTERN, sha256Hex } from '../kernel/hash.ts';
import { keyTable, type KeyResolver, type PublicJwk, type Verifier } from '../kernel/crypto/types.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { parseSignedAuthorization, pathAndQueryOf, SIGNED_SCHEME, stringToSign } from '../http/signed-request.ts';

/** Shortest bearer token accepted in a configuration: 16 characters (about 96 bits if random base64). */
export const MIN_TOKEN_LENGTH = 16;

const jwkSchema = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
  y: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
});

/**
 * One gateway's credentials. `token` (or only its SHA-256, `tokenSha256`, so the configuration holds
 * no secret) admits bearer requests; `publicJwk` admits signed requests and is also the key the log
 * server trusts for that gateway's entries. `role` is `gateway` (the default: access is decided by
 * each log's accessControlProfile) or `operator` (a mirror or auditor trusted with every log; see
 * docs/log-storage-api.md).
 */
export const gatewayCredentialsSchema = z.strictObject({
  token: z.optional(z.string().check(z.minLength(MIN_TOKEN_LENGTH), z.maxLength(512))),
  tokenSha256: z.optional(z.string().check(z.regex(HASH_PATTERN))),
  publicJwk: z.optional(jwkSchema),
  role: z.optional(z.enum(['gateway', 'operator'])),
});
export type GatewayCredentials = z.infer<typeof gatewayCredentialsSchema> & { publicJwk?: PublicJwk };

/** The table of gateways, by id: the JSON of a `--gateways` file. */
export const gatewayTableSchema = z.record(z.string().check(z.regex(ID_PATTERN)), gatewayCredentialsSchema);
export type GatewayTable = Record<string, GatewayCredentials>;

export interface AuthOptions {
  gateways: GatewayTable;
  /** Largest |server clock − request timestamp| accepted for signed requests (default 30 s). */
  maxClockSkewMs?: number;
  now?: () => number;
  verifier?: Verifier;
}

export interface AuthRequest {
  method: string;
  url: string;
  authorization: string | null;
  body: Uint8Array;
}

export type CallerRole = 'gateway' | 'operator';

export type AuthResult =
  | { ok: true; gatewayId: string; role: CallerRole; via: 'token' | 'signature' }
  | { ok: false; detail: string };

export type Authenticator = (req: AuthRequest) => Promise<AuthResult>;

/** The WWW-Authenticate value of a 401 (RFC 9110 §11.6.1): both schemes we accept. */
export const WWW_AUTHENTICATE = `Bearer realm="satp-log-storage", ${SIGNED_SCHEME} realm="satp-log-storage"`;

export function createAuthenticator(options: AuthOptions): Authenticator {
  const table = gatewayTableSchema.safeParse(options.gateways);
  if (!table.success)
    throw new TypeError(
      `invalid gateway table: ${table.error.issues[0]?.path.join('.')}: ${table.error.issues[0]?.message}`,
    );
  // Tokens are looked up by their SHA-256: the secret itself is never compared byte by byte, so the
  // lookup leaks nothing useful through timing, and a table may hold hashes only.
  const byTokenHash = new Map<string, string>();
  for (const [id, cred] of Object.entries(options.gateways)) {
    for (const h of [cred.token === undefined ? undefined : sha256Hex(utf8(cred.token)), cred.tokenSha256]) {
      if (h === undefined) continue;
      if (byTokenHash.has(h) && byTokenHash.get(h) !== id)
        throw new TypeError(`gateways ${byTokenHash.get(h)} and ${id} share a token`);
      byTokenHash.set(h, id);
    }
  }
  const keys = keysOfGateways(options.gateways);
  const skew = options.maxClockSkewMs ?? 30_000;
  const now = options.now ?? Date.now;
  const verifier = options.verifier ?? defaultVerifier();
  const roles = new Map(Object.entries(options.gateways).map(([id, c]) => [id, c.role ?? 'gateway'] as const));
  const roleOf = (id: string): CallerRole => roles.get(id) ?? 'gateway';

  return async (req) => {
    const auth = req.authorization;
    if (!auth)
      return { ok: false, detail: 'no credentials: send Authorization: Bearer <token> or a SATP-Sig signature' };
    // Auth scheme names are case-insensitive (RFC 9110 §11.1).
    if (auth.slice(0, 7).toLowerCase() === 'bearer ') {
      const token = auth.slice('Bearer '.length);
      const id = token.length <= 512 ? byTokenHash.get(sha256Hex(utf8(token))) : undefined;
      return id
        ? { ok: true, gatewayId: id, role: roleOf(id), via: 'token' }
        : { ok: false, detail: 'unknown bearer token' };
    }
    if (auth.startsWith(`${SIGNED_SCHEME} `)) {
      const signed = parseSignedAuthorization(auth);
      if (!signed) return { ok: false, detail: `malformed ${SIGNED_SCHEME} authorization` };
      const key = keys(signed.gatewayId);
      if (!key) return { ok: false, detail: `no key is registered for gateway ${signed.gatewayId}` };
      if (Math.abs(now() - signed.timestampMs) > skew)
        return { ok: false, detail: `request timestamp is more than ${skew} ms from the server clock` };
      const data = stringToSign(req.method, pathAndQueryOf(req.url), signed.timestampMs, sha256Hex(req.body));
      const ok = await verifier.verify(key, utf8(data), signed.signature);
      return ok
        ? { ok: true, gatewayId: signed.gatewayId, role: roleOf(signed.gatewayId), via: 'signature' }
        : { ok: false, detail: 'request signature does not verify' };
    }
    return { ok: false, detail: 'unsupported authorization scheme' };
  };
}

/** The public keys of a gateway table, as the resolver a LogStore verifies entries with. */
export function keysOfGateways(gateways: GatewayTable): KeyResolver {
  return keyTable(
    Object.entries(gateways).flatMap(([id, c]) => (c.publicJwk ? [[id, c.publicJwk] as [string, PublicJwk]] : [])),
  );
}
