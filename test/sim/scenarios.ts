// The crash sweep's scenarios: the commit path and a rollback at each stage, each a script over the world's hooks.
import { GENESIS_HASH } from '../../kernel/entry.ts';
import { fromBase64Url, fromUtf8 } from '../../kernel/encoding.ts';
import { errorMessage, MSG, type SatpMessage } from '../../kernel/satp/index.ts';
import { sealMessage } from '../../kernel/satp/envelope.ts';
import type { GatewayConfig } from '../../kernel/satp/index.ts';
import { type NodeName, nodeOf } from './names.ts';
import { shortType } from './network.ts';
import type { World } from './world.ts';

export const SESSION = 'sweep-1';

export interface Scenario {
  name: string;
  lockSeconds: number;
  /** Who asks for the transfer on the origin ledger (the lock is refused if it is not the owner, alice). */
  originator?: string;
  nodeConfig?: Partial<Record<NodeName, Partial<GatewayConfig>>>;
  /**
   * The test sweeps a second crash through this scenario's recoveries. Of the error-msg variants it takes
   * one per SATP stage; the others get the full first-crash sweep in the test and the second crash in
   * the full sweep (`npm run simulate -- --sweep-all`), which bounds the test's time.
   */
  recoverySweep?: boolean;
  /** Installs the scenario's script (drops, replacements, aborts, scripted crashes) on a fresh world. */
  script?: (world: World) => void;
}

/** SATP core Figure 2, in order. */
export const FLOW = [
  MSG.transferProposal,
  MSG.proposalReceipt,
  MSG.transferCommence,
  MSG.ackCommence,
  MSG.lockAssert,
  MSG.assertionReceipt,
  MSG.commitPrepare,
  MSG.commitReady,
  MSG.commitFinal,
  MSG.ackCommitFinal,
  MSG.transferComplete,
] as const;

const dropEvery = (type: string) => (world: World) => {
  world.onDeliver = (m) => (m.type === type ? 'drop' : 'deliver');
};

/** The first `type` message on the wire is replaced by an error-msg from its sender about the message it answers. */
const errorInPlaceOf = (type: string) => (world: World) => {
  let done = false;
  world.onSend = async (from, _to, env) => {
    const m = JSON.parse(fromUtf8(fromBase64Url(env.payload))) as SatpMessage & {
      hashPrevMessage?: string;
      transferContextId: string;
    };
    if (done || m.messageType !== type) return undefined;
    done = true;
    const err = errorMessage(
      { code: 'err_0.1.1', status: 400, title: 'injected error' },
      {
        sessionId: m.sessionId,
        transferContextId: m.transferContextId,
        hashPrevMessage: m.hashPrevMessage ?? GENESIS_HASH,
      },
      'sweep',
      new Date(world.clock.now).toISOString(),
    );
    world.log(from, 'note', `scripted: error-msg in place of ${shortType(type)}`);
    return sealMessage(err, world.nodes[from].id, world.keyring.identity(world.nodes[from].id).signer);
  };
};

/**
 * Origin down across the destination's deadline: crashed as `when` happens, back after the lock expired. The
 * destination must not wait for it: once its deadline passed, the origin ledger's evidence settles its side (a
 * rollback burn of the mint, or the assign after the burn), and a destination that restarted meanwhile must
 * have armed its deadline again at boot. Checked whenever the destination was up long enough before the origin
 * came back.
 */
const originDownPastDeadline =
  (when: 'commit-ready arrives' | 'burn applied', lockSeconds: number) => (world: World) => {
    const grace = world.nodes.B.config.deadlineGraceMs;
    const away = lockSeconds * 1000 + grace + 10_000;
    let crashAt: number | undefined;
    let settledAt: number | undefined;
    const settles = when === 'commit-ready arrives' ? 'burn' : 'assign';
    const crashed = () => {
      crashAt = world.clock.now;
    };
    if (when === 'commit-ready arrives') {
      world.onDeliver = (m) => {
        if (crashAt !== undefined || m.type !== MSG.commitReady || !world.isUp('A')) return 'deliver';
        crashed();
        world.log('A', 'note', 'scripted: the origin dies as commit-ready arrives');
        return { crashReceiverFor: away };
      };
    }
    world.onLedgerApplied = (n, kind, ok) => {
      if (n === 'B' && kind === settles && ok) settledAt ??= world.clock.now;
      if (when !== 'burn applied' || crashAt !== undefined || n !== 'A' || kind !== 'burn' || !ok) return;
      crashed();
      world.log('A', 'note', 'scripted: the origin dies right after the burn applied, before logging it');
      void world.crash('A', () => false, world.clock.now + away);
    };
    world.expectations.push({
      invariant: "past its deadline the destination settles on the origin ledger's evidence, without the origin",
      check: () => {
        if (crashAt === undefined) return undefined;
        const back = crashAt + away;
        // The lock was taken before the crash: the destination's deadline falls by crashAt + lock + grace.
        const deadline = crashAt + lockSeconds * 1000 + grace;
        const last = world.timeline.events.filter(
          (e) => e.actor === 'B' && e.t < back && (e.kind === 'crash' || e.kind === 'restart'),
        );
        const upSince = last.length === 0 ? 0 : last[last.length - 1]!.kind === 'restart' ? last.at(-1)!.t : undefined;
        // Down at some point before the origin came back, or up too late to be held to it: nothing to check.
        if (upSince === undefined || Math.max(upSince, deadline) + SETTLE_SLACK_MS > back) return undefined;
        if (settledAt !== undefined && settledAt < back) return undefined;
        return (
          `the destination was up ${upSince <= crashAt ? 'all along' : `from +${upSince - crashAt} ms`}, ` +
          'its deadline fell ' +
          `by +${deadline - crashAt} ms, but it had not applied its ${settles} when the origin came back at ` +
          `+${away} ms (${settledAt === undefined ? 'never' : `at +${settledAt - crashAt} ms`})`
        );
      },
    });
  };

/** Time the destination may take past its deadline: an attestation asked again or two, a ledger call. */
const SETTLE_SLACK_MS = 6_000;

/** One error-msg per SATP stage changes the outcome's path (1: proposal-receipt, 2: lock-assert, 3: commit-ready). */
const STAGE_ERRORS: string[] = [MSG.proposalReceipt, MSG.lockAssert, MSG.commitReady];

export const SCENARIOS: Scenario[] = [
  { name: 'commit', lockSeconds: 30, recoverySweep: true },
  { name: 'proposal-rejected', lockSeconds: 10, nodeConfig: { B: { minLockSeconds: 30 } }, recoverySweep: true },
  { name: 'lock-refused', lockSeconds: 30, originator: 'mallory', recoverySweep: true },
  {
    name: 'deadline-before-commit-prepare',
    lockSeconds: 8,
    script: dropEvery(MSG.assertionReceipt),
    recoverySweep: true,
  },
  {
    name: 'abort-before-burn',
    lockSeconds: 30,
    recoverySweep: true,
    script: (world) => {
      dropEvery(MSG.commitReady)(world);
      world.onLedgerApplied = (n, kind, ok) => {
        if (n === 'B' && kind === 'mint' && ok) world.abort('A', SESSION);
      };
    },
  },
  ...FLOW.map((type) => ({
    name: `error-in-place-of-${shortType(type).replace(/-msg$/, '')}`,
    lockSeconds: 30,
    script: errorInPlaceOf(type),
    recoverySweep: STAGE_ERRORS.includes(type),
  })),
  {
    name: 'destination-deadline-after-mint-origin-down',
    lockSeconds: 8,
    script: originDownPastDeadline('commit-ready arrives', 8),
    recoverySweep: true,
  },
  {
    name: 'destination-deadline-after-burn-origin-down',
    lockSeconds: 8,
    script: originDownPastDeadline('burn applied', 8),
    recoverySweep: true,
  },
  {
    // The origin's burn applies but its answer is lost, and the origin ledger cannot be read until past the lock's
    // expiry: the origin's deadline passes with the burn's outcome unknown. The burn's exec is the origin's point
    // of no return: it settles the burn by asking and commits, never rolls back (an unlock would fail and a
    // ROLLBACK would make the destination burn its mint: the asset on neither ledger).
    name: 'origin-burn-outcome-unknown-past-deadline',
    lockSeconds: 8,
    script: (world) => {
      let lostAt: number | undefined;
      world.ledgerFault = (w) => {
        if (w.kind !== 'ledger' || w.ledger !== world.nodes.A.ledger || nodeOf(w.inc.node) !== 'A') return undefined;
        if (lostAt === undefined && w.call === 'execute' && w.op?.kind === 'burn') {
          lostAt = world.clock.now;
          world.log('A', 'note', "scripted: the burn applies, its answer is lost, the ledger can't be read for 10 s");
          return 'after';
        }
        return lostAt !== undefined && w.call === 'status' && world.clock.now < lostAt + 10_000 ? 'before' : undefined;
      };
    },
  },
  {
    // The origin ledger cannot answer the destination's first question past the deadline: no answer is no
    // evidence, so the destination must ask again (and find the burn), never read it as "no burn".
    name: 'destination-deadline-after-burn-origin-down-attest-fails-once',
    lockSeconds: 8,
    script: (world) => {
      originDownPastDeadline('burn applied', 8)(world);
      let failed = false;
      world.ledgerFault = (w) => {
        if (failed || w.kind !== 'ledger' || w.call !== 'attest') return undefined;
        failed = true;
        world.log('B', 'note', 'scripted: the origin ledger does not answer the first attestation');
        return 'before';
      };
    },
  },
];
