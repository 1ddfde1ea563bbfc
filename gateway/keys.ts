// A long-term signing key kept as a private JWK file: created once, reused on every restart (a gateway's
// identity key, and the ledger server's receipt key).
// recovery-04 §5.1 (self-healing mode): a recovered gateway keeps its long-term key pair, so its peer and
// its own old log entries still recognise it. Uses node:fs: Node, and Deno through its Node compat.
import { existsSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { pid } from 'node:process';
import type { PublicJwk, Signer } from '../kernel/crypto/types.ts';
import { generateWebCryptoSigner, type PrivateJwk, webCryptoSignerFromJwk } from '../kernel/crypto/webcrypto.ts';

/**
 * How a private JWK becomes a Signer: WebCrypto's by default; Node processes pass node:crypto's
 * (storage/signer-node.ts).
 */
export type SignerFromJwk = (privateJwk: PrivateJwk) => Signer | Promise<Signer>;

/**
 * The signer of the key in `path`, generating and storing a new P-256 key if the file does not exist. `fromJwk` makes
 * the signer of the key read or generated.
 */
export async function loadOrCreateKey(path: string, fromJwk: SignerFromJwk = webCryptoSignerFromJwk): Promise<Signer> {
  if (existsSync(path)) return fromJwk(JSON.parse(await readFile(path, 'utf8')) as PrivateJwk);
  const { privateJwk } = await generateWebCryptoSigner();
  // Write, fsync, then rename, so a crash never leaves a half-written key behind. 'wx' on the temp file
  // and rename over nothing: two processes racing to create it cannot both think they own the key.
  const tmp = `${path}.${pid}.tmp`;
  const file = await open(tmp, 'wx', 0o600);
  try {
    await file.writeFile(JSON.stringify(privateJwk));
    await file.sync();
  } finally {
    await file.close();
  }
  if (existsSync(path)) {
    await unlink(tmp);
    return fromJwk(JSON.parse(await readFile(path, 'utf8')) as PrivateJwk);
  }
  await rename(tmp, path);
  return fromJwk(privateJwk);
}

/** The public half of the key in `path` (created if missing): what peers put in their --peers table. */
export async function publicKeyOf(path: string): Promise<PublicJwk> {
  return (await loadOrCreateKey(path)).publicJwk;
}
