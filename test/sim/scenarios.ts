// The crash sweep's scenarios: the commit path and a rollback at each stage, each a script over the world's hooks.
import { GENESIS_HASH } from '../../kernel/entry.ts';
import { fromBase64Url, fromUtf8 } from '../../kernel/encoding.ts';
import { errorMessage, MSG, type SatpMessage } from '../../kernel/satp/index.ts';
import { sealMessage } from '../../kernel/satp/envelope.ts';
import type { GatewayConfig } from '../../kernel/satp/index.ts';
import type { NodeName } from './names.ts';
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

/** Origin down across the destination's deadline: crashed as `when` happens, back after the lock expired. */
const originDownPastDeadline =
  (when: 'commit-ready arrives' | 'burn applied', lockSeconds: number) => (world: World) => {
    const away = lockSeconds * 1000 + world.nodes.B.config.deadlineGraceMs + 10_000;
    let done = false;
    if (when === 'commit-ready arrives') {
      world.onDeliver = (m) => {
        if (done || m.type !== MSG.commitReady || !world.isUp('A')) return 'deliver';
        done = true;
        world.log('A', 'note', 'scripted: the origin dies as commit-ready arrives');
        return { crashReceiverFor: away };
      };
    } else {
      world.onLedgerApplied = (n, kind, ok) => {
        if (done || n !== 'A' || kind !== 'burn' || !ok) return;
        done = true;
        world.log('A', 'note', 'scripted: the origin dies right after the burn applied, before logging it');
        void world.crash('A', () => false, world.clock.now + away);
      };
    }
  };

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
