// satp-keygen: creates a gateway's identity key once, never overwrites it, prints the public half for peers.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keygen } from '../../cli/keygen-command.ts';

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
