// The recovery messages of recovery-04 §5.3 (URNs urn:ietf:SATP-2pc:msgtype:*).
import * as z from '../zod.ts';
import { HASH_PATTERN } from '../hash.ts';
import { ID_PATTERN } from '../entry.ts';
import type { Json } from '../json.ts';

const NS = 'urn:ietf:SATP-2pc:msgtype:';
export const RMSG = {
  recover: `${NS}recover-msg`,
  recoverUpdate: `${NS}recover-update-msg`,
  /** recovery-04 §5.3.3 titles this RECOVER-SUCCESS but types it recover-update-ack-msg. */
  recoverUpdateAck: `${NS}recover-update-ack-msg`,
  recoverSuccess: `${NS}recover-success-msg`,
  recoverDispute: `${NS}recover-dispute-msg`,
  rollback: `${NS}rollback-msg`,
  rollbackAck: `${NS}rollback-ack-msg`,
} as const;

/**
 * Older drafts' names for the recovery messages, as URNs in the same namespace (those drafts give no URN: the
 * name lowercased, with `-msg`, as recovery-04 forms its own), and the message each means here. Accepted on
 * receipt; this gateway sends only the names of RMSG. docs/names.md has the whole table.
 */
export const RECOVERY_ALIASES: Readonly<Record<string, (typeof RMSG)[keyof typeof RMSG]>> = {
  /** The section titles of -01, -03, -04 and -05 spell RECOVER-UPDATE this way. */
  [`${NS}recover-udpdate-msg`]: RMSG.recoverUpdate,
  /** -01 titles the recovered gateway's confirmation RECOVER-CONFIRM; its text and -05 §5.1 say RECOVERY-CONFIRM. */
  [`${NS}recover-confirm-msg`]: RMSG.recoverUpdateAck,
  [`${NS}recovery-confirm-msg`]: RMSG.recoverUpdateAck,
  /** The counterparty's answer: RECOVER-ACK (-01), RECOVERY-ACK (-01, -05 §5.1), "recover-ack" (-05 §5.3.4). */
  [`${NS}recover-ack-msg`]: RMSG.recoverSuccess,
  [`${NS}recovery-ack-msg`]: RMSG.recoverSuccess,
};

/**
 * At most this many of its entries a gateway sends in one RECOVER-UPDATE (the rest follow on the next RECOVER).
 * Pages are sized by their text (RECOVER_PAGE_CHARS): this count only bounds a page of small entries, so that
 * the hashes of a whole page, which the logged send and receipt list, stay within an entry's payload (512 of
 * them take about 34 Ki of its 64 Ki characters). Every page costs a round trip, two signed messages and synced
 * appends, so fewer, fuller pages recover faster: 128 entries of a typical 2 KiB filled only half of a page.
 */
export const RECOVER_PAGE = 512;
/**
 * And at most this many characters of stored entry text: entries may be up to 160 KiB each, and a page of
 * many of them would not fit the 1 MiB message limit. 512 Ki characters of entries, in base64url inside the
 * signed envelope, stay well under it.
 */
export const RECOVER_PAGE_CHARS = 512 * 1024;
/**
 * A RECOVER for a session that has ended here is answered unlogged with a page of at most this many
 * characters (at least one entry): an ended session has nothing to resume, so one message never makes this
 * gateway send more than about 30 times its size; the recovering side pages on with `more`.
 */
export const ENDED_PAGE_CHARS = 16 * 1024;

const id = z.string().check(z.regex(ID_PATTERN));
const hash = z.string().check(z.regex(HASH_PATTERN));
const seq = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const jwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string().check(z.maxLength(64)),
  y: z.string().check(z.maxLength(64)),
});
const base = { version: z.literal('1.0'), sessionId: id, contextId: id };
/** Entries of a chain: validated as log entries (schema, hashes, links, signatures) by the store, not here. */
const entries = z
  .array(z.custom<Json>((v) => v !== null && typeof v === 'object' && !Array.isArray(v)))
  .check(z.maxLength(RECOVER_PAGE));
const actions = z.array(z.enum(['UNLOCK', 'BURN'])).check(z.maxLength(4));
const proofs = z.array(z.custom<Json>((v) => v !== null && typeof v === 'object')).check(z.maxLength(4));

export const recoverySchemas = {
  /** §5.3.1: the recovered gateway's state: its own head, and how much of the peer's chain it holds. */
  [RMSG.recover]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.recover),
    phase: z.string().check(z.maxLength(64)),
    seqNumber: seq,
    lastEntryHash: hash,
    peerSeqNumber: seq,
    peerLastEntryHash: hash,
    lastEntryTimestamp: seq,
    isBackup: z.boolean(),
    newIdentityPublicKey: z.optional(jwk),
  }),
  /** §5.3.2: the entries of the sender's chain the recovered gateway lacks (getLogDiff). */
  [RMSG.recoverUpdate]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.recoverUpdate),
    hashRecoverMessage: hash,
    recoveredLogs: entries,
    more: z.boolean(),
  }),
  /** §5.3.3: the recovered gateway logged them: success and the hashes it appended. */
  [RMSG.recoverUpdateAck]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.recoverUpdateAck),
    hashRecoverUpdateMessage: hash,
    success: z.boolean(),
    entriesChanged: z.array(hash).check(z.maxLength(RECOVER_PAGE)),
  }),
  /** §5.1 step 3: the counterparty confirms; both resume. */
  [RMSG.recoverSuccess]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.recoverSuccess),
    hashRecoverUpdateAckMessage: hash,
    success: z.boolean(),
  }),
  /** §5.3.3: two views of one chain disagree; the session stops for an operator. */
  [RMSG.recoverDispute]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.recoverDispute),
    hashPrevMessage: hash,
    seqNumber: seq,
    ours: z.optional(hash),
    theirs: z.optional(hash),
    detail: z.string().check(z.maxLength(1024)),
  }),
  /** §5.3.4: the sender rolled back (actions, proofs); the receiver rolls back too and acknowledges. */
  [RMSG.rollback]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.rollback),
    hashPrevMessage: hash,
    success: z.boolean(),
    actionsPerformed: actions,
    proofs,
    reason: z.string().check(z.maxLength(512)),
  }),
  /** §5.3.5 */
  [RMSG.rollbackAck]: z.strictObject({
    ...base,
    messageType: z.literal(RMSG.rollbackAck),
    hashRollbackMessage: hash,
    success: z.boolean(),
    actionsPerformed: actions,
    proofs,
  }),
} as const;

export type RecoveryType = keyof typeof recoverySchemas;
export type RecoveryMessage = { [K in RecoveryType]: z.infer<(typeof recoverySchemas)[K]> }[RecoveryType];
export type RecoveryOf<K extends RecoveryType> = z.infer<(typeof recoverySchemas)[K]>;
export const shortType = (urn: string): string => urn.slice(urn.lastIndexOf(':') + 1);
