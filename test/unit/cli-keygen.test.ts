// satp-keygen: creates a gateway's identity key once, never overwrites it, prints the public half for peers.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keygen } from '../../cli/keygen-command.ts';
import { verifyBackup } from '../../identity/x509.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'satp-keygen-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await keygen(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

describe('satp-keygen', () => {
  it('writes a private P-256 JWK readable only by its owner, and prints its public half', async () => {
    const path = join(dir, 'gw-a.key.json');
    const { code, out } = await run('--out', path);
    expect(code).toBe(0);
    const priv = JSON.parse(readFileSync(path, 'utf8'));
    expect(priv).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(typeof priv.d).toBe('string');
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    const pub = JSON.parse(out[0] ?? '');
    expect(pub).toEqual({ kty: 'EC', crv: 'P-256', x: priv.x, y: priv.y });
  });

  it('keeps an existing key file and prints the same public key, keyed by --id', async () => {
    const path = join(dir, 'gw-a.key.json');
    await run('--out', path);
    const before = readFileSync(path, 'utf8');
    const { code, out, err } = await run('--out', path, '--id', 'gw-a');
    expect(code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(err.join('\n')).toMatch(/exists: kept it/);
    const { x, y } = JSON.parse(before);
    expect(JSON.parse(out[0] ?? '')).toEqual({ 'gw-a': { publicJwk: { kty: 'EC', crv: 'P-256', x, y } } });
  });

  it('refuses a missing --out, an unknown flag and a bad --id with exit code 2 and the usage', async () => {
    for (const argv of [[], ['--out', join(dir, 'k'), '--bogus'], ['--out', join(dir, 'k'), '--id', 'no spaces']]) {
      const { code, err } = await run(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(err.join('\n')).toMatch(/usage: satp-keygen/);
    }
    expect(() => statSync(join(dir, 'k'))).toThrow();
  });

  it('prints the usage on --help', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/usage: satp-keygen --out/);
  });
});

describe('satp-keygen --pki', () => {
  it('makes a demo CA, a primary and backups whose certificates pass the §6.1 check; a rerun keeps keys', async () => {
    const first = await run('--pki', dir, '--id', 'gw-a', '--backups', '2');
    expect(first.code, first.err.join('\n')).toBe(0);
    const made = JSON.parse(first.out[0]!);
    expect(made.backups.map((b: { id: string }) => b.id)).toEqual(['gw-a-backup-1', 'gw-a-backup-2']);
    for (const f of ['ca.key.json', 'gw-a.key.json', 'gw-a-backup-1.key.json'])
      expect(statSync(join(dir, f)).mode & 0o077, `${f} is private`).toBe(0);
    const pem = (f: string) => readFileSync(join(dir, f), 'utf8');
    for (const k of [1, 2]) {
      const v = await verifyBackup({
        backup: pem(`gw-a-backup-${k}.pem`),
        primary: pem('gw-a.pem'),
        roots: [pem('ca.pem')],
        at: new Date(),
      });
      expect(v, `backup ${k}`).toMatchObject({ ok: true, id: `gw-a-backup-${k}` });
    }
    const key = pem('gw-a-backup-1.key.json');
    const ca = pem('ca.pem');
    // A rerun with a third backup: the same CA and keys, a primary certificate that lists all three.
    const again = await run('--pki', dir, '--id', 'gw-a', '--backups', '3');
    expect(again.code).toBe(0);
    expect(pem('gw-a-backup-1.key.json')).toBe(key);
    expect(pem('ca.pem')).toBe(ca);
    const third = await verifyBackup({
      backup: pem('gw-a-backup-3.pem'),
      primary: pem('gw-a.pem'),
      roots: [pem('ca.pem')],
      at: new Date(),
    });
    expect(third.ok).toBe(true);
  });

  it('refuses what it cannot do with exit 2', async () => {
    expect((await run('--pki', dir)).code).toBe(2);
    expect((await run('--pki', dir, '--id', 'gw-a', '--backups', '17')).code).toBe(2);
    expect((await run('--pki', dir, '--id', 'gw-a', '--out', join(dir, 'x.json'))).code).toBe(2);
    expect((await run('--pki', join(dir, 'missing'), '--id', 'gw-a')).code).toBe(2);
  });
});
