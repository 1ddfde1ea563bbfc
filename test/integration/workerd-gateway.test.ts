// A gateway in workerd as a Durable Object (edge/gateway-object.ts, run from examples/workerd/gateway-worker.ts by
// miniflare) and a Node gateway built with startGateway in this process move assets both ways over WebSocket. The
// object is stopped mid-transfer with workerd itself and started again on its persisted storage; and it rolls a
// transfer back past the deadline while evicted, woken by its alarm alone. Every wait is on an event or a long poll
// of the object, bounded in count and time; the invariants are those of every other two-gateway test.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TransferRequest } from '../../kernel/satp/payloads.ts';
import { peek } from '../../gateway/peek.ts';
import type { Json } from '../../kernel/json.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { craftProtocols, rawUpgrade } from '../../transports/conformance/wire.ts';
import { ERROR_MSG_TYPE } from '../../transports/error-msg.ts';
import { WS_PROTOCOL } from '../../transports/ws/handshake.ts';
import { MAX_MESSAGE_BYTES } from '../../transports/types.ts';
import {
  bundleGatewayWorker,
  type Identity,
  identity,
  judge,
  LedgerServer,
  NodeGateway,
  type NodeGatewayOptions,
  tempDir,
  type Transfer,
  within,
  WorkerdGateway,
} from '../support/edge-world.ts';

const WAIT_MS = 60_000;
const CONTROL_TOKEN = 'workerd-gateway-test-token';

let dir = '';
let worker = '';
let worlds = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = tempDir('satp-edge-');
  worker = await bundleGatewayWorker(dir);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface World {
  edge: Identity;
  node: Identity;
  ledgerA: LedgerServer;
  ledgerB: LedgerServer;
  nodeStore: MemoryDriver;
  nodeGateway: NodeGateway;
  workerd: WorkerdGateway;
  /** Starts the Node gateway again on its store and port (after a stop). */
  restartNode(): Promise<NodeGateway>;
  transfer(sessionId: string, assetId: string): Transfer;
}

/**
 * Two gateways and two ledgers: ledger-a holds the assets, owned by alice, and stands in front of the origin;
 * ledger-b in front of the destination. `edgeRole` says which role the workerd gateway plays.
 */
async function world(
  edgeRole: 'origin' | 'destination',
  nodeOptions: Partial<NodeGatewayOptions> = {},
): Promise<World> {
  const [edge, node, keyA, keyB] = await Promise.all(['gw-edge', 'gw-node', 'ledger-a', 'ledger-b'].map(identity));
  const assets = [1, 2, 3].map((n) => ({ assetId: `asset-${n}`, owner: 'alice' }));
  const ledgerA = await new LedgerServer(keyA!, assets).start();
  const ledgerB = await new LedgerServer(keyB!).start();
  cleanups.push(
    () => ledgerA.close(),
    () => ledgerB.close(),
  );
  const [edgeLedger, nodeLedger] = edgeRole === 'origin' ? [ledgerA, ledgerB] : [ledgerB, ledgerA];
  const nodeStore = new MemoryDriver();
  let workerd: WorkerdGateway | undefined;
  const nodeConfig: NodeGatewayOptions = {
    me: node!,
    store: nodeStore,
    ledger: nodeLedger,
    peers: {
      [edge!.id]: {
        publicJwk: edge!.publicJwk,
        networkId: edgeLedger.ledger.id,
        ledgerKey: edgeLedger.key.publicJwk,
        ledger: edgeLedger.ledger,
      },
    },
    // Read at every dial: workerd's port changes when it is started again.
    peerUrl: (peer) => (peer === edge!.id && workerd?.url ? workerd.wsUrl : undefined),
    timing: { minLockSeconds: 1 },
    connectWaitMs: 0,
    ...nodeOptions,
  };
  let nodeGateway = await NodeGateway.start(nodeConfig);
  cleanups.push(() => nodeGateway.stop());
  const port = nodeGateway.port;
  workerd = new WorkerdGateway({
    worker,
    persist: join(dir, `persist-${++worlds}`),
    bindings: {
      GATEWAY_ID: edge!.id,
      GATEWAY_KEY: JSON.stringify(edge!.privateJwk),
      LEDGER_URL: edgeLedger.url,
      LEDGER_ID: edgeLedger.ledger.id,
      LEDGER_PUBLIC_JWK: JSON.stringify(edgeLedger.key.publicJwk),
      PEERS: JSON.stringify({
        [node!.id]: {
          url: nodeGateway.server.url,
          publicJwk: node!.publicJwk,
          networkId: nodeLedger.ledger.id,
          ledgerPublicJwk: nodeLedger.key.publicJwk,
          ledgerUrl: nodeLedger.url,
        },
      }),
      TIMING: JSON.stringify({ minLockSeconds: 1, deadlineGraceMs: 200 }),
      CONTROL_TOKEN,
    },
  });
  await workerd.start();
  cleanups.push(() => workerd!.stop());
  // The object starts on this first request, or says why it cannot (a bad binding): better now than as a timeout.
  await workerd.json('status');
  const [origin, destination] =
    edgeRole === 'origin'
      ? [
          { gateway: edge!.id, ledger: 'ledger-a' },
          { gateway: node!.id, ledger: 'ledger-b' },
        ]
      : [
          { gateway: node!.id, ledger: 'ledger-a' },
          { gateway: edge!.id, ledger: 'ledger-b' },
        ];
  return {
    edge: edge!,
    node: node!,
    ledgerA,
    ledgerB,
    nodeStore,
    get nodeGateway() {
      return nodeGateway;
    },
    workerd,
    async restartNode() {
      nodeGateway = await NodeGateway.start({ ...nodeConfig, port, connectWaitMs: 1_000 });
      return nodeGateway;
    },
    transfer: (sessionId, assetId) => ({
      sessionId,
      assetId,
      originator: 'alice',
      beneficiary: 'bob',
      origin,
      destination,
    }),
  };
}

const request = (t: Transfer, lockSeconds: number): TransferRequest => ({
  sessionId: t.sessionId,
  contextId: `ctx-${t.sessionId}`,
  peer: t.destination.gateway,
  assetId: t.assetId,
  assetProfileId: 'satp-recovery-test-asset',
  originator: t.originator,
  beneficiary: t.beneficiary,
  lockSeconds,
});

/** The invariants over both gateways' logs and both ledgers; workerd's last lines shown if any fails. */
async function expectInvariants(w: World, transfers: Transfer[], outcome: string): Promise<void> {
  const verdict = await judge({
    transfers,
    node: { id: w.node.id, store: w.nodeStore },
    edge: { id: w.edge.id, gateway: w.workerd },
    keys: { [w.node.id]: w.node.publicJwk, [w.edge.id]: w.edge.publicJwk },
    ledgers: [w.ledgerA, w.ledgerB],
  });
  expect(verdict.violations, w.workerd.output.slice(-30).join('\n')).toEqual([]);
  for (const t of transfers) expect(verdict.outcomes.get(t.sessionId)).toBe(outcome);
  for (const l of [w.ledgerA, w.ledgerB])
    for (const op of l.ledger.ops()) expect(op.applied, `${l.ledger.id} ${op.op.opId}`).toBeLessThanOrEqual(1);
}

interface Status {
  instance: string;
  recovered: number;
  wakes: { instance: string; cause: string; at: number }[];
}

describe('a gateway in workerd as a Durable Object, and a Node gateway', () => {
  it("the object's WebSocket refuses before the upgrade as the other servers do, and bounds its frames", async () => {
    const w = await world('destination');
    // The Node gateway steps aside, so that the raw sockets below speak for it without its links replacing them.
    await w.nodeGateway.stop();
    const url = w.workerd.wsUrl;
    const as = (claimed: Identity) => craftProtocols(url, w.edge.id, w.node.id, claimed.id, claimed.signer);
    const stranger = await identity('gw-stranger');
    expect(await rawUpgrade(url, await as(stranger))).toEqual({ refused: 403 });
    expect(await rawUpgrade(url, [WS_PROTOCOL])).toEqual({ refused: 401 });
    const wrongKey = await craftProtocols(url, w.edge.id, w.node.id, w.node.id, stranger.signer);
    expect(await rawUpgrade(url, wrongKey)).toEqual({ refused: 401 });
    const protocols = await as(w.node);
    const first = await rawUpgrade(url, protocols);
    if (!('socket' in first)) throw new Error(`a proper handshake was refused: ${JSON.stringify(first)}`);
    expect(first.socket.ws.protocol).toBe(WS_PROTOCOL);
    // A challenge is good for one upgrade: the same proof again is a replay.
    expect(await rawUpgrade(url, protocols)).toEqual({ refused: 401 });
    first.socket.ws.send(new TextEncoder().encode('{"binary":true}'), { binary: true });
    expect(await within(first.socket.closed, WAIT_MS, 'a binary frame did not close the socket')).toBe(1003);
    const big = await rawUpgrade(url, await as(w.node));
    if (!('socket' in big)) throw new Error(`a proper handshake was refused: ${JSON.stringify(big)}`);
    // Exactly 1 MiB is read whole: its duplicate key gets the transport's 400 error-msg back. One byte more closes.
    const head = '{"a":1,"a":2,"pad":"';
    big.socket.ws.send(`${head}${'x'.repeat(MAX_MESSAGE_BYTES - head.length - 2)}"}`);
    expect(await big.socket.next(WAIT_MS)).toMatchObject({ messageType: ERROR_MSG_TYPE, status: 400 });
    big.socket.ws.send(JSON.stringify({ pad: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    // The server closes 1009 without reading the rest of the frame. A client still writing it can see the
    // connection reset before it reads that close frame (1006): the same race as an oversize HTTP body, on the
    // client's side. Either way the socket is closed.
    const code = await within(big.socket.closed, WAIT_MS, 'a message over 1 MiB did not close the socket');
    expect([1009, 1006]).toContain(code);
  }, 120_000);

  it('move an asset from the Node gateway to the workerd gateway', async () => {
    const w = await world('destination');
    const t = w.transfer('s-edge-in', 'asset-1');
    expect(await w.nodeGateway.running.transfer(request(t, 600))).toEqual({ accepted: true });
    expect(await within(w.nodeGateway.running.whenEnded(t.sessionId), WAIT_MS, 'the Node origin')).toBe('committed');
    expect(await w.workerd.session(t.sessionId, (v) => v.outcome !== undefined)).toMatchObject({
      outcome: 'committed',
    });
    await expectInvariants(w, [t], 'committed');
  }, 120_000);

  it('move an asset from the workerd gateway to the Node gateway, and one more across a workerd restart', async () => {
    const w = await world('origin');
    const out = w.transfer('s-edge-out', 'asset-1');
    const post = (t: Transfer) =>
      w.workerd.json<{ accepted: boolean }>('transfers', { method: 'POST', body: JSON.stringify(request(t, 600)) });
    expect(await post(out)).toEqual({ accepted: true });
    expect(await w.workerd.session(out.sessionId, (v) => v.outcome !== undefined)).toMatchObject({
      outcome: 'committed',
    });
    expect(await within(w.nodeGateway.running.whenEnded(out.sessionId), WAIT_MS, 'the Node destination')).toBe(
      'committed',
    );

    // The second transfer: the object logs its burn's exec and calls its ledger, which keeps it waiting.
    const t = w.transfer('s-edge-restart', 'asset-2');
    const burn = `${t.sessionId}:3.4:burn`;
    w.ledgerA.hold((op) => op.opId === burn);
    expect(await post(t)).toEqual({ accepted: true });
    expect((await w.ledgerA.held(WAIT_MS)).opId).toBe(burn);
    const before = await w.workerd.json<Status>('status');
    // workerd goes away with the object mid-call; the ledger burns after all, and its answer reaches no one.
    await w.workerd.stop();
    await w.ledgerA.release(true);
    await w.workerd.start();
    // Nothing else is done for it: the Node gateway dials the object again, which wakes it, and it recovers.
    expect(await within(w.nodeGateway.running.whenEnded(t.sessionId), WAIT_MS, 'the Node destination')).toBe(
      'committed',
    );
    expect(await w.workerd.session(t.sessionId, (v) => v.outcome !== undefined)).toMatchObject({
      outcome: 'committed',
    });
    const after = await w.workerd.json<Status>('status');
    expect(after.instance).not.toBe(before.instance);
    expect(after.recovered).toBe(1);
    // Never blind: the burn of unknown outcome was settled by asking the ledger, not by a second call.
    expect(w.ledgerA.ledger.ops().find((r) => r.op.opId === burn)).toMatchObject({ applied: 1, requested: 1 });
    await expectInvariants(w, [out, t], 'committed');
  }, 120_000);

  it('rolls back past the deadline while evicted: its alarm wakes it, with no request reaching it', async () => {
    let crash: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    let w: World | undefined;
    // The origin dies the moment the destination's commit-ready reaches it: the destination has promised, the
    // origin never burns. Only ledger-a can then settle the deadline, with an attestation by its own clock.
    w = await world('destination', {
      onInbound: (_from, message: Json) => {
        if (peek(message).type !== 'commit-ready-msg' || !w) return;
        void w.nodeGateway.stop();
        crash();
      },
    });
    const t = w.transfer('s-edge-asleep', 'asset-3');
    // ledger-a's clock stands still until the object is asleep, so the lock cannot lapse by it before then.
    w.ledgerA.frozenAt = Date.now();
    expect(await w.nodeGateway.running.transfer(request(t, 2))).toEqual({ accepted: true });
    await within(crashed, WAIT_MS, 'the origin never got commit-ready');
    expect(await w.workerd.session(t.sessionId, (v) => v.promised)).toMatchObject({ status: 'running' });
    const awake = await w.workerd.json<Status>('status');
    // Its memory dropped as an eviction drops it (state.abort): the request itself ends in an error.
    expect((await w.workerd.control('evict', { method: 'POST' })).ok).toBe(false);
    // From here on nothing reaches the object: the origin is down, and the test only watches ledger-b.
    w.ledgerA.frozenAt = undefined;
    const compensated = await w.ledgerB.recorded(`${t.sessionId}:rollback:burn`, WAIT_MS);
    expect(compensated.ok).toBe(true);

    // The origin comes back, recovers, and rolls back too.
    const origin = await w.restartNode();
    expect(origin.running.recovered).toBe(1);
    expect(await within(origin.running.whenEnded(t.sessionId), WAIT_MS, 'the Node origin')).toBe('rolled-back');
    expect(await w.workerd.session(t.sessionId, (v) => v.outcome !== undefined)).toMatchObject({
      outcome: 'rolled-back',
    });
    const { wakes } = await w.workerd.json<Status>('status');
    const evictedAt = wakes.findIndex((x) => x.instance === awake.instance);
    expect(evictedAt, JSON.stringify(wakes)).toBeGreaterThanOrEqual(0);
    expect(wakes[evictedAt + 1], JSON.stringify(wakes)).toMatchObject({ cause: 'alarm' });
    await expectInvariants(w, [t], 'rolled-back');
  }, 120_000);
});
