// SATP core messages (draft-ietf-satp-core §4–§8): URNs, schemas and types. Validated before the reducer sees them.
import * as z from '../zod.ts';
import { HASH_PATTERN, hashJson } from '../hash.ts';
import { ID_PATTERN } from '../entry.ts';
import { jsonProblem, type Json } from '../json.ts';
import { RECOVERY_ALIASES, recoverySchemas, type RecoveryMessage } from './recovery-messages.ts';

export const SATP_VERSION = '1.0';
const NS = 'urn:ietf:params:satp:core:msgtype:';

export const MSG = {
  transferProposal: `${NS}transfer-proposal-msg`,
  proposalReceipt: `${NS}proposal-receipt-msg`,
  /** SATP core §5.3 defines the reject but registers no type for it; we name it in the same namespace. */
  proposalReject: `${NS}proposal-reject-msg`,
  transferCommence: `${NS}transfer-commence-msg`,
  ackCommence: `${NS}ack-commence-msg`,
  lockAssert: `${NS}lock-assert-msg`,
  assertionReceipt: `${NS}assertion-receipt-msg`,
  commitPrepare: `${NS}commit-prepare-msg`,
  commitReady: `${NS}commit-ready-msg`,
  /** The type list says ack-prepare-msg where §7.2 says commit-ready-msg: both are accepted for step 3.3. */
  ackPrepare: `${NS}ack-prepare-msg`,
  commitFinal: `${NS}commit-final-msg`,
  ackCommitFinal: `${NS}ack-commit-final-msg`,
  transferComplete: `${NS}commit-transfer-complete-msg`,
  error: `${NS}error-msg`,
  sessionAbort: `${NS}session-abort-msg`,
} as const;

const id = z.string().check(z.regex(ID_PATTERN));
const hash = z.string().check(z.regex(HASH_PATTERN));
const text = (max = 1024) => z.string().check(z.maxLength(max));
const claim = z.custom<Json>((v) => v !== null && typeof v === 'object' && jsonProblem(v) === undefined, {
  message: 'claim must be a JSON object',
});
const jwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.enum(['P-256', 'secp256k1']),
  x: z.string().check(z.maxLength(64)),
  y: z.string().check(z.maxLength(64)),
});
/**
 * An EC public key as SATP core's examples write it: the SEC 1 point in hex, compressed (02/03 and x) or not (04,
 * x and y). Core's text gives keys as JWK; its examples use hex "for brevity". Both are accepted.
 */
export const HEX_POINT = /^(?:0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$/;
const gatewayKey = z.union([jwk, z.string().check(z.regex(HEX_POINT))]);

/** Seconds a lock holds: at least one, at most 30 days. */
const lockSeconds = z.number().check(z.int(), z.minimum(1), z.maximum(30 * 24 * 3600));

/**
 * SATP core requires `version` on the transfer proposal, its receipt and the error message only. The others
 * accept it (this project sends it on every message, so its older releases, which required it, still read ours).
 */
const versioned = { version: z.literal(SATP_VERSION), sessionId: id, transferContextId: id };
const base = { version: z.optional(z.literal(SATP_VERSION)), sessionId: id, transferContextId: id };
const answer = { ...base, hashPrevMessage: hash };

/** The Transfer Initialization Claim (SATP core §5.1), with gateway keys as JWK. */
export const transferInitClaimSchema = z.strictObject({
  digitalAssetId: id,
  assetProfileId: text(256),
  networkLockType: z.enum(['TIME_LOCK', 'HASH_LOCK', 'HASH_TIME_LOCK']),
  /** Seconds the lock holds on the origin network (OPTIONAL in core: else networkLockExpirationTime, claimOf). */
  assetLockExpirationTime: z.optional(lockSeconds),
  verifiedOriginatorEntityId: text(512),
  verifiedBeneficiaryEntityId: text(512),
  originatorPublicKey: text(512),
  beneficiaryPublicKey: text(512),
  senderGatewaySignaturePublicKey: gatewayKey,
  receiverGatewaySignaturePublicKey: gatewayKey,
  senderGatewayId: id,
  recipientGatewayId: id,
  senderGatewayNetworkId: text(256),
  recipientGatewayNetworkId: text(256),
  /** OPTIONAL in core: accepted, checked for form, and not used. */
  senderGatewayDeviceIdentityPublicKey: z.optional(gatewayKey),
  receiverGatewayDeviceIdentityPublicKey: z.optional(gatewayKey),
  senderGatewayOwnerId: z.optional(text(512)),
  receiverGatewayOwnerId: z.optional(text(512)),
});
export type TransferInitClaim = z.infer<typeof transferInitClaimSchema>;

export const capabilitiesSchema = z.strictObject({
  gatewayDefaultSignatureAlgorithm: z.enum(['ES256', 'ES256K']),
  gatewaySupportedSignatureAlgorithms: z.optional(z.array(text(32)).check(z.maxLength(16))),
  networkLockType: z.enum(['TIME_LOCK', 'HASH_LOCK', 'HASH_TIME_LOCK']),
  networkLockExpirationTime: lockSeconds,
  gatewayTlsScheme: text(64),
});

const problem = {
  type: z.string().check(z.regex(/^urn:ietf:params:satp:core:error:err_[0-9.]+$/)),
  status: z.number().check(z.int(), z.minimum(400), z.maximum(599)),
  title: text(256),
  detail: z.optional(text(2048)),
};

export const messageSchemas = {
  [MSG.transferProposal]: z.strictObject({
    ...versioned,
    messageType: z.literal(MSG.transferProposal),
    transferInitClaimFormat: z.literal('TRANSFER_INIT_CLAIM_FORMAT_1'),
    transferInitClaim: transferInitClaimSchema,
    gatewayAndNetworkCapabilities: capabilitiesSchema,
  }),
  [MSG.proposalReceipt]: z.strictObject({
    ...versioned,
    /** Not in core's list for this message: sent by this project, optional on receipt (the claim hash binds it). */
    hashPrevMessage: z.optional(hash),
    messageType: z.literal(MSG.proposalReceipt),
    hashTransferInitClaim: hash,
    timestamp: z.string().check(z.maxLength(64)),
  }),
  [MSG.proposalReject]: z.strictObject({ ...answer, messageType: z.literal(MSG.proposalReject), ...problem }),
  [MSG.transferCommence]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.transferCommence),
    hashTransferInitClaim: hash,
  }),
  [MSG.ackCommence]: z.strictObject({ ...answer, messageType: z.literal(MSG.ackCommence) }),
  [MSG.lockAssert]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.lockAssert),
    lockAssertionClaimFormat: z.literal('LOCK_ASSERTION_CLAIM_FORMAT_1'),
    lockAssertionClaim: claim,
    /** RFC 3339 date-time at which the lock on the origin network expires. */
    lockAssertionExpiration: z.iso.datetime(),
  }),
  [MSG.assertionReceipt]: z.strictObject({ ...answer, messageType: z.literal(MSG.assertionReceipt) }),
  [MSG.commitPrepare]: z.strictObject({ ...answer, messageType: z.literal(MSG.commitPrepare) }),
  [MSG.commitReady]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.commitReady),
    mintAssertionFormat: z.literal('MINT_ASSERTION_CLAIM_FORMAT_1'),
    mintAssertionClaim: claim,
  }),
  [MSG.ackPrepare]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.ackPrepare),
    mintAssertionFormat: z.literal('MINT_ASSERTION_CLAIM_FORMAT_1'),
    mintAssertionClaim: claim,
  }),
  [MSG.commitFinal]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.commitFinal),
    burnAssertionClaimFormat: z.literal('BURN_ASSERTION_CLAIM_FORMAT_1'),
    burnAssertionClaim: claim,
  }),
  [MSG.ackCommitFinal]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.ackCommitFinal),
    assignmentAssertionClaimFormat: z.literal('ASSIGNMENT_ASSERTION_CLAIM_FORMAT_1'),
    assignmentAssertionClaim: claim,
  }),
  [MSG.transferComplete]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.transferComplete),
    hashTransferCommence: hash,
  }),
  [MSG.error]: z.strictObject({
    ...versioned,
    hashPrevMessage: hash,
    messageType: z.literal(MSG.error),
    ...problem,
    instance: z.optional(text(512)),
    prevMsgType: z.optional(text(128)),
    timestamp: z.string().check(z.maxLength(64)),
  }),
  [MSG.sessionAbort]: z.strictObject({
    ...answer,
    messageType: z.literal(MSG.sessionAbort),
    reason: z.optional(text(512)),
  }),
  ...recoverySchemas,
} as const;

export type MessageType = keyof typeof messageSchemas;
export type SatpMessage = { [K in MessageType]: z.infer<(typeof messageSchemas)[K]> }[MessageType];
export type CoreMessage = Exclude<SatpMessage, RecoveryMessage>;

/** The session context a message names: transferContextId in SATP core, contextId in recovery-04 §5.3. */
export const contextOf = (m: SatpMessage): string => ('transferContextId' in m ? m.transferContextId : m.contextId);
export type MessageOf<K extends MessageType> = z.infer<(typeof messageSchemas)[K]>;

export const isMessageType = (t: unknown): t is MessageType =>
  typeof t === 'string' && Object.hasOwn(messageSchemas, t);

/**
 * Parameter names as SATP core's examples write them, by message type, each with the name its parameter list
 * gives (the name this project sends and logs). docs/names.md lists them.
 */
export const FIELD_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  [MSG.lockAssert]: { lockAssetionExpiration: 'lockAssertionExpiration' },
  [MSG.commitReady]: { mintAssertionClaimFormat: 'mintAssertionFormat' },
  [MSG.ackPrepare]: { mintAssertionClaimFormat: 'mintAssertionFormat' },
};

/**
 * What this gateway sends beyond SATP core's parameter lists, by message type (the URN's last part): `version` on
 * every message (core lists it on three; our older releases require it everywhere), the proposal receipt's
 * hashPrevMessage (every answer names what it answers), and the session abort's context and reason. docs/names.md
 * documents them. A peer that implements core alone may ignore them all.
 */
export const CORE_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  'proposal-receipt-msg': ['hashPrevMessage'],
  'transfer-commence-msg': ['version'],
  'ack-commence-msg': ['version'],
  'lock-assert-msg': ['version'],
  'assertion-receipt-msg': ['version'],
  'commit-prepare-msg': ['version'],
  'commit-ready-msg': ['version'],
  'commit-final-msg': ['version'],
  'ack-commit-final-msg': ['version'],
  'commit-transfer-complete-msg': ['version'],
  'session-abort-msg': ['version', 'transferContextId', 'hashPrevMessage', 'reason'],
};

export type ParsedMessage = { ok: true; message: SatpMessage } | { ok: false; problem: string; messageType?: string };

/**
 * Validates an untrusted value as one SATP message; never throws. An older draft's name of a recovery message
 * (RECOVERY_ALIASES) is read as ours: the message returned carries our messageType. Its hash stays that of the
 * bytes as signed (the envelope computes it), so answers still name what the peer sent.
 */
export function parseMessage(value: unknown): ParsedMessage {
  const named = (value as { messageType?: unknown } | null)?.messageType;
  const t = typeof named === 'string' && Object.hasOwn(RECOVERY_ALIASES, named) ? RECOVERY_ALIASES[named] : named;
  if (!isMessageType(t)) return { ok: false, problem: `unknown messageType ${JSON.stringify(t)?.slice(0, 80)}` };
  let v = t === named ? value : { ...(value as object), messageType: t };
  // SATP core's examples spell two parameters otherwise than its parameter lists: either is read as the list's.
  const spelled = FIELD_ALIASES[t as string];
  if (spelled && v !== null && typeof v === 'object')
    for (const [alias, name] of Object.entries(spelled)) {
      const o = v as object;
      if (!Object.hasOwn(o, alias)) continue;
      if (Object.hasOwn(o, name))
        return { ok: false, problem: `${alias}: both ${alias} and ${name} are given`, messageType: t };
      const { [alias]: given, ...rest } = v as Record<string, unknown>;
      v = { ...rest, [name]: given };
    }
  const r = messageSchemas[t].safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || t}: ${issue?.message}`, messageType: t };
  }
  return { ok: true, message: v as SatpMessage };
}

/**
 * The proposal's claim with the seconds its lock holds filled in: assetLockExpirationTime is OPTIONAL in SATP
 * core, and then the capabilities' networkLockExpirationTime (REQUIRED) says it. For the session's state only: the
 * claim as received is what is logged and hashed.
 */
export function claimOf(
  m: MessageOf<typeof MSG.transferProposal>,
): TransferInitClaim & { assetLockExpirationTime: number } {
  const c = m.transferInitClaim;
  return {
    ...c,
    assetLockExpirationTime: c.assetLockExpirationTime ?? m.gatewayAndNetworkCapabilities.networkLockExpirationTime,
  };
}

/** A message's hash: SHA-256 of its canonical JSON (SATP core §4.2.13, hashPrevMessage). */
export const messageHash = (m: SatpMessage): string => hashJson(m as unknown as Json);
