// Takeover entries (recovery-04 §5.1 primary-backup, §6.1 replacement): a backup that takes a gateway's place
// appends one to each of that gateway's open chains, signed with its own key, naming the certificate that
// authorizes it. From that entry on the chain is signed with the backup's key; entries before it with the
// primary's. Who may be a successor is not the kernel's to decide: a SuccessorAuthority is handed in (the X.509
// one is identity/x509.ts `successorAuthority`), and without one no takeover is accepted.
import * as z from './zod.ts';
import { type ChainContext, type ChainHead, type EntryBody, ID_PATTERN, nextEntryBody } from './entry.ts';
import type { PublicJwk } from './crypto/types.ts';
import type { Json } from './json.ts';

/** The step label of a takeover entry. */
export const TAKEOVER_STEP = 'takeover';

/** What a takeover entry's payload holds. */
export interface TakeoverPayload {
  kind: 'takeover';
  /** The backup's own name (its certificate's subject), for the record; the chain's author stays the gateway's. */
  backup: string;
  /** The backup's certificate, DER in base64 (or PEM): what the authority checks. */
  certificate: string;
  /** The key the backup signs with from this entry on; it must be the one the certificate certifies. */
  publicKey: PublicJwk;
  /** The fencing epoch the backup holds (the store's lease), for the record. */
  epoch: number;
}

const takeoverSchema = z.strictObject({
  kind: z.literal('takeover'),
  backup: z.string().check(z.regex(ID_PATTERN)),
  certificate: z.string().check(z.minLength(1), z.maxLength(16_384)),
  publicKey: z.strictObject({
    kty: z.literal('EC'),
    crv: z.enum(['P-256', 'secp256k1']),
    x: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
    y: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
  }),
  epoch: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
});

/** An entry's takeover payload if it is a takeover entry; undefined for any other entry. Never throws. */
export function takeoverOf(entry: Pick<EntryBody, 'step' | 'payload'>): TakeoverPayload | undefined {
  if (entry.step !== TAKEOVER_STEP) return undefined;
  const parsed = takeoverSchema.safeParse(entry.payload);
  return parsed.success ? (parsed.data as TakeoverPayload) : undefined;
}

/** Whether an entry claims to be a takeover (its step says so), well-formed or not. */
export const claimsTakeover = (entry: Pick<EntryBody, 'step'>): boolean => entry.step === TAKEOVER_STEP;

export type SuccessorVerdict = { ok: true; key: PublicJwk; name: string } | { ok: false; detail: string };

/**
 * Whether `certificate` makes its holder a successor of gateway `gateway` at time `at` (ms since the epoch: the
 * takeover entry's timestamp, so a chain still verifies after the certificate expires), and with which key.
 * Must never throw; a refusal says why.
 */
export type SuccessorAuthority = (gateway: string, certificate: string, at: number) => Promise<SuccessorVerdict>;

/** A takeover recorded in a chain: from `seq` on (that entry included), entries are signed with `key`. */
export interface Succession {
  seq: number;
  key: PublicJwk;
}

/** The key in force at `seq` of a chain: the latest succession at or before it, else `primary`. */
export function keyAt(
  successions: readonly Succession[],
  seq: number,
  primary: PublicJwk | undefined,
): PublicJwk | undefined {
  let key = primary;
  for (const s of successions) if (s.seq <= seq) key = s.key;
  return key;
}

/** The body of the takeover entry that continues a chain at `head`, built by the backup. Pure. */
export function takeoverEntryBody(
  chain: ChainContext,
  head: ChainHead,
  takeover: Omit<TakeoverPayload, 'kind'>,
  phase: string,
  now: number,
): EntryBody {
  return nextEntryBody(chain, head, {
    phase,
    step: TAKEOVER_STEP,
    operation: 'exec',
    payload: { kind: 'takeover', ...takeover } as unknown as Json,
    timestamp: now,
  });
}
