// Gateway identities as X.509 certificates (recovery-04 §6.1, gateway replacement): a gateway's P-256 key is
// certified by its owner's CA; a primary gateway's certificate lists the SHA-256 hashes of the certificates of
// the backups allowed to take its place. A counterparty accepts a backup's new key only if the backup's
// certificate chains to a trusted root, has the same parent as the primary's, is listed by the primary, is
// valid at the time and certifies a signing key (docs/identity.md). Certificates are built and parsed with
// @peculiar/x509, the extension's value with asn1js: no ASN.1 by hand. Runs on WebCrypto (Node, Deno, browsers).
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import type { SuccessorAuthority, SuccessorVerdict } from '../kernel/takeover.ts';
import { toHex } from '../kernel/encoding.ts';

/**
 * OID of the extension that lists a primary's authorized backups, under IANA's experimental arc 1.3.6.1.3
 * (RFC 2578 §2: for experiments, no registration). A UUID OID (2.25.<128-bit>) was the first choice, but
 * @peculiar/x509 cannot encode an arc that large (it wrote 2.25). docs/identity.md says how to move it under an
 * enterprise number.
 */
export const AUTHORIZED_BACKUPS_OID = '1.3.6.1.3.2430.1';
/** At most this many backups per primary, and each hash is SHA-256 (32 octets). */
export const MAX_BACKUPS = 16;

/** The X.509 library, loaded after the Reflect polyfill it needs: import it from here, not directly. */
export { x509 };

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate authority: its certificate and the private key that signs what it issues. */
export interface Authority {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

export type CertificateInput = x509.X509Certificate | string | ArrayBuffer | Uint8Array;

/** The hex SHA-256 of a certificate's DER encoding: what a primary lists for each backup. */
export async function certificateHash(cert: x509.X509Certificate): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', cert.rawData)));
}

/** The extension's DER value: `AuthorizedBackups ::= SEQUENCE SIZE (1..16) OF OCTET STRING (SIZE (32))`. */
export function authorizedBackupsExtension(hashes: readonly string[]): x509.Extension {
  if (hashes.length < 1 || hashes.length > MAX_BACKUPS)
    throw new RangeError(`a primary lists 1 to ${MAX_BACKUPS} backups, not ${hashes.length}`);
  const value = new asn1js.Sequence({
    value: hashes.map((h) => {
      if (!/^[0-9a-f]{64}$/.test(h)) throw new TypeError(`not a hex SHA-256: ${h}`);
      return new asn1js.OctetString({ valueHex: hexBytes(h) });
    }),
  });
  return new x509.Extension(AUTHORIZED_BACKUPS_OID, false, value.toBER());
}

/** The backups a certificate authorizes (hex hashes); [] when it has no such extension; an Error if it is malformed. */
export function authorizedBackups(cert: x509.X509Certificate): string[] | Error {
  const ext = cert.getExtension(AUTHORIZED_BACKUPS_OID);
  if (!ext) return [];
  const parsed = asn1js.fromBER(ext.value);
  if (parsed.offset === -1 || parsed.offset !== ext.value.byteLength || !(parsed.result instanceof asn1js.Sequence))
    return new Error('the authorized-backups extension is not one DER SEQUENCE');
  const items = parsed.result.valueBlock.value;
  if (items.length < 1 || items.length > MAX_BACKUPS)
    return new Error(`the authorized-backups extension lists ${items.length} backups`);
  const hashes: string[] = [];
  for (const item of items) {
    if (!(item instanceof asn1js.OctetString) || item.valueBlock.valueHexView.byteLength !== 32)
      return new Error('the authorized-backups extension holds an item that is not a 32-octet OCTET STRING');
    hashes.push(toHex(item.valueBlock.valueHexView));
  }
  return hashes;
}

/** A self-signed root CA on a new P-256 key (the demo's; an owner with a CA of its own uses that one). */
export async function createAuthority(name: string, days = 3650, now: Date = new Date()): Promise<Authority> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    notBefore: now,
    notAfter: new Date(now.getTime() + days * DAY),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, privateKey: keys.privateKey };
}

/** The authority's private key as a JWK, to keep it (the demo keeps it in a 0600 file). */
export async function authorityPrivateJwk(a: Authority): Promise<JsonWebKey> {
  return crypto.subtle.exportKey('jwk', a.privateKey);
}

/** An authority from its certificate (PEM or DER) and its private key as a JWK. */
export async function loadAuthority(certificate: CertificateInput, privateJwk: JsonWebKey): Promise<Authority> {
  const privateKey = await crypto.subtle.importKey('jwk', privateJwk, EC, true, ['sign']);
  return { certificate: certificateOf(certificate), privateKey };
}

/**
 * A certificate for `publicKey`, subject CN=`name`, signed by `issuer` (ECDSA P-256, SHA-256), valid from `notBefore`
 * to `notAfter`, with `extensions` and the issuer's key identifier.
 */
async function issue(
  issuer: Authority,
  name: string,
  publicKey: CryptoKey,
  notBefore: Date,
  notAfter: Date,
  extensions: x509.Extension[],
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: issuer.certificate.subject,
    publicKey,
    signingKey: issuer.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING,
    extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate)],
  });
}

/** An intermediate CA under `issuer`, on a new P-256 key. */
export async function createIntermediate(
  issuer: Authority,
  name: string,
  days = 1825,
  now: Date = new Date(),
): Promise<Authority> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await issue(issuer, name, keys.publicKey, now, new Date(now.getTime() + days * DAY), [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]);
  return { certificate, privateKey: keys.privateKey };
}

export interface GatewayCertificateRequest {
  /** The gateway's id: the certificate's subject CN. */
  id: string;
  /** The gateway's P-256 public key (its entry and message signing key). */
  publicJwk: PublicJwk;
  /** For a primary: the hashes (certificateHash) of its backups' certificates. */
  backups?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Key usage flags (default digitalSignature): a test can issue a certificate for something else. */
  usages?: number;
}

/** Certifies a gateway's signing key. */
export async function issueGatewayCertificate(
  issuer: Authority,
  req: GatewayCertificateRequest,
): Promise<x509.X509Certificate> {
  const notBefore = req.notBefore ?? new Date();
  const publicKey = await crypto.subtle.importKey('jwk', { ...req.publicJwk, ext: true }, EC, true, ['verify']);
  return issue(issuer, req.id, publicKey, notBefore, req.notAfter ?? new Date(notBefore.getTime() + 365 * DAY), [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(req.usages ?? x509.KeyUsageFlags.digitalSignature, true),
    ...(req.backups?.length ? [authorizedBackupsExtension(req.backups)] : []),
  ]);
}

/** A TLS server certificate and its private key, both PEM, as node:https, node:tls and Deno.serve take them. */
export interface TlsCredentials {
  cert: string;
  key: string;
}

/**
 * A TLS server certificate from `issuer` on a new P-256 key, for `hosts` (IP addresses and DNS names, in the
 * subjectAltName: clients check those, not the CN), for serverAuth only.
 */
export async function issueTlsCertificate(
  issuer: Authority,
  hosts: readonly string[],
  days = 30,
  now: Date = new Date(),
): Promise<TlsCredentials> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ip = /^(\d{1,3}\.){3}\d{1,3}$|:/;
  const cert = await issue(issuer, hosts[0] ?? 'localhost', keys.publicKey, now, new Date(now.getTime() + days * DAY), [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(
      hosts.map((h) => ({ type: ip.test(h) ? ('ip' as const) : ('dns' as const), value: h })),
    ),
  ]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8.buffer, 'PRIVATE KEY') };
}

export type BackupVerdict =
  | { ok: true; id: string; publicJwk: PublicJwk; hash: string }
  | { ok: false; reason: BackupRefusal; detail: string };

export type BackupRefusal =
  | 'malformed'
  | 'untrusted-path'
  | 'not-valid-now'
  | 'key-usage'
  | 'different-parent'
  | 'not-authorized';

/**
 * Whether `backup` may take `primary`'s place (recovery-04 §6.1), at time `at`: both certificates chain to one of
 * `roots` (through `intermediates` if any) and verify at that time; the backup's parent is the primary's; the
 * backup certifies a signing key of an end entity; and the primary lists the backup's hash. Never throws.
 */
export async function verifyBackup(input: {
  backup: CertificateInput;
  primary: CertificateInput;
  roots: readonly CertificateInput[];
  intermediates?: readonly CertificateInput[];
  at: Date;
}): Promise<BackupVerdict> {
  const refuse = (reason: BackupRefusal, detail: string): BackupVerdict => ({ ok: false, reason, detail });
  let backup: x509.X509Certificate;
  let primary: x509.X509Certificate;
  let roots: x509.X509Certificate[];
  let intermediates: x509.X509Certificate[];
  try {
    backup = certificateOf(input.backup);
    primary = certificateOf(input.primary);
    roots = input.roots.map(certificateOf);
    intermediates = (input.intermediates ?? []).map(certificateOf);
  } catch (err) {
    return refuse('malformed', `a certificate does not parse: ${String(err)}`);
  }
  const backupPath = await trustedPath(backup, roots, intermediates, input.at);
  if (!backupPath.ok) return refuse(backupPath.reason, `backup ${backup.subject}: ${backupPath.detail}`);
  const primaryPath = await trustedPath(primary, roots, intermediates, input.at);
  if (!primaryPath.ok) return refuse(primaryPath.reason, `primary ${primary.subject}: ${primaryPath.detail}`);
  const usage = endEntitySigner(backup);
  if (usage) return refuse('key-usage', `backup ${backup.subject}: ${usage}`);
  const parentOfBackup = backupPath.chain[1]!;
  const parentOfPrimary = primaryPath.chain[1]!;
  if (!equalBytes(parentOfBackup.rawData, parentOfPrimary.rawData))
    return refuse(
      'different-parent',
      `the backup's issuer (${parentOfBackup.subject}) is not the primary's (${parentOfPrimary.subject})`,
    );
  const listed = authorizedBackups(primary);
  if (listed instanceof Error) return refuse('malformed', `primary ${primary.subject}: ${listed.message}`);
  const hash = await certificateHash(backup);
  if (!listed.includes(hash))
    return refuse('not-authorized', `the primary's certificate does not list the backup's hash ${hash}`);
  try {
    return { ok: true, id: commonName(backup), publicJwk: await signingKeyOf(backup), hash };
  } catch (err) {
    return refuse('key-usage', `backup ${backup.subject}: not a P-256 key: ${String(err)}`);
  }
}

/** The subject's CN: a gateway's id. */
const commonName = (cert: x509.X509Certificate): string => /(?:^|,\s*)CN=([^,]+)/.exec(cert.subject)?.[1] ?? '';

/** The certificate's P-256 key as a public JWK; throws for a key of another kind. */
async function signingKeyOf(cert: x509.X509Certificate): Promise<PublicJwk> {
  const key = await cert.publicKey.export(EC, ['verify']);
  const { kty, crv, x, y } = (await crypto.subtle.exportKey('jwk', key)) as PublicJwk;
  return { kty, crv, x, y } as PublicJwk;
}

type Path = { ok: true; chain: x509.X509Certificate[] } | { ok: false; reason: BackupRefusal; detail: string };

/** The certificate's path up to one of `roots`, every link verified with its issuer's key and valid at `at`. */
async function trustedPath(
  leaf: x509.X509Certificate,
  roots: readonly x509.X509Certificate[],
  intermediates: readonly x509.X509Certificate[],
  at: Date,
): Promise<Path> {
  let chain: x509.X509Certificate[];
  try {
    chain = [...(await new x509.X509ChainBuilder({ certificates: [...intermediates, ...roots] }).build(leaf))];
  } catch (err) {
    return { ok: false, reason: 'untrusted-path', detail: `no path: ${String(err)}` };
  }
  const top = chain.at(-1)!;
  if (chain.length < 2 || !roots.some((r) => equalBytes(r.rawData, top.rawData)))
    return { ok: false, reason: 'untrusted-path', detail: `its path ends at ${top.subject}, not a trusted root` };
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (at < cert.notBefore || at > cert.notAfter)
      return {
        ok: false,
        reason: 'not-valid-now',
        detail: `${cert.subject} is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`,
      };
    const issuer = chain[Math.min(i + 1, chain.length - 1)]!;
    if (i > 0 && !isAuthority(cert))
      return { ok: false, reason: 'untrusted-path', detail: `${cert.subject} issues certificates but is no CA` };
    if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false)))
      return { ok: false, reason: 'untrusted-path', detail: `${cert.subject}: signature by ${issuer.subject} fails` };
  }
  return { ok: true, chain };
}

function isAuthority(cert: x509.X509Certificate): boolean {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return !!bc?.ca && (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
}

/** Why a certificate does not certify an end entity's signing key, or undefined when it does. */
function endEntitySigner(cert: x509.X509Certificate): string | undefined {
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca) return 'it is a CA certificate';
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!ku) return 'it has no key usage extension';
  if ((ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) return 'its key usage lacks digitalSignature';
  return undefined;
}

function certificateOf(input: CertificateInput): x509.X509Certificate {
  if (input instanceof x509.X509Certificate) return input;
  return new x509.X509Certificate(input instanceof Uint8Array ? input.slice() : input);
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function equalBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.every((v, i) => v === y[i]);
}

/** The primary's own certificate as a successor (it returns to its chains): a trusted path and a signing key. */
async function primaryVerdict(
  cert: x509.X509Certificate,
  trust: { roots: readonly CertificateInput[]; intermediates?: readonly CertificateInput[] },
  at: Date,
): Promise<SuccessorVerdict> {
  try {
    const path = await trustedPath(
      cert,
      trust.roots.map(certificateOf),
      (trust.intermediates ?? []).map(certificateOf),
      at,
    );
    if (!path.ok) return { ok: false, detail: `${path.reason}: primary ${cert.subject}: ${path.detail}` };
    const usage = endEntitySigner(cert);
    if (usage) return { ok: false, detail: `key-usage: primary ${cert.subject}: ${usage}` };
    return { ok: true, key: await signingKeyOf(cert), name: commonName(cert) };
  } catch (err) {
    return { ok: false, detail: `malformed: ${String(err)}` };
  }
}

/** A certificate as x5c carries it (RFC 7515 §4.1.6): its DER in base64 (not base64url). */
export const x5cOf = (cert: CertificateInput): string => certificateOf(cert).toString('base64');

/** How many verdicts a successor authority remembers. */
const VERDICT_CACHE = 256;
/** A verdict is remembered for the minute it was asked in: validity periods are checked at least that finely. */
const VERDICT_WINDOW_MS = 60_000;

/**
 * The successor authority of recovery-04 §6.1 over X.509 (kernel/takeover.ts): a certificate makes its holder a
 * successor of gateway `id` if verifyBackup accepts it as a backup of `primaries[id]` at the time asked about.
 * The kernel asks it for takeover entries (at their timestamp) and for messages carrying x5c (at the time they
 * arrive); verdicts are remembered per certificate for the minute they were asked in, so a busy backup's
 * messages do not each cost a path validation. Never throws.
 */
export function successorAuthority(trust: {
  /** Each gateway's own (primary) certificate, by gateway id. */
  primaries: Readonly<Record<string, CertificateInput>>;
  roots: readonly CertificateInput[];
  intermediates?: readonly CertificateInput[];
}): SuccessorAuthority {
  const remembered = new Map<string, Promise<SuccessorVerdict>>();
  const judge = async (gateway: string, certificate: string, at: number): Promise<SuccessorVerdict> => {
    const primary = Object.hasOwn(trust.primaries, gateway) ? trust.primaries[gateway] : undefined;
    if (primary === undefined) return { ok: false, detail: `no certificate of ${gateway} is known here` };
    // The primary itself, taking its chains back from a backup: its own certificate, valid and trusted then.
    if (certificate === x5cOf(primary)) return primaryVerdict(certificateOf(primary), trust, new Date(at));
    const verdict = await verifyBackup({
      backup: certificate,
      primary,
      roots: trust.roots,
      ...(trust.intermediates ? { intermediates: trust.intermediates } : {}),
      at: new Date(at),
    });
    return verdict.ok
      ? { ok: true, key: verdict.publicJwk, name: verdict.id }
      : { ok: false, detail: `${verdict.reason}: ${verdict.detail}` };
  };
  return (gateway, certificate, at) => {
    const key = `${gateway}\u0000${Math.floor(at / VERDICT_WINDOW_MS)}\u0000${certificate}`;
    let verdict = remembered.get(key);
    if (!verdict) {
      verdict = judge(gateway, certificate, at).catch((err: unknown) => ({ ok: false, detail: String(err) }));
      if (remembered.size >= VERDICT_CACHE) remembered.delete(remembered.keys().next().value!);
      remembered.set(key, verdict);
    }
    return verdict;
  };
}
