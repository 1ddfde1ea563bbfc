// The satp-keygen command (cli/keygen.ts runs it): argv in, an exit code out, so tests call it in-process.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ID_PATTERN } from '../kernel/entry.ts';
import { loadOrCreateKey } from '../gateway/keys.ts';

export const USAGE = `usage: satp-keygen --out <private-jwk-file> [--id <gateway-id>]
  --out  where the private key goes (created 0600; an existing file is kept and its public key printed)
  --id   print {"<id>": {"publicJwk": …}} instead of the bare public JWK
prints one JSON line on stdout; exits 2 on a usage error`;

/** The keygen command, argv in, an exit code out (stdout/stderr written through `out`/`err`). */
export async function keygen(
  argv: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  let values: { out?: string; id?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: { out: { type: 'string' }, id: { type: 'string' }, help: { type: 'boolean', default: false } },
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (!values.out) {
    err(`--out is required\n${USAGE}`);
    return 2;
  }
  if (values.id !== undefined && !ID_PATTERN.test(values.id)) {
    err(`--id ${JSON.stringify(values.id)} is not a gateway id (${ID_PATTERN})\n${USAGE}`);
    return 2;
  }
  const existed = existsSync(values.out);
  const { publicJwk } = await loadOrCreateKey(values.out);
  if (existed) err(`${values.out} exists: kept it, printing its public key`);
  out(JSON.stringify(values.id === undefined ? publicJwk : { [values.id]: { publicJwk } }));
  return 0;
}
