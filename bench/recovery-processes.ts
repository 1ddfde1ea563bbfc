// Recovery as a user runs it: each gateway (`satp-gateway`, LevelDB, WebSocket) and each ledger server in its own
// process. The origin is killed right after it sends its proposal; while it is down the destination's chain grows
// by `lack` entries (written into its stopped store, as in the one-process part); the destination comes back and
// boots, then the origin restarts and is timed from its spawn to the RECOVER-SUCCESS that the destination sends,
// and to the end of the transfer. The CPU time each process spent in between (from /proc) shows which one bounds
// it: the sender reads and seals pages, the recovered gateway verifies and appends them, on cores of their own.
import { logIdOf } from '../kernel/entry.ts';
import { keyTable } from '../kernel/crypto/types.ts';
import { replay } from '../kernel/satp/state.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';
import { loadOrCreateKey } from '../gateway/keys.ts';
import { webCryptoVerifier } from '../kernel/crypto/webcrypto.ts';
import { bundleGateway } from '../test/support/gateway-bundle.ts';
import { cpuOf, now } from './lib/measure.ts';
import { startProcessWorld } from './lib/processes.ts';
import { check } from './lib/report.ts';
import { growChain } from './lib/history.ts';
import { withTempDir } from './lib/tmp.ts';

const WAIT_MS = 300_000;

export interface ProcessRecovery {
  /** From the origin's spawn to its store open and listening, to RECOVER-SUCCESS sent, to both ends committed. */
  listeningMs: number;
  successMs: number;
  doneMs: number;
  /** CPU seconds each process spent from the origin's spawn to RECOVER-SUCCESS. */
  cpu: { origin: number; destination: number; ledgers: number };
  /** Entries of the destination's chain the origin's copy gained. */
  recovered: number;
}

export async function recoverInProcesses(lack: number): Promise<ProcessRecovery> {
  const bundle = await bundleGateway();
  try {
    return await withTempDir('recovery-processes', (dir) => run(dir, lack, bundle.path));
  } finally {
    bundle.remove();
  }
}

async function run(dir: string, lack: number, bundle: string): Promise<ProcessRecovery> {
  const [asset, sessionId] = ['asset-1', 's-lack'];
  const world = await startProcessWorld(dir, bundle, [{ assetId: asset, owner: 'alice' }], {
    origin: ['--crash-after', 'sent:transfer-proposal-msg'],
  });
  const { pair, servers } = world;
  const [a, b] = world.ledgers;
  try {
    const { origin, destination } = pair.members;
    await origin
      .child!.request({
        cmd: 'transfer',
        sessionId,
        assetId: asset,
        originator: 'alice',
        beneficiary: 'bob',
        lockSeconds: 3_600,
      })
      .catch(() => undefined);
    const died = await origin.child!.exited;
    check(died.signal === 'SIGKILL', `the origin was killed after sending its proposal: ${JSON.stringify(died)}`);
    await destination.child!.waitFor(
      (e) => e.event === 'send' && e.session === sessionId && e.type === 'proposal-receipt-msg',
      WAIT_MS,
      'the destination answering the proposal',
    );
    const stopped = await destination.child!.stop();
    check(stopped.graceful, 'the destination stopped gracefully');

    // The destination's chain grows by `lack` entries while the origin is down.
    const key = await loadOrCreateKey(destination.keys);
    const store = new LogStore(await LevelDriver.open(destination.db), {
      keys: keyTable({ [destination.id]: key.publicJwk }),
      verifier: webCryptoVerifier(),
    });
    const logId = logIdOf(sessionId, destination.id);
    try {
      const state = replay(await store.getLog(logId));
      check(state, `the destination holds ${sessionId}`);
      await growChain(store, state, key, lack);
    } finally {
      await store.close();
    }
    await pair.launch('destination');

    const ledgerPids = servers.map((s) => s.child.pid ?? 0);
    const cpu0 = { destination: cpuOf(destination.child!.pid), ledgers: ledgerPids.map(cpuOf) };
    const t0 = now();
    const since = destination.child!.events.length;
    const child = await pair.launch('origin', { boot: false });
    const listeningMs = now() - t0;
    await destination.child!.waitFor(
      (e) => e.event === 'send' && e.session === sessionId && e.type === 'recover-success-msg',
      WAIT_MS,
      'RECOVER-SUCCESS',
      since,
    );
    const successMs = now() - t0;
    const cpu = {
      origin: cpuOf(child.pid),
      destination: cpuOf(destination.child!.pid) - cpu0.destination,
      ledgers: ledgerPids.reduce((n, pid, i) => n + cpuOf(pid) - cpu0.ledgers[i]!, 0),
    };
    const ended = (m: typeof origin) =>
      m.child!.waitFor((e) => e.event === 'outcome' && e.session === sessionId, WAIT_MS, `${m.id} ending`);
    const [o, d] = await Promise.all([ended(origin), ended(destination)]);
    const doneMs = now() - t0;
    check(o.outcome === 'committed' && d.outcome === 'committed', `${sessionId} committed: ${o.outcome}, ${d.outcome}`);
    check(
      (await a.asset(asset))?.state === 'burned' && (await b.asset(asset))?.owner === 'bob',
      `${asset} moved exactly once`,
    );
    const recovered = child.events
      .filter((e) => e.event === 'copy' && e.session === sessionId && e.author === destination.id)
      .reduce((n, e) => n + Number(e.entries), 0);
    check(recovered >= lack, `the origin's copy gained the ${lack} entries it lacked (${recovered})`);
    await pair.stop();
    return { listeningMs, successMs, doneMs, cpu, recovered };
  } finally {
    await world.close();
  }
}
