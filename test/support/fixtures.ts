// Shared test fixtures: gateways with keys, chain contexts, and signed chains built through the kernel.
import {
  defaultVerifier,
  EMPTY_HEAD,
  keyTable,
  nextEntryBody,
  sealEntry,
  type ChainContext,
  type ChainHead,
  type EntryStep,
  type Json,
  type LogEntry,
  type PublicJwk,
  type Signer,
} from '../../kernel/index.ts';
import { nobleSigner } from '../../kernel/crypto/noble.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64Url, utf8 } from '../../kernel/encoding.ts';
import { webCryptoSignerFromJwk } from '../../kernel/crypto/webcrypto.ts';

export interface TestGateway {
  id: string;
  signer: Signer;
  jwk: PublicJwk;
  /** The 32-byte secret key, so a faster WebCrypto signer can be made for the same identity. */
  secret: Uint8Array;
}

/** A gateway with a deterministic key (derived from its id), so fixtures are reproducible. */
export function testGateway(id: string, crv: 'P-256' | 'secp256k1' = 'P-256'): TestGateway {
  const secret = sha256(utf8(`test-key:${crv}:${id}`));
  const signer = nobleSigner(crv, secret);
  return { id, signer, jwk: signer.publicJwk, secret };
}

export const G1 = testGateway('gw-origin');
export const G2 = testGateway('gw-destination');
export const MALLORY = testGateway('gw-mallory');

/** Keys trusted by the tests: G1 and G2, not MALLORY. */
export const trustedKeys = keyTable({ [G1.id]: G1.jwk, [G2.id]: G2.jwk });
export const verifyCtx = { keys: trustedKeys, verifier: defaultVerifier() };

export function chainContext(sessionId: string, author: TestGateway = G1, origin = G1, destination = G2): ChainContext {
  return {
    sessionId,
    contextId: `ctx-${sessionId}`,
    author: author.id,
    resourceUrl: 'https://ledger-a.example/assets/1',
    developerUrn: 'urn:satp-recovery:test',
    credentialProfile: 'X.509',
    credentialBlock: '',
    payloadProfile: 'test-asset-profile',
    applicationProfile: 'satp-recovery-tests',
    originGatewayPubkey: origin.jwk,
    originGatewaySystem: 'ledger-a',
    destinationGatewayPubkey: destination.jwk,
    destinationGatewaySystem: 'ledger-b',
    loggingProfile: 'private-centralized',
    accessControlProfile: 'author-only',
  };
}

export function step(i: number, extra: Partial<EntryStep> = {}): EntryStep {
  return {
    phase: 'transfer-initiation',
    step: `1.${(i % 4) + 1}`,
    operation: 'init',
    payload: { i } as Json,
    timestamp: 1_700_000_000_000 + i,
    ...extra,
  };
}

/** A signed chain of `n` entries for `sessionId`, written by `author`, continuing from `from`. */
export async function makeChain(
  sessionId: string,
  n: number,
  author: TestGateway = G1,
  from: ChainHead = EMPTY_HEAD,
  offset = 0,
): Promise<LogEntry[]> {
  const ctx = chainContext(sessionId, author);
  const out: LogEntry[] = [];
  let head = from;
  for (let i = 0; i < n; i++) {
    const e = await sealEntry(nextEntryBody(ctx, head, step(offset + i)), author.signer);
    out.push(e);
    head = { seq: e.seqNumber, hash: e.entryHash };
  }
  return out;
}

/** A plain (unfrozen, not sealed-here) deep copy, as an entry arriving from outside would be. */
export const fromOutside = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The same P-256 identity with a WebCrypto signer (about 7× faster than noble here; not deterministic). */
export async function webCryptoTestGateway(g: TestGateway): Promise<TestGateway> {
  const signer = await webCryptoSignerFromJwk({
    kty: 'EC',
    crv: 'P-256',
    x: g.jwk.x,
    y: g.jwk.y,
    d: toBase64Url(g.secret),
  });
  return { ...g, signer };
}
