// The gateway command line's primary-backup flags (cli/gateway-cli.ts): what they parse to, and a clear error naming
// the flag for each bad use, before anything is opened.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGatewayArgs } from '../../cli/gateway-cli.ts';
import { gatewayArgsError } from '../support/gateway-cli-error.ts';
import { G1, G2 } from '../support/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'satp-cli-ha-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PEM = '-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n';
const cert = join(dir, 'gw.pem');
writeFileSync(cert, PEM);
const base = [
  '--id',
  'gw-origin',
  '--keys',
  join(dir, 'k.json'),
  '--ledger',
  'http://127.0.0.1:1',
  '--ledger-key',
  JSON.stringify(G1.jwk),
  '--peers',
  JSON.stringify({
    'gw-destination': { url: 'ws://127.0.0.1:2/satp/ws', publicJwk: G2.jwk, networkId: 'b', ledgerPublicJwk: G2.jwk },
  }),
];
const ha = ['--pg', 'postgres://u@127.0.0.1:5/db', '--cert', cert, '--lease-ttl-ms', '1000'];
const error = gatewayArgsError;

describe('satp-gateway primary-backup flags', () => {
  it('parse to the store, the certificate (its base64 body), the trust, the primary key and the lease', () => {
    const trust = JSON.stringify({ roots: [PEM], primaries: { 'gw-origin': PEM } });
    const c = parseGatewayArgs([
      ...base,
      ...ha,
      '--holder',
      'gw-origin-backup-1',
      '--trust',
      trust,
      '--primary-key',
      JSON.stringify(G2.jwk),
    ]);
    expect(c).toMatchObject({
      db: '',
      pg: { url: 'postgres://u@127.0.0.1:5/db', schema: 'satp' },
      certificate: 'QUJDREVG',
      trust: { roots: [PEM], intermediates: [], primaries: { 'gw-origin': PEM } },
      primaryKey: G2.jwk,
      lease: { ttlMs: 1000, holder: 'gw-origin-backup-1' },
    });
    expect(parseGatewayArgs([...base, ...ha])).toMatchObject({ lease: { holder: 'gw-origin' } });
  });

  it('--standby-for: the other gateways this process backs up, each with its primary key and this certificate', () => {
    const c = parseGatewayArgs([
      ...base,
      ...ha,
      '--standby-for',
      JSON.stringify({ 'gw-origin-2': { primaryKey: G2.jwk, cert }, 'gw-origin-3': { primaryKey: G1.jwk, cert: PEM } }),
    ]);
    expect(c).toMatchObject({
      standbyFor: {
        'gw-origin-2': { primaryKey: G2.jwk, certificate: 'QUJDREVG' },
        'gw-origin-3': { primaryKey: G1.jwk, certificate: 'QUJDREVG' },
      },
    });
    const standby = (v: unknown) => ['--standby-for', JSON.stringify(v)];
    expect(error([...base, '--db', dir, ...standby({ 'gw-2': { primaryKey: G2.jwk, cert } })])).toMatch(
      /--standby-for needs --lease-ttl-ms/,
    );
    expect(error([...base, ...ha, ...standby({ 'gw-origin': { primaryKey: G2.jwk, cert } })])).toMatch(
      /bad --standby-for: gw-origin is --id itself/,
    );
    expect(
      error([...base, ...ha, ...standby({ 'gw-2': { primaryKey: G2.jwk, cert: join(dir, 'none.pem') } })]),
    ).toMatch(/bad --standby-for gw-2.cert/);
    expect(error([...base, ...ha, ...standby({ 'gw-2': { cert } })])).toMatch(/bad --standby-for: gw-2.primaryKey/);
    expect(error([...base, ...ha, ...standby({})])).toMatch(/bad --standby-for: no gateway/);
  });

  it('refuses each bad use with the flag named', () => {
    expect(error(base)).toMatch(/--db \(or --pg\)/);
    expect(error([...base, '--db', dir, '--lease-ttl-ms', '1000'])).toMatch(/--lease-ttl-ms needs --pg and --cert/);
    expect(error([...base, ...ha, '--lease-ttl-ms', '5'])).toMatch(/bad --lease-ttl-ms/);
    expect(error([...base, ...ha, '--holder', 'no spaces'])).toMatch(/bad --holder/);
    const notCert = join(dir, 'key.pem');
    writeFileSync(notCert, '-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n');
    expect(error([...base, ...ha, '--cert', notCert])).toMatch(/bad --cert: no CERTIFICATE block/);
    expect(error([...base, '--db', dir, '--trust', '{"roots": ["x"], "primaries": {}}'])).toMatch(
      /bad --trust: roots.0 is not a PEM certificate/,
    );
    expect(error([...base, '--db', dir, '--trust', '{"roots": [], "primaries": {}}'])).toMatch(/bad --trust: roots/);
    expect(error([...base, '--db', dir, '--primary-key', '{"kty":"RSA"}'])).toMatch(/bad --primary-key/);
  });
});
