// A SIMULATION STAND-IN for ES256: a keyed SHA-256 "signature" behind the kernel Signer/Verifier interfaces.
//
// Why: the simulator runs 10,000+ schedules; WebCrypto ES256 is async across threads (timing can
// reorder work) and noble's deterministic P-256 costs ~1 ms per sign and ~4 ms per verify. This MAC
// is synchronous, deterministic and ~100× cheaper. It is NOT a signature (the verifier holds the
// secrets) and is used nowhere but test/sim/: every other test and every runtime path uses real ES256.
import { createHash } from 'node:crypto';
import type { KeyResolver, PublicJwk, Signer, Verifier } from '../../kernel/crypto/types.ts';
import { keyTable } from '../../kernel/crypto/types.ts';
import { toBase64Url } from '../../kernel/encoding.ts';

const digest = (parts: (string | Uint8Array)[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** The MAC: SHA-256(secret ‖ data), doubled to the 64 bytes a JWS ES256 signature has. */
function mac(secret: string, data: Uint8Array): Uint8Array {
  const d = digest([secret, data]);
  const out = new Uint8Array(64);
  out.set(d, 0);
  out.set(d, 32);
  return out;
}

export interface SimIdentity {
  id: string;
  jwk: PublicJwk;
  signer: Signer;
}

/** Identities whose "public keys" are derived from their ids, and the one verifier that knows them all. */
export class SimKeyring {
  readonly #secrets = new Map<string, string>();
  readonly #identities = new Map<string, SimIdentity>();

  identity(id: string): SimIdentity {
    const known = this.#identities.get(id);
    if (known) return known;
    const jwk: PublicJwk = Object.freeze({
      kty: 'EC',
      crv: 'P-256',
      x: toBase64Url(digest([`sim-x:${id}`])),
      y: toBase64Url(digest([`sim-y:${id}`])),
    });
    const secret = `sim-secret:${id}`;
    this.#secrets.set(`${jwk.x}.${jwk.y}`, secret);
    const signer: Signer = { alg: 'ES256', publicJwk: jwk, sign: async (data) => mac(secret, data) };
    const identity = { id, jwk, signer };
    this.#identities.set(id, identity);
    return identity;
  }

  /** Checks a MAC made by any identity of this keyring; false (never a throw) for anything else. */
  verifier(): Verifier {
    return {
      verify: async (key, data, signature) => {
        const secret = this.#secrets.get(`${key.x}.${key.y}`);
        if (!secret || signature.length !== 64) return false;
        const want = mac(secret, data);
        for (let i = 0; i < 64; i++) if (want[i] !== signature[i]) return false;
        return true;
      },
    };
  }

  /** Trusted keys for gateways `ids`. */
  keys(ids: string[]): KeyResolver {
    return keyTable(ids.map((id) => [id, this.identity(id).jwk] as [string, PublicJwk]));
  }
}
