// The gateway process's command line (node:util parseArgs, which Deno provides too): flags in, one checked config out.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as z from '../kernel/zod.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import { type EvmNotarySpec, isEvmLedgerUrl, parseEvmLedgerUrl, parseEvmNotaryUrl } from '../ledgers/evm/spec.ts';
import { type CrashPoint, parseCrashPoint } from './gateway-observe.ts';

export const USAGE =
  'usage: satp-gateway --id <gateway-id> --db <dir> --keys <private-jwk-file> --ledger <url> ' +
  `(--ledger-key <jwk-json|file> | --evm-key <file>)
               --peers <json|file> [--port 0] [--host 127.0.0.1] [--peer-ledger <peer-id>=<url>]... ` +
  `[--retransmit-ms 2000]
               [--deadline-grace-ms 2000] [--burn-margin-ms 1000] [--min-lock-seconds 5] [--connect-wait-ms 1000]
               [--keep-ended 1024]
               [--crash-after <point>] [--tls-cert <pem-file> --tls-key <pem-file>] [--tls-ca <pem-file>]
               [--pg <url> [--pg-schema satp]] [--cert <pem-file>] [--trust <json-file>] [--primary-key <jwk>]
               [--lease-ttl-ms <ms> [--holder <name>] [--standby-for <json|file>]] [--metrics-port <port>]
               [--notary <url> [--notary-key <file>]]
  --ledger       a ledger server's http(s):// URL, or a ledger on an EVM chain:
                 evm+http://<rpc>?id=<ledger id>&chain=<chain id>&contract=<0x…>[&confirmations=1]
                 [&receiptTimeoutMs=60000] (docs/evm-ledger.md)
  --ledger-key   the public JWK the own ledger server signs receipts with (every receipt is checked against it)
  --evm-key      a file with the private key (0x…) of this gateway's account on its EVM ledger (an operator of it)
  --peers        {"<peer-id>": {"url": "ws://…/satp/ws", "publicJwk": {…}, "networkId": "<ledger id>",
                  "ledgerPublicJwk": {…}}}: the peer gateway's key, and the key its ledger signs with; for a
                 peer on an EVM chain "ledgerChain": "evm+http://…" instead, read back through that node
  --peer-ledger  read access to a peer's ledger: the destination asks it about the burn past the deadline
  --tls-cert, --tls-key  serve wss:// (TLS 1.3) with this certificate and private key
  --tls-ca       trust peers' wss:// certificates that chain to this root (instead of the system's)
  --pg           keep the log in PostgreSQL (shared by a primary and its backups) instead of LevelDB (--db)
  --cert         this process's gateway certificate (PEM): sent by a backup with its messages and handshakes
  --trust        {"roots": [pem…], "intermediates": [pem…], "primaries": {"<gateway-id>": pem}}: who may take a
                 gateway's place (docs/high-availability.md); without it no backup of anyone is trusted
  --primary-key  the public JWK the chains of --id start with, when this process is a backup of --id
  --lease-ttl-ms primary-backup: act for --id only while holding its lease in --pg (taken once free, renewed;
                 a process that loses it stops at once); needs --pg and --cert; --holder names this process
  --standby-for  {"<gateway-id>": {"primaryKey": {…}, "cert": "<pem-file>"}}: the other gateways of the
                 organization this process is a backup of (same --pg, --ledger and --peers): it takes the lease
                 of any of them that lapses and acts for it too, with this backup certificate; needs --lease-ttl-ms
  --notary      notarize every append of this gateway's logs on an EVM chain, and check the entries a peer's
                 RECOVER-UPDATE brings against the chain (docs/decentralized-log.md):
                 evm+http://<rpc>?chain=<chain id>&contract=<0x… SatpNotary>[&mode=hashes|entries]
  --notary-key   a file with the private key (0x…) of this gateway's writer account on the notary (default: --evm-key)
  --metrics-port serve GET /metrics (Prometheus text format) on --host at this port (0: chosen at run time, said
                 by the "metrics" event); each gateway the process acts for under its own "gateway" label
  --keep-ended   how many ended sessions stay in memory (1024); older ones are answered from the log, so memory
                 stays flat however long the gateway runs
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
  ledgerPublicJwk: z.optional(jwkSchema),
  ledgerChain: z.optional(z.string().check(z.regex(/^evm\+https?:\/\//))),
});
const peersSchema = z.record(z.string().check(z.regex(ID_PATTERN)), peerSchema);

export interface PeerConfig {
  url: string;
  publicJwk: PublicJwk;
  networkId: string;
  /** The key the peer's ledger signs receipts with: the peer's claims are checked against it. */
  ledgerPublicJwk?: PublicJwk;
  /** Or, for a peer whose ledger is an EVM chain: its evm+http:// URL, through which its claims are read back. */
  ledgerChain?: string;
}

export interface GatewayCliConfig {
  id: string;
  host: string;
  port: number;
  db: string;
  keys: string;
  /** The own ledger: a ledger server's http(s):// URL, or an EVM chain's evm+http(s):// URL (ledgers/evm/spec.ts). */
  ledger: string;
  /** The key the own ledger signs receipts with (a ledger server; an EVM ledger is checked on its chain). */
  ledgerKey?: PublicJwk;
  /** The private key (0x hex) of this gateway's account on its EVM ledger: the contract's operator. */
  evmKey?: `0x${string}`;
  peers: Record<string, PeerConfig>;
  peerLedgers: Record<string, string>;
  retransmitMs?: number;
  deadlineGraceMs?: number;
  burnMarginMs?: number;
  minLockSeconds?: number;
  /** How long to wait for the peer links before boot (default 1000). */
  connectWaitMs?: number;
  /** Ended sessions kept in memory (default 1024); older ones are answered from the log. */
  keepEnded?: number;
  crashAfter?: CrashPoint;
  /** Serve wss:// with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
  /** Trust peers' certificates that chain to this root (PEM text). */
  tlsCa?: string;
  /** The log in PostgreSQL (this URL, this schema) instead of LevelDB. */
  pg?: { url: string; schema: string };
  /** This process's gateway certificate, base64 DER (the PEM's body). */
  certificate?: string;
  /** Who may take a gateway's place: roots, intermediates and each gateway's own certificate (PEM text). */
  trust?: { roots: string[]; intermediates: string[]; primaries: Record<string, string> };
  /** The key --id's chains start with, when this process is its backup. */
  primaryKey?: PublicJwk;
  /** Primary-backup: hold --id's lease in PostgreSQL as `holder`, with this ttl. */
  lease?: { ttlMs: number; holder: string };
  /**
   * Several active gateways per side: the other gateways of the organization this process stands by for, each
   * with the key its chains start with and this process's backup certificate for it (base64 DER).
   */
  standbyFor?: Record<string, { primaryKey: PublicJwk; certificate: string }>;
  /** Serve the metrics on this port (0: any). */
  metricsPort?: number;
  /** Notarize the log on an EVM chain (storage/notarized.ts), writing as the account of `key`. */
  notary?: EvmNotarySpec & { key: `0x${string}` };
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
      'evm-key': { type: 'string' },
      peers: { type: 'string' },
      'peer-ledger': { type: 'string', multiple: true, default: [] },
      'retransmit-ms': { type: 'string' },
      'deadline-grace-ms': { type: 'string' },
      'burn-margin-ms': { type: 'string' },
      'min-lock-seconds': { type: 'string' },
      'connect-wait-ms': { type: 'string' },
      'keep-ended': { type: 'string' },
      'crash-after': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      pg: { type: 'string' },
      'pg-schema': { type: 'string' },
      cert: { type: 'string' },
      trust: { type: 'string' },
      'primary-key': { type: 'string' },
      'lease-ttl-ms': { type: 'string' },
      holder: { type: 'string' },
      'standby-for': { type: 'string' },
      'metrics-port': { type: 'string' },
      notary: { type: 'string' },
      'notary-key': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const { id, db, keys, ledger, peers } = values;
  const ledgerKeyText = values['ledger-key'];
  if (!id || !(db || values.pg) || !keys || !ledger || !peers)
    throw new RangeError('--id, --db (or --pg), --keys, --ledger and --peers are required');
  if (!ID_PATTERN.test(id)) throw new RangeError(`bad --id ${JSON.stringify(id)}`);
  const port = integer('--port', values.port, 0, 65535)!;
  const onChain = isEvmLedgerUrl(ledger);
  if (onChain) parseEvmLedgerUrl(ledger);
  else if (!ledgerKeyText) throw new RangeError('--ledger-key is required for a ledger server (--ledger http://…)');
  if (onChain && !values['evm-key']) throw new RangeError('--evm-key is required for an EVM ledger (--ledger evm+…)');
  const ledgerKey =
    ledgerKeyText === undefined ? undefined : jwkSchema.safeParse(jsonArg('--ledger-key', ledgerKeyText));
  if (ledgerKey && !ledgerKey.success)
    throw new RangeError(
      `bad --ledger-key: ${ledgerKey.error.issues[0]?.path.join('.')} ${ledgerKey.error.issues[0]?.message}`,
    );
  const parsedPeers = peersSchema.safeParse(jsonArg('--peers', peers));
  if (!parsedPeers.success)
    throw new RangeError(
      `bad --peers: ${parsedPeers.error.issues[0]?.path.join('.')} ${parsedPeers.error.issues[0]?.message}`,
    );
  for (const [p, c] of Object.entries(parsedPeers.data)) {
    if (!c.ledgerPublicJwk && !c.ledgerChain)
      throw new RangeError(`bad --peers: ${p} needs ledgerPublicJwk or ledgerChain`);
    if (c.ledgerChain && parseEvmLedgerUrl(c.ledgerChain).id !== c.networkId)
      throw new RangeError(`bad --peers: ${p}.ledgerChain names another ledger than its networkId`);
  }
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
    keepEnded: integer('--keep-ended', values['keep-ended'], 0, 10_000_000),
    metricsPort: integer('--metrics-port', values['metrics-port'], 0, 65535),
    crashAfter: values['crash-after'] === undefined ? undefined : parseCrashPoint(values['crash-after']),
  };
  const config: GatewayCliConfig = {
    id,
    host: values.host,
    port,
    db: db ?? '',
    keys,
    ledger,
    ...(ledgerKey ? { ledgerKey: ledgerKey.data } : {}),
    peers: parsedPeers.data,
    peerLedgers,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(config, { [k]: v });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw new RangeError('--tls-cert and --tls-key go together');
  if (values['evm-key']) config.evmKey = evmKeyArg(values['evm-key']);
  if (values['notary-key'] !== undefined && values.notary === undefined)
    throw new RangeError('--notary-key needs --notary');
  if (values.notary !== undefined) {
    const key = values['notary-key'] === undefined ? config.evmKey : evmKeyArg(values['notary-key'], '--notary-key');
    if (!key) throw new RangeError('--notary needs --notary-key (or --evm-key): the account that writes to it');
    config.notary = { ...parseEvmNotaryUrl(values.notary), key };
  }
  if (values['tls-cert'] && values['tls-key'])
    config.tls = { cert: pemFile('--tls-cert', values['tls-cert']), key: pemFile('--tls-key', values['tls-key']) };
  if (values['tls-ca']) config.tlsCa = pemFile('--tls-ca', values['tls-ca']);
  if (values.pg) config.pg = { url: values.pg, schema: values['pg-schema'] ?? 'satp' };
  if (values.cert) config.certificate = pemBody('--cert', pemFile('--cert', values.cert));
  if (values.trust) config.trust = trustArg(values.trust);
  if (values['primary-key']) {
    const k = jwkSchema.safeParse(jsonArg('--primary-key', values['primary-key']));
    if (!k.success) throw new RangeError(`bad --primary-key: ${k.error.issues[0]?.message}`);
    config.primaryKey = k.data;
  }
  const ttlMs = integer('--lease-ttl-ms', values['lease-ttl-ms'], 50, 3_600_000);
  if (ttlMs !== undefined) {
    if (!config.pg || !config.certificate) throw new RangeError('--lease-ttl-ms needs --pg and --cert');
    const holder = values.holder ?? id;
    if (!ID_PATTERN.test(holder)) throw new RangeError(`bad --holder ${JSON.stringify(holder)}`);
    config.lease = { ttlMs, holder };
  }
  if (values['standby-for'] !== undefined) {
    if (!config.lease) throw new RangeError('--standby-for needs --lease-ttl-ms');
    config.standbyFor = standbyArg(values['standby-for'], id);
  }
  return config;
}

const standbySchema = z.record(
  z.string().check(z.regex(ID_PATTERN)),
  z.strictObject({ primaryKey: jwkSchema, cert: z.string() }),
);

/** --standby-for: each other gateway's primary key, and the path (or PEM text) of this process's certificate. */
function standbyArg(text: string, self: string): NonNullable<GatewayCliConfig['standbyFor']> {
  const t = standbySchema.safeParse(jsonArg('--standby-for', text));
  if (!t.success)
    throw new RangeError(`bad --standby-for: ${t.error.issues[0]?.path.join('.')} ${t.error.issues[0]?.message}`);
  const out: NonNullable<GatewayCliConfig['standbyFor']> = {};
  for (const [gw, { primaryKey, cert }] of Object.entries(t.data)) {
    if (gw === self) throw new RangeError(`bad --standby-for: ${gw} is --id itself`);
    const pem = cert.includes('-----BEGIN ') ? cert : pemFile(`--standby-for ${gw}.cert`, cert);
    out[gw] = { primaryKey, certificate: pemBody(`--standby-for ${gw}.cert`, pem) };
  }
  if (Object.keys(out).length === 0) throw new RangeError('bad --standby-for: no gateway');
  return out;
}

/** --evm-key: a file holding a secp256k1 private key as 0x and 64 hex digits (the gateway's EVM account). */
function evmKeyArg(path: string, flag = '--evm-key'): `0x${string}` {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new RangeError(`cannot read ${flag} ${path}: ${(err as Error).message}`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new RangeError(`bad ${flag} ${path}: want 0x and 64 hex digits`);
  return text as `0x${string}`;
}

/** The base64 DER of the first certificate in PEM text (what x5c carries). */
function pemBody(flag: string, pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new RangeError(`bad ${flag}: no CERTIFICATE block`);
  return m[1]!.replace(/\s+/g, '');
}

const trustSchema = z.strictObject({
  roots: z.array(z.string()).check(z.minLength(1), z.maxLength(16)),
  intermediates: z.optional(z.array(z.string()).check(z.maxLength(16))),
  primaries: z.record(z.string().check(z.regex(ID_PATTERN)), z.string()),
});

/** --trust: a JSON file (or inline JSON) of PEM texts. */
function trustArg(text: string): NonNullable<GatewayCliConfig['trust']> {
  const t = trustSchema.safeParse(jsonArg('--trust', text));
  if (!t.success)
    throw new RangeError(`bad --trust: ${t.error.issues[0]?.path.join('.')} ${t.error.issues[0]?.message}`);
  const pem = (v: string, where: string) => {
    if (!v.includes('-----BEGIN CERTIFICATE-----'))
      throw new RangeError(`bad --trust: ${where} is not a PEM certificate`);
    return v;
  };
  return {
    roots: t.data.roots.map((r, i) => pem(r, `roots.${i}`)),
    intermediates: (t.data.intermediates ?? []).map((r, i) => pem(r, `intermediates.${i}`)),
    primaries: Object.fromEntries(Object.entries(t.data.primaries).map(([k, v]) => [k, pem(v, `primaries.${k}`)])),
  };
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
  // Digits only: Number() would read '' and ' ' as 0, and '0x10' or '1e3' as numbers nobody typed.
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`bad ${flag} ${JSON.stringify(text)}: want an integer in [${min}, ${max}]`);
  return n;
}
