// Keys, signed chains and probes for the storage conformance suite, built from the kernel alone so the
// suite can be imported by any driver's tests (automerge-repo style), not only by this repository's.
import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'vitest';
import { nobleSigner } from '../../kernel/crypto/noble.ts';
import { type KeyResolver, keyTable, type Signer } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { utf8 } from '../../kernel/encoding.ts';
import {
  type ChainContext,
  type ChainHead,
  EMPTY_HEAD,
  END_STEP,
  type EntryBody,
  type EntryStep,
  type LogEntry,
  logIdOf,
  nextEntryBody,
} from '../../kernel/entry.ts';
import { type ErrorCode, SatpError } from '../../kernel/errors.ts';
import type { Json } from '../../kernel/json.ts';
import { sealEntry, type VerifyContext } from '../../kernel/seal.ts';
import type { LogStoreDriver, StoredHead } from '../driver.ts';

export interface Gateway {
  id: string;
  signer: Signer;
}

// Deterministic keys (RFC 6979 signatures over fixed secrets), so every run signs the same bytes.
const gateway = (id: string): Gateway => ({ id, signer: nobleSigner('P-256', sha256(utf8(`satp-conformance:${id}`))) });

/** The author of the chains under test, a trusted peer, and an outsider whose key nobody trusts. */
export const AUTHOR: Gateway = gateway('gw-author');
export const PEER: Gateway = gateway('gw-peer');
export const OUTSIDER: Gateway = gateway('gw-outsider');

export const trustedKeys: KeyResolver = keyTable({
  [AUTHOR.id]: AUTHOR.signer.publicJwk,
  [PEER.id]: PEER.signer.publicJwk,
});
export const verifyContext = (): VerifyContext => ({ keys: trustedKeys, verifier: defaultVerifier() });

export const logIdFor = (sessionId: string, author: Gateway = AUTHOR): string => logIdOf(sessionId, author.id);

export function chainContext(sessionId: string, author: Gateway = AUTHOR): ChainContext {
  return {
    sessionId,
    contextId: `ctx-${sessionId}`,
    author: author.id,
    resourceUrl: 'https://ledger-a.example/assets/7',
    developerUrn: 'urn:satp-recovery:conformance',
    credentialProfile: 'X.509',
    credentialBlock: '',
    payloadProfile: 'conformance-asset',
    applicationProfile: 'satp-recovery-conformance',
    originGatewayPubkey: AUTHOR.signer.publicJwk,
    originGatewaySystem: 'ledger-a',
    destinationGatewayPubkey: PEER.signer.publicJwk,
    destinationGatewaySystem: 'ledger-b',
    loggingProfile: 'private-centralized',
    accessControlProfile: 'author-only',
  };
}

/** Step i of a session (recovery-04 §3.1: init, exec, done, ack in turn). */
export function step(i: number, extra: Partial<EntryStep> = {}): EntryStep {
  const operations = ['init', 'exec', 'done', 'ack'] as const;
  return {
    phase: 'lock-evidence',
    step: `2.${(i % 4) + 1}`,
    operation: operations[i % 4]!,
    payload: { i } as Json,
    timestamp: 1_700_000_000_000 + i,
    ...extra,
  };
}

export interface SealOptions {
  /** Whose chain the entry is in (default AUTHOR). */
  author?: Gateway;
  /** Who signs it (default the author). */
  signer?: Signer;
  step?: Partial<EntryStep>;
}

/** The entry after `head` in sessionId's chain: step i, signed by opts.signer. */
export function sealNext(sessionId: string, head: ChainHead, i: number, opts: SealOptions = {}): Promise<LogEntry> {
  const author = opts.author ?? AUTHOR;
  return sealEntry(
    nextEntryBody(chainContext(sessionId, author), head, step(i, opts.step)),
    opts.signer ?? author.signer,
  );
}

/** Re-seals an entry's body, changed by `edit`, with `signer`: what someone holding that key could forge. */
export function reseal(
  entry: LogEntry,
  signer: Signer,
  edit: (body: EntryBody) => EntryBody = (b) => b,
): Promise<LogEntry> {
  const { entryHash: _h, messageSignature: _s, ...body } = outside(entry);
  return sealEntry(edit(body as EntryBody), signer);
}

export interface ChainOptions {
  author?: Gateway;
  /** Make the last entry the session's `end` entry (kernel/entry.ts END_STEP). */
  end?: boolean;
  from?: ChainHead;
  /** Step numbers start here (a different offset gives a fork with different payloads). */
  offset?: number;
}

const chains = new Map<string, Promise<LogEntry[]>>();

/** A signed chain of n entries. Memoized: sealed entries are frozen, so every driver may share them. */
export function makeChain(sessionId: string, n: number, opts: ChainOptions = {}): Promise<LogEntry[]> {
  const from = opts.from ?? EMPTY_HEAD;
  const key = JSON.stringify([
    sessionId,
    n,
    opts.author?.id ?? AUTHOR.id,
    !!opts.end,
    from.seq,
    from.hash,
    opts.offset ?? 0,
  ]);
  let chain = chains.get(key);
  if (!chain) {
    chain = (async () => {
      const out: LogEntry[] = [];
      let head = from;
      for (let i = 0; i < n; i++) {
        const last = opts.end && i === n - 1;
        const e = await sealNext(sessionId, head, (opts.offset ?? 0) + i, {
          author: opts.author,
          step: last ? { step: END_STEP, operation: 'done' } : {},
        });
        out.push(e);
        head = { seq: e.seqNumber, hash: e.entryHash };
      }
      return out;
    })();
    chains.set(key, chain);
  }
  return chain;
}

export const headOf = (chain: readonly LogEntry[]): ChainHead => {
  const last = chain[chain.length - 1];
  return last ? { seq: last.seqNumber, hash: last.entryHash } : EMPTY_HEAD;
};

/** A plain deep copy, not sealed in this process: it arrives as from the network and is verified in full. */
export const outside = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export interface Snapshot {
  open: string[];
  logs: { logId: string; head: StoredHead | undefined; texts: string[] }[];
}

/** Everything the driver holds for these logs, byte for byte, plus the open-session list. */
export async function snapshot(driver: LogStoreDriver, logIds: readonly string[]): Promise<Snapshot> {
  const logs = [];
  for (const logId of logIds)
    logs.push({ logId, head: await driver.head(logId), texts: await driver.read(logId, 1, Number.MAX_SAFE_INTEGER) });
  return { open: (await driver.openLogs()).sort(), logs };
}

/** Awaits a promise that must reject with a SatpError of `code`, and returns that error. */
export async function refusal(promise: Promise<unknown>, code: ErrorCode): Promise<SatpError> {
  const outcome = await promise.then(
    (value: unknown) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  expect(outcome.rejected, `expected a SatpError ${code}, got a result`).toBe(true);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(SatpError);
  expect((error as SatpError).code, (error as Error).message).toBe(code);
  return error as SatpError;
}

export { prng } from './prng.ts';

/** The text with the char code at `index` XORed with `bit`. */
export const flip = (text: string, index: number, bit: number): string =>
  text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ bit) + text.slice(index + 1);
