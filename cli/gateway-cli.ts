// The gateway process's command line (node:util parseArgs, which Deno provides too): flags in, one checked config out.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as z from '../kernel/zod.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import { type CrashPoint, parseCrashPoint } from './gateway-observe.ts';

export const USAGE =
  'usage: satp-gateway --id <gateway-id> --db <dir> --keys <private-jwk-file> --ledger <url> ' +
  `--ledger-key <jwk-json|file>
               --peers <json|file> [--port 0] [--host 127.0.0.1] [--peer-ledger <peer-id>=<url>]... ` +
  `[--retransmit-ms 2000]
               [--deadline-grace-ms 2000] [--burn-margin-ms 1000] [--min-lock-seconds 5] [--connect-wait-ms 1000]
               [--crash-after <point>] [--tls-cert <pem-file> --tls-key <pem-file>] [--tls-ca <pem-file>]
  --ledger-key   the public JWK the own ledger signs receipts with (every receipt is checked against it)
  --peers        {"<peer-id>": {"url": "ws://…/satp/ws", "publicJwk": {…}, "networkId": "<ledger id>",
                  "ledgerPublicJwk": {…}}}: the peer gateway's key, and the key its ledger signs with
  --peer-ledger  read access to a peer's ledger: the destination asks it about the burn past the deadline
  --tls-cert, --tls-key  serve wss:// (TLS 1.3) with this certificate and private key
  --tls-ca       trust peers' wss:// certificates that chain to this root (instead of the system's)
  --crash-after  fault injection: SIGKILL this process right after a step is logged (e.g. 3.4) or a
                 message was sent (sent:commit-prepare-msg)
commands: JSON lines on stdin (docs/demo.md); stdin's end shuts the gateway down`;

const jwkSchema = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string(),
  y: z.string(),
});
const peerSchema = z.strictObject({
  url: z.string().check(z.regex(/^wss?:\/\//)),
  publicJwk: jwkSchema,
  networkId: z.string().check(z.regex(ID_PATTERN)),
  ledgerPublicJwk: jwkSchema,
});
const peersSchema = z.record(z.string().check(z.regex(ID_PATTERN)), peerSchema);

export interface PeerConfig {
  url: string;
  publicJwk: PublicJwk;
  networkId: string;
  /** The key the peer's ledger signs receipts with: the peer's claims are checked against it. */
  ledgerPublicJwk: PublicJwk;
}

export interface GatewayCliConfig {
  id: string;
  host: string;
  port: number;
  db: string;
  keys: string;
  ledger: string;
  /** The key the own ledger signs receipts with. */
  ledgerKey: PublicJwk;
  peers: Record<string, PeerConfig>;
  peerLedgers: Record<string, string>;
  retransmitMs?: number;
  deadlineGraceMs?: number;
  burnMarginMs?: number;
  minLockSeconds?: number;
  /** How long to wait for the peer links before boot (default 1000). */
  connectWaitMs?: number;
  crashAfter?: CrashPoint;
  /** Serve wss:// with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
  /** Trust peers' certificates that chain to this root (PEM text). */
  tlsCa?: string;
}

/** Parses argv; throws a RangeError naming the bad flag (the entry prints it with USAGE and exits 2). */
export function parseGatewayArgs(args: string[]): GatewayCliConfig | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      id: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      db: { type: 'string' },
      keys: { type: 'string' },
      ledger: { type: 'string' },
      'ledger-key': { type: 'string' },
      peers: { type: 'string' },
      'peer-ledger': { type: 'string', multiple: true, default: [] },
      'retransmit-ms': { type: 'string' },
      'deadline-grace-ms': { type: 'string' },
      'burn-margin-ms': { type: 'string' },
      'min-lock-seconds': { type: 'string' },
      'connect-wait-ms': { type: 'string' },
      'crash-after': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const { id, db, keys, ledger, peers } = values;
  const ledgerKeyText = values['ledger-key'];
  if (!id || !db || !keys || !ledger || !ledgerKeyText || !peers)
    throw new RangeError('--id, --db, --keys, --ledger, --ledger-key and --peers are required');
  if (!ID_PATTERN.test(id)) throw new RangeError(`bad --id ${JSON.stringify(id)}`);
  const port = integer('--port', values.port, 0, 65535)!;
  const ledgerKey = jwkSchema.safeParse(jsonArg('--ledger-key', ledgerKeyText));
  if (!ledgerKey.success)
    throw new RangeError(
      `bad --ledger-key: ${ledgerKey.error.issues[0]?.path.join('.')} ${ledgerKey.error.issues[0]?.message}`,
    );
  const parsedPeers = peersSchema.safeParse(jsonArg('--peers', peers));
  if (!parsedPeers.success)
    throw new RangeError(
      `bad --peers: ${parsedPeers.error.issues[0]?.path.join('.')} ${parsedPeers.error.issues[0]?.message}`,
    );
  const peerLedgers: Record<string, string> = {};
  for (const item of values['peer-ledger']) {
    const eq = item.indexOf('=');
    const peer = item.slice(0, eq);
    if (eq < 1 || !parsedPeers.data[peer])
      throw new RangeError(`bad --peer-ledger ${JSON.stringify(item)}: want <peer-id>=<url> for a peer in --peers`);
    peerLedgers[peer] = item.slice(eq + 1);
  }
  const optional = {
    retransmitMs: integer('--retransmit-ms', values['retransmit-ms'], 10, 3_600_000),
    deadlineGraceMs: integer('--deadline-grace-ms', values['deadline-grace-ms'], 0, 3_600_000),
    burnMarginMs: integer('--burn-margin-ms', values['burn-margin-ms'], 0, 3_600_000),
    minLockSeconds: integer('--min-lock-seconds', values['min-lock-seconds'], 1, 86_400),
    connectWaitMs: integer('--connect-wait-ms', values['connect-wait-ms'], 0, 600_000),
    crashAfter: values['crash-after'] === undefined ? undefined : parseCrashPoint(values['crash-after']),
  };
  const config: GatewayCliConfig = {
    id,
    host: values.host,
    port,
    db,
    keys,
    ledger,
    ledgerKey: ledgerKey.data,
    peers: parsedPeers.data,
    peerLedgers,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(config, { [k]: v });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw new RangeError('--tls-cert and --tls-key go together');
  if (values['tls-cert'] && values['tls-key'])
    config.tls = { cert: pemFile('--tls-cert', values['tls-cert']), key: pemFile('--tls-key', values['tls-key']) };
  if (values['tls-ca']) config.tlsCa = pemFile('--tls-ca', values['tls-ca']);
  return config;
}

/** The PEM text of a file (a certificate or a key). */
function pemFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RangeError(`bad ${flag}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new RangeError(`bad ${flag}: ${path} holds no PEM block`);
  return text;
}

/** A JSON argument given inline (starting with `{`) or as the path of a file holding it. */
function jsonArg(flag: string, text: string): unknown {
  try {
    return JSON.parse(text.trimStart().startsWith('{') ? text : readFileSync(text, 'utf8'));
  } catch (err) {
    throw new RangeError(`bad ${flag}: ${(err as Error).message}`);
  }
}

function integer(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`bad ${flag} ${JSON.stringify(text)}: want an integer in [${min}, ${max}]`);
  return n;
}
