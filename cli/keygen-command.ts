// The satp-keygen command (cli/keygen.ts runs it): argv in, an exit code out, so tests call it in-process.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ID_PATTERN } from '../kernel/entry.ts';
import { loadOrCreateKey } from '../gateway/keys.ts';
import { MAX_BACKUPS } from '../identity/x509.ts';
import { createPki } from './keygen-pki.ts';

export const USAGE = `usage: satp-keygen --out <private-jwk-file> [--id <gateway-id>]
       satp-keygen --pki <dir> --id <primary-gateway-id> [--backups <n>]
  --out      where the private key goes (created 0600; an existing file is kept and its public key printed)
  --id       print {"<id>": {"publicJwk": …}} instead of the bare public JWK
  --pki      a demo CA in <dir> (ca.pem, ca.key.json), the primary's key and certificate (<id>.key.json, <id>.pem)
             and n backups' (<id>-backup-<k>.*), the primary's certificate listing the backups (docs/identity.md);
             keys are kept across runs, certificates issued afresh
  --backups  how many backups (0 to 16, default 1)
prints one JSON line on stdout; exits 2 on a usage error`;

/** The keygen command, argv in, an exit code out (stdout/stderr written through `out`/`err`). */
export async function keygen(
  argv: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  let values: { out?: string; id?: string; pki?: string; backups?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        out: { type: 'string' },
        id: { type: 'string' },
        pki: { type: 'string' },
        backups: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (values.id !== undefined && !ID_PATTERN.test(values.id)) {
    err(`--id ${JSON.stringify(values.id)} is not a gateway id (${ID_PATTERN})\n${USAGE}`);
    return 2;
  }
  if (values.pki !== undefined) {
    const n = values.backups === undefined ? 1 : /^\d{1,2}$/.test(values.backups) ? Number(values.backups) : -1;
    if (values.out !== undefined || !values.id || n < 0 || n > MAX_BACKUPS) {
      err(`--pki takes --id and --backups 0..${MAX_BACKUPS}, not --out\n${USAGE}`);
      return 2;
    }
    if (!existsSync(values.pki)) {
      err(`--pki ${values.pki}: no such directory\n${USAGE}`);
      return 2;
    }
    out(JSON.stringify(await createPki(values.pki, values.id, n)));
    return 0;
  }
  if (!values.out) {
    err(`--out is required\n${USAGE}`);
    return 2;
  }
  const existed = existsSync(values.out);
  const { publicJwk } = await loadOrCreateKey(values.out);
  if (existed) err(`${values.out} exists: kept it, printing its public key`);
  out(JSON.stringify(values.id === undefined ? publicJwk : { [values.id]: { publicJwk } }));
  return 0;
}
