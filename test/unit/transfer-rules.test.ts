// The reducer's rules for the start of a transfer, field by field: the proposal the origin sends (SATP core
// §5: the transfer initiation claim and the capabilities a peer reads), what the destination checks in it
// before anything is logged, and its answer (receipt or reject). A peer implementation relies on these
// fields; each one is asserted, as are the bounds of the lock time on both sides.
import { describe, expect, it } from 'vitest';
import { hashJson } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import { type GatewayConfig, MSG, type MessageOf, type SatpMessage, SATP_VERSION } from '../../kernel/satp/index.ts';
import { GATEWAY_REFUSALS, SATP_ERRORS } from '../../kernel/satp/error-codes.ts';
import { decideOn, message, NOW } from '../support/reducer-rules.ts';
import { DESTINATION, makePair, ORIGIN, THIRD } from '../support/satp-pair.ts';

type Proposal = MessageOf<typeof MSG.transferProposal>;

async function configs() {
  const pair = await makePair();
  return { pair, o: pair.origin.config, d: pair.destination.config };
}

const start = (cfg: GatewayConfig, request: ReturnType<Awaited<ReturnType<typeof configs>>['pair']['request']>) =>
  decideOn(undefined, { kind: 'start', now: NOW, request }, cfg);

describe('the transfer proposal (1.1)', () => {
  it('carries the claim and capabilities SATP core defines, logged before it is sent, with a deadline', async () => {
    const { pair, o, d } = await configs();
    const request = pair.request('s-1', { lockSeconds: 60 });
    const r = start(o, request);
    const claim = {
      digitalAssetId: 'asset-1',
      assetProfileId: 'test-profile',
      networkLockType: 'TIME_LOCK',
      assetLockExpirationTime: 60,
      verifiedOriginatorEntityId: 'alice',
      verifiedBeneficiaryEntityId: 'bob',
      originatorPublicKey: 'alice',
      beneficiaryPublicKey: 'bob',
      senderGatewaySignaturePublicKey: o.publicJwk,
      receiverGatewaySignaturePublicKey: d.publicJwk,
      senderGatewayId: ORIGIN.id,
      recipientGatewayId: DESTINATION.id,
      senderGatewayNetworkId: 'ledger-a',
      recipientGatewayNetworkId: 'ledger-b',
    };
    const proposal = {
      version: SATP_VERSION,
      messageType: MSG.transferProposal,
      sessionId: 's-1',
      transferContextId: 'ctx-s-1',
      transferInitClaimFormat: 'TRANSFER_INIT_CLAIM_FORMAT_1',
      transferInitClaim: claim,
      gatewayAndNetworkCapabilities: {
        gatewayDefaultSignatureAlgorithm: 'ES256',
        networkLockType: 'TIME_LOCK',
        networkLockExpirationTime: 60,
        gatewayTlsScheme: 'TLS_AES_128_GCM_SHA256',
      },
    };
    expect(r.effects).toEqual([
      { kind: 'send', to: DESTINATION.id, message: proposal, logged: true },
      { kind: 'set-timer', timer: 'deadline', at: NOW + 60_000 + o.deadlineGraceMs },
      { kind: 'set-timer', timer: 'retransmit', at: NOW + o.retransmitMs },
    ]);
    expect(r.entries.map((e) => [e.step, e.operation, e.phase])).toEqual([
      ['1.1', 'init', 'transfer-initiation'],
      ['1.1', 'init', 'transfer-initiation'],
      ['1.1', 'exec', 'transfer-initiation'],
    ]);
    expect(r.entries[0]!.payload).toEqual({ kind: 'request', request });
    expect(r.entries[2]!.payload).toEqual({
      kind: 'send',
      to: DESTINATION.id,
      message: proposal,
      hash: hashJson(proposal as unknown as Json),
      claimHash: hashJson(claim as unknown as Json),
    });
    expect(r.entries[0]!.actionResponse).toBe('transfer requested');
    expect(r.entries[0]!).toMatchObject({
      author: ORIGIN.id,
      originGatewayPubkey: o.publicJwk,
      originGatewaySystem: 'ledger-a',
      destinationGatewayPubkey: d.publicJwk,
      destinationGatewaySystem: 'ledger-b',
    });
    expect(r.state!.hashes.initClaim).toBe(hashJson(claim as unknown as Json));
    // A gateway with a secp256k1 key says so.
    const k1 = { ...o, publicJwk: { ...o.publicJwk, crv: 'secp256k1' as const } };
    const withK1 = start(k1, request).sends[0]!.message as Proposal;
    expect(withK1.gatewayAndNetworkCapabilities.gatewayDefaultSignatureAlgorithm).toBe('ES256K');
  });

  it('is not sent to an unknown peer, nor with a lock time out of bounds (the bounds themselves are fine)', async () => {
    const { pair, o } = await configs();
    const refused = (lockSeconds: number, peer = DESTINATION.id) => {
      const r = start(o, pair.request('s-1', { lockSeconds, peer }));
      expect(r.entries).toEqual([]);
      expect(r.sends).toEqual([]);
      return r.reports;
    };
    expect(refused(60, 'gw-nobody')).toEqual([
      { kind: 'refused', code: 'UNKNOWN_PEER', status: 400, detail: 'no peer gw-nobody' },
    ]);
    const bad = GATEWAY_REFUSALS.badRequest;
    for (const s of [o.minLockSeconds - 1, o.maxLockSeconds + 1])
      expect(refused(s)).toEqual([expect.objectContaining({ code: bad.code, status: bad.status })]);
    for (const s of [o.minLockSeconds, o.maxLockSeconds])
      expect(start(o, pair.request('s-1', { lockSeconds: s })).sends).toHaveLength(1);
  });
});

describe('the destination receiving a proposal (1.2)', () => {
  async function proposed(lockSeconds = 60) {
    const { pair, o, d } = await configs();
    const p = start(o, pair.request('s-1', { lockSeconds })).sends[0]!.message as Proposal;
    return { pair, o, d, p };
  }
  const edit = (p: Proposal, claim: Partial<Proposal['transferInitClaim']>): SatpMessage =>
    ({ ...p, transferInitClaim: { ...p.transferInitClaim, ...claim } }) as SatpMessage;

  it('answers with a receipt naming the claim, logs both, and gives the session until the lock time', async () => {
    const { o, d, p } = await proposed();
    const r = decideOn(undefined, message(p as SatpMessage, ORIGIN.id, [], 'e'.repeat(64)), d);
    const receipt = {
      version: SATP_VERSION,
      sessionId: 's-1',
      transferContextId: 'ctx-s-1',
      hashPrevMessage: 'e'.repeat(64),
      messageType: MSG.proposalReceipt,
      hashTransferInitClaim: hashJson(p.transferInitClaim as unknown as Json),
      timestamp: new Date(NOW).toISOString(),
    };
    expect(r.effects).toEqual([
      { kind: 'send', to: ORIGIN.id, message: receipt, logged: true },
      { kind: 'set-timer', timer: 'deadline', at: NOW + 60_000 + d.deadlineGraceMs },
      { kind: 'set-timer', timer: 'retransmit', at: NOW + d.retransmitMs },
    ]);
    expect(r.entries.map((e) => [e.step, e.operation])).toEqual([
      ['1.1', 'ack'],
      ['1.2', 'init'],
      ['1.2', 'exec'],
    ]);
    expect(r.entries[0]!).toMatchObject({
      author: DESTINATION.id,
      originGatewayPubkey: o.publicJwk,
      originGatewaySystem: 'ledger-a',
      destinationGatewayPubkey: d.publicJwk,
      destinationGatewaySystem: 'ledger-b',
    });
    expect(r.state!.role).toBe('destination');
  });

  it('refuses, unlogged, a claim that does not name both gateways, their keys and this network as they are', async () => {
    const { o, d, p } = await proposed();
    const cases: [string, SatpMessage, string][] = [
      ['sender id', edit(p, { senderGatewayId: THIRD.id }), ORIGIN.id],
      ['recipient id', edit(p, { recipientGatewayId: THIRD.id }), ORIGIN.id],
      ['sender key', edit(p, { senderGatewaySignaturePublicKey: d.publicJwk }), ORIGIN.id],
      ['recipient key', edit(p, { receiverGatewaySignaturePublicKey: o.publicJwk }), ORIGIN.id],
      ['recipient network', edit(p, { recipientGatewayNetworkId: 'ledger-a' }), ORIGIN.id],
    ];
    for (const [what, m, from] of cases) {
      const r = decideOn(undefined, message(m, from), d);
      expect(r.entries, what).toEqual([]);
      expect(r.reports, what).toEqual([expect.objectContaining({ code: SATP_ERRORS.invalidClaim.code })]);
      expect(
        r.sends.map((e) => [e.to, e.message.messageType, e.logged]),
        what,
      ).toEqual([[ORIGIN.id, MSG.error, false]]);
    }
    const stranger = decideOn(undefined, message(p as SatpMessage, 'gw-stranger'), d);
    expect(stranger.reports).toEqual([expect.objectContaining({ code: SATP_ERRORS.forbidden.code })]);
    expect(stranger.sends.map((e) => e.to)).toEqual(['gw-stranger']);
  });

  it('rejects, logged, a lock type or a lock time it does not support, and ends the session', async () => {
    const { d, p } = await proposed();
    const rejected = (m: SatpMessage, code: { code: string; status: number; title: string }) => {
      const r = decideOn(undefined, message(m, ORIGIN.id, [], 'e'.repeat(64)), d);
      expect(r.sends).toEqual([
        {
          kind: 'send',
          to: ORIGIN.id,
          logged: true,
          message: {
            version: SATP_VERSION,
            sessionId: 's-1',
            transferContextId: 'ctx-s-1',
            hashPrevMessage: 'e'.repeat(64),
            messageType: MSG.proposalReject,
            type: `urn:ietf:params:satp:core:error:${code.code}`,
            status: code.status,
            title: code.title,
          },
        },
      ]);
      expect(r.entries.map((e) => [e.step, e.operation])).toEqual([
        ['1.1', 'ack'],
        ['1.2', 'init'],
        ['1.2', 'exec'],
        ['end', 'done'],
      ]);
      expect(r.reports).toEqual([{ kind: 'ended', outcome: 'rejected', reason: code.title }]);
      expect(r.state!.status).toMatchObject({ kind: 'ended', outcome: 'rejected' });
    };
    rejected(edit(p, { networkLockType: 'HASH_LOCK' as 'TIME_LOCK' }), SATP_ERRORS.unsupportedLockType);
    for (const t of [d.minLockSeconds - 1, d.maxLockSeconds + 1])
      rejected(edit(p, { assetLockExpirationTime: t }), SATP_ERRORS.unsupportedLockTime);
    for (const t of [d.minLockSeconds, d.maxLockSeconds]) {
      const r = decideOn(undefined, message(edit(p, { assetLockExpirationTime: t }), ORIGIN.id), d);
      expect(r.sends.map((e) => e.message.messageType)).toEqual([MSG.proposalReceipt]);
    }
  });
});
