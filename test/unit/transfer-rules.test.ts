// The reducer's rules for the start of a transfer, field by field: the proposal the origin sends (SATP core
// §5: the transfer initiation claim and the capabilities a peer reads), what the destination checks in it
// before anything is logged, and its answer (receipt or reject). A peer implementation relies on these
// fields; each one is asserted, as are the bounds of the lock time on both sides.
import { describe, expect, it } from 'vitest';
import { hashJson } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import {
  type GatewayConfig,
  MSG,
  type MessageOf,
  type SatpMessage,
  SATP_VERSION,
  type SessionState,
  shortType,
  type TransferRequest,
} from '../../kernel/satp/index.ts';
import { GATEWAY_REFUSALS, SATP_ERRORS } from '../../kernel/satp/error-codes.ts';
import { claimReceipt, proofId } from '../../kernel/satp/claims.ts';
import { assignOp } from '../../kernel/satp/ops.ts';
import { MemoryLedger } from '../../ledgers/memory-ledger.ts';
import { committed, decideOn, destinationPromised, message, NOW } from '../support/reducer-rules.ts';
import {
  DESTINATION,
  LEDGER_B,
  lastOnWire,
  makePair,
  ORIGIN,
  outcomes,
  THIRD,
  typeOf,
  until,
} from '../support/satp-pair.ts';

type Proposal = MessageOf<typeof MSG.transferProposal>;

async function configs() {
  const pair = await makePair();
  return { pair, o: pair.origin.config, d: pair.destination.config };
}

const start = (cfg: GatewayConfig, request: TransferRequest) =>
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

  it('is not sent to an unknown peer, nor with a lock time out of bounds (the bounds are fine)', async () => {
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

  it('refuses, unlogged, a claim not naming both gateways, their keys and this network as they are', async () => {
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

describe("each side's chain", () => {
  const steps = async (pair: Awaited<ReturnType<typeof makePair>>, sid: string) =>
    Promise.all(
      [pair.origin, pair.destination].map(async (side) =>
        (await side.store.getLog(`${sid}/${side.config.id}`)).map((e) => `${e.step} ${e.operation}`),
      ),
    );

  it("records SATP core's steps in order: a committed transfer", async () => {
    const { pair } = await committed();
    const [origin, destination] = await steps(pair, 's-done');
    // 1.1 request, then each step's intent (init) before what it does (exec, done) or what arrived (ack).
    expect(origin).toEqual([
      '1.1 init',
      '1.1 init',
      '1.1 exec',
      '1.2 ack',
      '1.3 init',
      '1.3 exec',
      '1.4 ack',
      '2.1 init',
      '2.1 exec',
      '2.1 done',
      '2.2 init',
      '2.2 exec',
      '2.4 ack',
      '3.1 init',
      '3.1 exec',
      '3.3 ack',
      '3.4 init',
      '3.4 exec',
      '3.4 done',
      '3.5 init',
      '3.5 exec',
      '3.7 ack',
      '3.8 init',
      '3.8 done',
      '3.9 init',
      '3.9 exec',
      'end done',
    ]);
    expect(destination).toEqual([
      '1.1 ack',
      '1.2 init',
      '1.2 exec',
      '1.3 ack',
      '1.4 init',
      '1.4 exec',
      '2.2 ack',
      '2.3 init',
      '2.3 done',
      '2.4 init',
      '2.4 exec',
      '3.1 ack',
      '3.2 init',
      '3.2 exec',
      '3.2 done',
      '3.3 init',
      '3.3 exec',
      '3.5 ack',
      '3.6 init',
      '3.6 exec',
      '3.6 done',
      '3.7 init',
      '3.7 exec',
      '3.9 ack',
      'end done',
    ]);
  });

  it('a rejected proposal: the origin logs the reject at 1.2 and ends with its title', async () => {
    const pair = await makePair({ destination: { minLockSeconds: 30 } });
    await pair.origin.gw.startTransfer(pair.request('s-rej', { lockSeconds: 10 }));
    expect(await outcomes(pair, 's-rej')).toEqual(['rejected', 'rejected']);
    const [origin] = await steps(pair, 's-rej');
    expect(origin).toEqual(['1.1 init', '1.1 init', '1.1 exec', '1.2 ack', 'end done']);
    expect(pair.origin.gw.session('s-rej')!.status).toEqual({
      kind: 'ended',
      outcome: 'rejected',
      reason: SATP_ERRORS.unsupportedLockTime.title,
    });
  });
});

describe('messages that name the wrong claim or commence', () => {
  it("are refused with their stage's mismatch code, unlogged; the right ones are taken", async () => {
    const pair = await makePair();
    pair.drop = (_f, _t, env) => typeOf(env) === 'commit-transfer-complete-msg';
    await pair.origin.gw.startTransfer(pair.request('s-m'));
    await until(pair, () => pair.origin.gw.session('s-m')?.status.kind === 'ended', 20, 'origin ended');
    const sent = (type: string) => lastOnWire(pair, type);
    const o = pair.origin.config;
    const d = pair.destination.config;
    const proposal = sent('transfer-proposal-msg');
    const afterProposal = decideOn(undefined, { kind: 'start', now: NOW, request: pair.request('s-m') }, o).state!;
    const accepted = decideOn(undefined, message(proposal, ORIGIN.id), d).state!;
    // Each message its own hash (the proposal's is the default one): a shared hash would make it a duplicate.
    const H1 = '1'.repeat(64);
    const cfgOf = (from: string) => (from === ORIGIN.id ? d : o);
    const cases: [SessionState, SatpMessage, string, { code: string }][] = [
      [afterProposal, sent('proposal-receipt-msg'), DESTINATION.id, SATP_ERRORS.receiptClaimMismatch],
      [accepted, sent('transfer-commence-msg'), ORIGIN.id, SATP_ERRORS.commenceClaimMismatch],
    ];
    for (const [s, m, from, code] of cases) {
      const ok = decideOn(
        s,
        message({ ...m, hashPrevMessage: s.lastSent!.hash } as SatpMessage, from),
        o.id === from ? d : o,
      );
      expect(
        ok.reports.filter((x) => x.kind === 'refused'),
        m.messageType,
      ).toEqual([]);
      const wrong = { ...m, hashPrevMessage: s.lastSent!.hash, hashTransferInitClaim: 'b'.repeat(64) } as SatpMessage;
      const r = decideOn(s, message(wrong, from, [], H1), cfgOf(from));
      expect(r.entries, m.messageType).toEqual([]);
      expect(r.reports, m.messageType).toEqual([expect.objectContaining({ kind: 'refused', code: code.code })]);
    }
    // The destination waits for transfer-complete; one naming another commence is refused.
    const waiting = pair.destination.gw.session('s-m')!;
    const complete = pair.origin.gw.session('s-m')!.lastSent!.message;
    expect(complete.messageType).toBe(MSG.transferComplete);
    const right = decideOn(waiting, message(complete, ORIGIN.id, [], H1), d);
    expect(right.state!.status).toMatchObject({ kind: 'ended', outcome: 'committed' });
    const wrong = decideOn(
      waiting,
      message({ ...complete, hashTransferCommence: 'b'.repeat(64) } as SatpMessage, ORIGIN.id, [], H1),
      d,
    );
    expect(wrong.entries).toEqual([]);
    expect(wrong.reports).toEqual([
      expect.objectContaining({ kind: 'refused', code: SATP_ERRORS.commenceMismatch.code }),
    ]);
  });
});

describe("the origin's burn (3.4)", () => {
  it('starts only while the lock holds by more than the margin; closer, the origin rolls back and tells', async () => {
    const { pair, d } = await destinationPromised();
    const o = pair.origin.gw.session('s-prom')!;
    const ready = d.lastSent!.message;
    expect(ready.messageType).toBe(MSG.commitReady);
    const proofs = [proofId(claimReceipt((ready as MessageOf<typeof MSG.commitReady>).mintAssertionClaim))];
    const cfg = pair.origin.config;
    const at = (now: number) =>
      decideOn(o, { kind: 'message', now, from: DESTINATION.id, message: ready, hash: '1'.repeat(64), proofs }, cfg);
    const edge = o.lockExpiry! - cfg.burnMarginMs;
    const burns = at(edge - 1);
    expect(burns.effects.filter((e) => e.kind === 'ledger-execute')).toEqual([
      { kind: 'ledger-execute', op: expect.objectContaining({ kind: 'burn' }) },
    ]);
    for (const late of [edge, edge + 1]) {
      const r = at(late);
      expect(r.effects.some((e) => e.kind === 'ledger-execute' && e.op.kind === 'burn')).toBe(false);
      expect(r.state!.status).toEqual({
        kind: 'rolling-back',
        reason: 'commit-ready came too close to the lock expiry',
        notify: true,
      });
    }
  });
});

describe("the destination's assign (3.6)", () => {
  it('refused by its ledger after the burn: logged as failed, an operator called, nothing else done', async () => {
    const { pair, d } = await destinationPromised();
    const op = assignOp(d.sessionId, 'asset-1', 'bob');
    const waiting: SessionState = {
      ...d,
      pending: { op, purpose: 'forward', step: '3.6' },
      wait: { kind: 'ledger', opId: op.opId },
    };
    // A ledger with no such asset refuses the assign, and signs the refusal.
    const empty = new MemoryLedger({ id: 'ledger-b', signer: LEDGER_B.signer, now: () => NOW });
    const receipt = await empty.execute(op);
    expect(receipt.ok).toBe(false);
    const r = decideOn(
      waiting,
      { kind: 'ledger-result', now: NOW, opId: op.opId, receipt, verified: true },
      pair.destination.config,
    );
    expect(r.entries.map((e) => [e.step, e.operation])).toEqual([['3.6', 'fail']]);
    expect(r.reports).toEqual([
      { kind: 'needs-operator', detail: `assign refused after the burn: ${receipt.error!.code}` },
    ]);
    expect(r.sends).toEqual([]);
    expect(r.effects.some((e) => e.kind === 'ledger-execute')).toBe(false);
  });
});

describe('the destination on the lock assertion (2.2) and the commit-final (3.5)', () => {
  /** The origin's message of `type`, held on its way, and the destination's state waiting for it. */
  async function held(type: string, claimField: string) {
    const pair = await makePair();
    pair.drop = (_f, _t, env) => typeOf(env) === type;
    await pair.origin.gw.startTransfer(pair.request('s-h'));
    const last = () => pair.origin.gw.session('s-h')?.lastSent?.message.messageType;
    await until(pair, () => shortType(last() ?? '') === type, 20, type);
    const m = pair.origin.gw.session('s-h')!.lastSent!.message;
    const proofs = [proofId(claimReceipt((m as unknown as Record<string, unknown>)[claimField]))];
    const d = pair.destination.gw.session('s-h')!;
    const cfg = pair.destination.config;
    const at = (now: number) =>
      decideOn(d, { kind: 'message', now, from: ORIGIN.id, message: m, hash: '1'.repeat(64), proofs }, cfg);
    return { m, cfg, at };
  }

  it('a lock assertion is taken only before its expiry, and the deadline is set past it by the grace', async () => {
    const { m, cfg, at } = await held('lock-assert-msg', 'lockAssertionClaim');
    const expiry = Date.parse((m as MessageOf<typeof MSG.lockAssert>).lockAssertionExpiration);
    const taken = at(expiry - 1);
    expect(taken.reports.filter((x) => x.kind === 'refused')).toEqual([]);
    expect(taken.timers).toContainEqual({ kind: 'set-timer', timer: 'deadline', at: expiry + cfg.deadlineGraceMs });
    const late = at(expiry);
    expect(late.entries).toEqual([]);
    expect(late.reports).toEqual([expect.objectContaining({ code: SATP_ERRORS.lockAssertionExpired.code })]);
  });

  it('a commit-final with its burn proven clears the deadline: past the burn there is nothing to give up', async () => {
    const { at } = await held('commit-final-msg', 'burnAssertionClaim');
    const r = at(NOW);
    expect(r.effects).toContainEqual({ kind: 'clear-timer', timer: 'deadline' });
    expect(r.effects).toContainEqual({ kind: 'ledger-execute', op: expect.objectContaining({ kind: 'assign' }) });
  });
});
