// The misbehaving peer: an adversary that holds the gateways' keys (and a third gateway's) and puts forged
// messages on the wire. Every forgery here is one an honest gateway must refuse (or, for a replay, answer as a
// duplicate at most): the invariant "no forged message is acted on" (invariants.ts) checks that none of their
// hashes was ever accepted into a chain, and the usual invariants check that nothing else changed.
import { sealEntry } from '../../kernel/seal.ts';
import type { EntryBody, LogEntry } from '../../kernel/entry.ts';
import { hashJson } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import type { LedgerReceipt } from '../../kernel/ledger.ts';
import { sealReceipt } from '../../kernel/ledger-receipt.ts';
import { type Envelope, sealMessage } from '../../kernel/satp/envelope.ts';
import { messageHash, MSG, pastNoReturn, RMSG, type SatpMessage } from '../../kernel/satp/index.ts';
import { GW, NODES, type NodeName, THIRD } from './names.ts';
import { payloadText } from './network.ts';
import type { Action } from './scheduler.ts';
import type { World } from './world.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

/** The kinds of forgery, each counted; a class that never ran fails the test (sim-schedules.test.ts). */
export const FORGERIES = [
  /**
   * A claim whose ledger receipt is signed by the gateway instead of its ledger, or is another op's, or a lock with a
   * moved expiry.
   */
  'forged-claim',
  /** A real transfer message with its hashPrevMessage changed. */
  'wrong-prev',
  /** A message of the session sent by a third gateway both sides know, which is the peer of neither session. */
  'third-gateway',
  /** A message of one session re-addressed to another session between the same gateways. */
  'cross-session',
  /** An old, genuine envelope sent again, byte for byte. */
  'stale-replay',
  /** RECOVER-SUCCESS, RECOVER-UPDATE-ACK or RECOVER-DISPUTE that answer nothing of the receiver's. */
  'unbound-recovery',
  /** A RECOVER-UPDATE for the receiver's pending RECOVER whose entries do not verify. */
  'bad-update',
  /** session-abort or ROLLBACK (without the ledger's evidence) after the receiver's point of no return. */
  'late-abort',
] as const;
export type Forgery = (typeof FORGERIES)[number];

const TRANSFER_TYPES: ReadonlySet<string> = new Set(Object.values(MSG).filter((t) => t !== MSG.error));
const CLAIM_FIELD: Record<string, string> = {
  [MSG.lockAssert]: 'lockAssertionClaim',
  [MSG.commitReady]: 'mintAssertionClaim',
  [MSG.ackPrepare]: 'mintAssertionClaim',
  [MSG.commitFinal]: 'burnAssertionClaim',
  [MSG.ackCommitFinal]: 'assignmentAssertionClaim',
};

type Message = SatpMessage & Record<string, unknown>;
const decode = (env: Envelope): Message => JSON.parse(payloadText(env.payload)) as Message;
const randomHash = (rng: () => number): string =>
  Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(rng() * 16)]).join('');
const pick = <T>(rng: () => number, xs: readonly T[]): T | undefined =>
  xs.length ? xs[Math.floor(rng() * xs.length)] : undefined;

/** A genuine message seen on the wire: who sent it to whom, and its payload. */
interface Seen {
  from: string;
  to: string;
  env: Envelope;
  message: Message;
}

export class Liar {
  /**
   * The forgeries an honest gateway must refuse, by `hash|sender` (a third gateway's copy of a genuine message has
   * the genuine hash: only the sender tells them apart), with their kind.
   */
  readonly forged = new Map<string, Forgery>();
  /** Every genuine message sent in the run, oldest first (the liar reads the wire). */
  readonly seen: Seen[] = [];

  constructor(
    readonly world: World,
    readonly rng: () => number,
    /** Relative weights of the forgeries this seed uses (0: never). */
    readonly weights: Record<Forgery, number>,
  ) {}

  /** The wire tells the liar of each genuine message as it is sent. */
  observe(from: string, to: string, env: Envelope): void {
    this.seen.push({ from, to, env, message: decode(env) });
  }

  /** The forgeries possible now, each as a scheduler action. */
  actions(): Action[] {
    const acts: Action[] = [];
    for (const kind of FORGERIES) {
      const w = this.weights[kind];
      if (w > 0 && this.seen.length > 0) acts.push({ weight: w, run: () => this.forge(kind) });
    }
    return acts;
  }

  async forge(kind: Forgery): Promise<void> {
    const made = await this.#make(kind);
    if (!made) return;
    const { from, to, message, mustRefuse } = made;
    const env = await sealMessage(message, from, this.world.keyring.identity(from).signer);
    if (mustRefuse) this.forged.set(`${messageHash(message)}|${from}`, kind);
    this.world.counts.forgeries[kind] = (this.world.counts.forgeries[kind] ?? 0) + 1;
    const m = this.world.wire.send(from, GW[to], env, this.world.clock.now + Math.floor(this.rng() * 300));
    this.world.log(
      'liar',
      'forge',
      `#${m.id} ${kind}: ${message.messageType.split(':').pop()} ${message.sessionId} as ${from} → ${GW[to]}`,
    );
  }

  async #make(
    kind: Forgery,
  ): Promise<{ from: string; to: NodeName; message: SatpMessage; mustRefuse: boolean } | undefined> {
    const rng = this.rng;
    const toNode = (id: string): NodeName => (id === GW.A ? 'A' : 'B');
    switch (kind) {
      case 'forged-claim': {
        const s = pick(
          rng,
          this.seen.filter((x) => CLAIM_FIELD[x.message.messageType]),
        );
        if (!s) return undefined;
        const field = CLAIM_FIELD[s.message.messageType]!;
        const receipt = (s.message[field] as { receipt?: LedgerReceipt } | undefined)?.receipt;
        if (!receipt) return undefined;
        const variant = rng();
        let forged: Message;
        if (variant < 0.4) {
          // The ledger's receipt re-signed by the sending gateway: well formed, signed by the wrong key.
          const { proof: _p, ...body } = receipt;
          forged = {
            ...s.message,
            [field]: {
              receipt: await sealReceipt(body, this.world.keyring.identity(s.from).signer),
            } as unknown as Json,
          };
        } else if (variant < 0.8 || s.message.messageType !== MSG.lockAssert) {
          // A genuine receipt of the same ledger for another operation.
          const ledger = this.world.nodes[toNode(s.from)].ledger;
          const other = pick(
            rng,
            ledger.ops().filter((o) => o.receipt.opId !== receipt.opId && o.receipt.ok),
          );
          if (!other) return undefined;
          forged = { ...s.message, [field]: { receipt: other.receipt } as unknown as Json };
        } else {
          // The genuine lock receipt with the lock's expiry moved.
          const at = Date.parse(String(s.message.lockAssertionExpiration)) + 60_000;
          forged = { ...s.message, lockAssertionExpiration: new Date(at).toISOString() };
        }
        return { from: s.from, to: toNode(s.to), message: forged, mustRefuse: true };
      }
      case 'wrong-prev': {
        const s = pick(
          rng,
          this.seen.filter((x) => TRANSFER_TYPES.has(x.message.messageType) && 'hashPrevMessage' in x.message),
        );
        if (!s) return undefined;
        return {
          from: s.from,
          to: toNode(s.to),
          message: { ...s.message, hashPrevMessage: randomHash(rng) } as SatpMessage,
          mustRefuse: true,
        };
      }
      case 'third-gateway': {
        const s = pick(rng, this.seen);
        if (!s) return undefined;
        // Anything a session's peer may send, sent by a gateway that is not that peer.
        return { from: THIRD, to: toNode(s.to), message: s.message, mustRefuse: true };
      }
      case 'cross-session': {
        const bound = this.seen.filter(
          (x) => TRANSFER_TYPES.has(x.message.messageType) && x.message.messageType !== MSG.transferProposal,
        );
        const s = pick(rng, bound);
        if (!s) return undefined;
        const sessions = [
          ...new Set(this.seen.filter((x) => x.from === s.from && x.to === s.to).map((x) => x.message.sessionId)),
        ].filter((id) => id !== s.message.sessionId);
        const target = pick(rng, sessions);
        if (!target) return undefined;
        const ctx = this.seen.find((x) => x.message.sessionId === target)!.message;
        const context = 'transferContextId' in ctx ? ctx.transferContextId : (ctx as { contextId: string }).contextId;
        const moved = {
          ...s.message,
          sessionId: target,
          ...('transferContextId' in s.message ? { transferContextId: context } : { contextId: context }),
        } as Message;
        return { from: s.from, to: toNode(s.to), message: moved, mustRefuse: true };
      }
      case 'stale-replay': {
        const s = pick(rng, this.seen);
        if (!s) return undefined;
        const m = this.world.wire.send(s.from, s.to, s.env, this.world.clock.now + Math.floor(rng() * 300));
        this.world.counts.forgeries[kind] = (this.world.counts.forgeries[kind] ?? 0) + 1;
        this.world.log(
          'liar',
          'forge',
          `#${m.id} stale-replay of ${s.message.messageType.split(':').pop()} ${s.message.sessionId} → ${s.to}`,
        );
        return undefined;
      }
      case 'unbound-recovery': {
        const live = this.#liveSessions();
        const t = pick(rng, live);
        if (!t) return undefined;
        const base = { version: '1.0', sessionId: t.sessionId, contextId: t.contextId };
        const which = rng();
        const message =
          which < 0.4
            ? {
                ...base,
                messageType: RMSG.recoverSuccess,
                hashRecoverUpdateAckMessage: randomHash(rng),
                success: rng() < 0.5,
              }
            : which < 0.7
              ? {
                  ...base,
                  messageType: RMSG.recoverUpdateAck,
                  hashRecoverUpdateMessage: randomHash(rng),
                  success: true,
                  entriesChanged: [],
                }
              : {
                  ...base,
                  messageType: RMSG.recoverDispute,
                  hashPrevMessage: randomHash(rng),
                  seqNumber: 1,
                  detail: 'forged',
                };
        return { from: t.peer, to: t.node, message: message as unknown as SatpMessage, mustRefuse: true };
      }
      case 'bad-update': {
        const t = pick(
          rng,
          this.#liveSessions().filter((x) => x.recoverHash),
        );
        if (!t) return undefined;
        const page = await this.#badPage(t.peer, t.sessionId);
        if (!page) return undefined;
        const message = {
          version: '1.0',
          sessionId: t.sessionId,
          contextId: t.contextId,
          messageType: RMSG.recoverUpdate,
          hashRecoverMessage: t.recoverHash!,
          recoveredLogs: page as unknown as Json[],
          more: false,
        };
        return { from: t.peer, to: t.node, message: message as SatpMessage, mustRefuse: true };
      }
      case 'late-abort': {
        const t = pick(
          rng,
          this.#liveSessions().filter((x) => x.pastNoReturn && x.lastReceived),
        );
        if (!t) return undefined;
        const message =
          rng() < 0.5
            ? {
                version: '1.0',
                sessionId: t.sessionId,
                transferContextId: t.contextId,
                messageType: MSG.sessionAbort,
                hashPrevMessage: t.lastReceived!,
                reason: 'forged',
              }
            : {
                version: '1.0',
                sessionId: t.sessionId,
                contextId: t.contextId,
                messageType: RMSG.rollback,
                hashPrevMessage: t.lastReceived!,
                success: true,
                actionsPerformed: [],
                proofs: [],
                reason: 'forged',
              };
        return { from: t.peer, to: t.node, message: message as SatpMessage, mustRefuse: true };
      }
    }
  }

  /** Sessions live on an up gateway: who holds them, their peer, and what a forger needs to bind to them. */
  #liveSessions() {
    return NODES.flatMap((node) =>
      (this.world.nodes[node].inc?.gw.sessions() ?? [])
        .filter((s) => !outcomeOf(s) && s.status.kind !== 'disputed' && s.peer)
        .map((s) => ({
          node,
          peer: s.peer,
          sessionId: s.sessionId,
          contextId: s.contextId,
          recoverHash: s.recovery?.status === 'recovering' ? s.recovery.recoverHash : undefined,
          lastReceived: s.lastReceived,
          pastNoReturn: pastNoReturn(s),
        })),
    );
  }

  /** A page of `author`'s chain of the session that fails verification in one of four ways. */
  async #badPage(author: string, sessionId: string): Promise<unknown[] | undefined> {
    const node = NODES.find((n) => GW[n] === author);
    const texts = node ? this.world.nodes[node].disk.logs.get(`${sessionId}/${author}`) : undefined;
    if (!texts || texts.length < 2) return undefined;
    const entries = texts.map((t) => JSON.parse(t) as LogEntry);
    const i = Math.floor(this.rng() * (entries.length - 1));
    const way = this.rng();
    if (way < 0.25) {
      // A signature that is not the author's.
      entries[i] = { ...entries[i]!, messageSignature: entries[i + 1]!.messageSignature };
    } else if (way < 0.5) {
      // An entry changed and re-signed by its author's key: the next entry's link no longer holds.
      const { entryHash: _h, messageSignature: _s, ...body } = entries[i]!;
      const changed = { ...body, actionResponse: `${body.actionResponse} (forged)` } as EntryBody;
      entries[i] = await sealEntry(
        { ...changed, payloadHash: hashJson(changed.payload) },
        this.world.keyring.identity(author).signer,
      );
    } else if (way < 0.75) {
      // A gap.
      entries.splice(i, 1);
      if (i === 0) return undefined;
    } else {
      // An entry of the chain written by another gateway (the third one, with its own valid signature).
      const { entryHash: _h, messageSignature: _s, ...body } = entries[i]!;
      entries[i] = await sealEntry(
        { ...(body as EntryBody), author: THIRD },
        this.world.keyring.identity(THIRD).signer,
      );
    }
    return entries;
  }
}
