// The bench's gateways and ledgers: fresh ES256 keys, signing and verifying with node:crypto as the Node gateway
// processes do (cli/gateway.ts), and counting wrappers so each scenario reports how many signatures, verifications
// and appends its work really took.
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { nodeSignerFromJwk } from '../../storage/signer-node.ts';
import { nobleVerifier } from '../../kernel/crypto/noble.ts';
import { nodeVerifier } from '../../storage/verifier-node.ts';
import { keyTable, type KeyResolver, type PublicJwk, type Signer, type Verifier } from '../../kernel/crypto/types.ts';

export const ORIGIN_ID = 'gw-origin';
export const DESTINATION_ID = 'gw-destination';

/** What one scenario did, counted at the seams: signers, verifiers and the log driver. */
export class Counts {
  signs = 0;
  verifies = 0;
  appends = 0;
  entries = 0;
  entryChars = 0;
  reset(): void {
    this.signs = this.verifies = this.appends = this.entries = this.entryChars = 0;
  }
}

export function countingSigner(signer: Signer, counts: Counts): Signer {
  return {
    alg: signer.alg,
    publicJwk: signer.publicJwk,
    sign: (data) => {
      counts.signs++;
      return signer.sign(data);
    },
  };
}

export function countingVerifier(verifier: Verifier, counts: Counts): Verifier {
  return {
    verify: (key, data, signature) => {
      counts.verifies++;
      return verifier.verify(key, data, signature);
    },
  };
}

export interface Identities {
  /** node:crypto's signers (storage/signer-node.ts), as the Node gateway and ledger processes sign. */
  origin: Signer;
  destination: Signer;
  ledgerA: Signer;
  ledgerB: Signer;
  keys: KeyResolver;
  /** The Node gateway's verifier (node:crypto ES256, as cli/gateway.ts uses), shared by every reader in the process. */
  verifier: Verifier;
}

let cached: Promise<Identities> | undefined;

/** One set of keys for the whole run (key generation is not what is measured). */
export function identities(): Promise<Identities> {
  cached ??= (async () => {
    const [origin, destination, ledgerA, ledgerB] = await Promise.all(
      [0, 1, 2, 3].map(async () => nodeSignerFromJwk((await generateWebCryptoSigner()).privateJwk)),
    );
    const table: Record<string, PublicJwk> = {
      [ORIGIN_ID]: origin!.publicJwk,
      [DESTINATION_ID]: destination!.publicJwk,
    };
    return {
      origin: origin!,
      destination: destination!,
      ledgerA: ledgerA!,
      ledgerB: ledgerB!,
      keys: keyTable(table),
      verifier: nodeVerifier(nobleVerifier()),
    };
  })();
  return cached;
}

/** The two gateways as each one's config names them: key, network, and the key of that network's ledger. */
export function benchPeers(id: Identities) {
  return {
    [ORIGIN_ID]: { publicJwk: id.origin.publicJwk, networkId: 'ledger-a', ledgerKey: id.ledgerA.publicJwk },
    [DESTINATION_ID]: { publicJwk: id.destination.publicJwk, networkId: 'ledger-b', ledgerKey: id.ledgerB.publicJwk },
  };
}
