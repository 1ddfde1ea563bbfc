// The gateway object's bindings (docs/edge.md), checked once when the object starts: an object with a bad binding
// answers every request with the reason instead of running half-configured.
import * as z from '../kernel/zod.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import type { PrivateJwk } from '../kernel/crypto/webcrypto.ts';
import { ID_PATTERN } from '../kernel/entry.ts';

/**
 * The environment a gateway object reads. JSON bindings may be given as JSON text (a secret, a `--var`) or as the
 * object itself (a `[vars]` table in wrangler.toml).
 */
export interface GatewayObjectEnv {
  /** This gateway's id, as its peers know it. */
  GATEWAY_ID: string;
  /** Its long-term identity key: a P-256 private JWK (cli/keygen.ts writes one). A secret; never generated here. */
  GATEWAY_KEY: string | object;
  /** The base URL of its own ledger's HTTP server (ledgers/ledger-server.ts). */
  LEDGER_URL: string;
  /** That ledger's id (its network), which every receipt must name. */
  LEDGER_ID: string;
  /** The public JWK that ledger signs receipts with. */
  LEDGER_PUBLIC_JWK: string | object;
  /**
   * Its peers: `{"<peer-id>": {"publicJwk", "networkId", "ledgerPublicJwk", "url"?, "ledgerUrl"?}}`. `url` is the
   * peer's WebSocket endpoint (a peer without one only dials in); `ledgerUrl` gives read access to the peer's
   * ledger, which a destination needs to settle a deadline.
   */
  PEERS: string | object;
  /**
   * Optional timings: `{"retransmitMs", "deadlineGraceMs", "burnMarginMs", "minLockSeconds", "maxLockSeconds",
   * "connectWaitMs"}` (defaults as gatewayConfig in kernel/satp/effects.ts, connectWaitMs 1000).
   */
  TIMING?: string | object;
  /** The WebSocket path (default /satp/ws); the handshake's challenge is at `<path>/challenge`. */
  WS_PATH?: string;
  /** A secret that enables the control routes under /control/ for whoever presents it as a bearer token. */
  CONTROL_TOKEN?: string;
}

const id = z.string().check(z.regex(ID_PATTERN));
const publicJwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string(),
  y: z.string(),
});
// What webCryptoSignerFromJwk needs, plus the members JWK exporters add (RFC 7517 §4: Deno's WebCrypto writes alg,
// Node's ext and key_ops); anything else is a mistake worth reporting.
const privateJwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  alg: z.optional(z.literal('ES256')),
  kid: z.optional(z.string()),
  use: z.optional(z.literal('sig')),
  ext: z.optional(z.boolean()),
  key_ops: z.optional(z.array(z.string())),
});
const httpUrl = z.string().check(z.regex(/^https?:\/\//));
const peer = z.strictObject({
  url: z.optional(z.string().check(z.regex(/^wss?:\/\//))),
  publicJwk,
  networkId: id,
  ledgerPublicJwk: publicJwk,
  ledgerUrl: z.optional(httpUrl),
});

/** The protocol timings a deployment may set (kernel/satp/effects.ts GatewayConfig), and the boot's wait for peers. */
export interface EdgeTiming {
  retransmitMs?: number;
  deadlineGraceMs?: number;
  burnMarginMs?: number;
  minLockSeconds?: number;
  maxLockSeconds?: number;
  connectWaitMs?: number;
}

const count = (min: number, max: number) => z.optional(z.number().check(z.int(), z.minimum(min), z.maximum(max)));
const timing: z.ZodMiniType<EdgeTiming> = z.strictObject({
  retransmitMs: count(10, 3_600_000),
  deadlineGraceMs: count(0, 3_600_000),
  burnMarginMs: count(0, 3_600_000),
  minLockSeconds: count(1, 86_400),
  maxLockSeconds: count(1, 365 * 86_400),
  connectWaitMs: count(0, 600_000),
});

export interface EdgePeer {
  url?: string;
  publicJwk: PublicJwk;
  networkId: string;
  ledgerPublicJwk: PublicJwk;
  ledgerUrl?: string;
}

export interface EdgeGatewayConfig {
  id: string;
  key: PrivateJwk;
  ledger: { url: string; id: string; publicJwk: PublicJwk };
  peers: Record<string, EdgePeer>;
  timing: EdgeTiming;
  wsPath: string;
  controlToken?: string;
}

function json(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new TypeError(`binding ${name} is not JSON: ${(err as Error).message}`);
  }
}

/** A binding checked against `schema`; a JSON binding given as text is parsed first. */
function parse<T>(name: string, schema: z.ZodMiniType<T>, value: unknown, isJson = false): T {
  if (value === undefined) throw new TypeError(`binding ${name} is missing (docs/edge.md)`);
  const r = schema.safeParse(isJson ? json(name, value) : value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new TypeError(`binding ${name}: ${issue?.path.join('.') || 'value'} ${issue?.message ?? 'is invalid'}`);
}

/** The bindings, checked; throws a TypeError naming the first bad one. */
export function edgeGatewayConfig(env: GatewayObjectEnv): EdgeGatewayConfig {
  const path = env.WS_PATH ?? '/satp/ws';
  if (!/^\/[A-Za-z0-9/._-]*$/.test(path)) throw new TypeError(`binding WS_PATH ${JSON.stringify(path)} is not a path`);
  return {
    id: parse('GATEWAY_ID', id, env.GATEWAY_ID),
    key: parse('GATEWAY_KEY', privateJwk, env.GATEWAY_KEY, true),
    ledger: {
      url: parse('LEDGER_URL', httpUrl, env.LEDGER_URL),
      id: parse('LEDGER_ID', id, env.LEDGER_ID),
      publicJwk: parse('LEDGER_PUBLIC_JWK', publicJwk, env.LEDGER_PUBLIC_JWK, true),
    },
    peers: parse('PEERS', z.record(id, peer), env.PEERS, true),
    timing: env.TIMING === undefined ? {} : parse('TIMING', timing, env.TIMING, true),
    wsPath: path.replace(/\/+$/, '') || '/',
    ...(env.CONTROL_TOKEN ? { controlToken: env.CONTROL_TOKEN } : {}),
  };
}
