// The storage conformance suite (storage/conformance.ts) run against RemoteDriver, each case over its own
// live log server (Node, in process, memory driver behind it); tamper and remove reach that server's driver.
import { AUTHOR, logStoreConformance, PEER, type StoreHarness } from '../../storage/conformance.ts';
import type { LogStoreDriver } from '../../storage/driver.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { RemoteDriver } from '../../log-api/client.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { type GatewayTable, keysOfGateways } from '../../log-api/auth.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { type NodeServer, serveOnNode } from '../../http/node-serve.ts';

// The suite writes both AUTHOR's and PEER's chains through one driver, so the driver authenticates as an
// operator (docs/log-storage-api.md): trusted with every log, yet every entry is still verified against
// its author's key by the server. Per-gateway access control is tested in test/integration/log-storage-api.test.ts.
const OPERATOR = { id: 'gw-conformance', token: 'conformance-operator-token-0123' };
const GATEWAYS: GatewayTable = {
  [AUTHOR.id]: { publicJwk: AUTHOR.signer.publicJwk },
  [PEER.id]: { publicJwk: PEER.signer.publicJwk },
  [OPERATOR.id]: { token: OPERATOR.token, role: 'operator' },
};

interface Server {
  driver: MemoryDriver;
  served: NodeServer;
}
const servers = new WeakMap<LogStoreDriver, Server>();

function client(server: Server): RemoteDriver {
  const driver = new RemoteDriver({
    url: server.served.url,
    gatewayId: OPERATOR.id,
    token: OPERATOR.token,
    // Persistent from the client's side: the server keeps the data across the client's close and reopen.
    // Not durable: the server's memory driver would lose it in a crash.
    capabilities: { persistent: true, durable: false },
  });
  servers.set(driver, server);
  return driver;
}

/** The stored texts of a log on the server behind `driver`, for tampering. */
function serverLog(driver: LogStoreDriver, logId: string, seq: number): string[] {
  const log = servers.get(driver)!.driver.logs.get(logId);
  if (!log || log[seq - 1] === undefined) throw new RangeError(`server log ${logId} has no seq ${seq}`);
  return log;
}

const remoteHarness: StoreHarness = {
  name: 'remote (Log Storage API over Node, memory behind it)',
  capabilities: { persistent: true, durable: false },
  async create() {
    const driver = new MemoryDriver();
    const store = new LogStore(driver, { keys: keysOfGateways(GATEWAYS), verifier: defaultVerifier() });
    const served = await serveOnNode(createLogStorageApp({ store, gateways: GATEWAYS }).fetch);
    return client({ driver, served });
  },
  async reopen(driver) {
    await driver.close();
    return client(servers.get(driver)!);
  },
  async tamper(driver, logId, seq, mutate) {
    const log = serverLog(driver, logId, seq);
    log[seq - 1] = mutate(log[seq - 1]!);
  },
  async remove(driver, logId, seq) {
    serverLog(driver, logId, seq).splice(seq - 1, 1);
  },
  async destroy(driver) {
    await servers.get(driver)?.served.close();
  },
};

logStoreConformance(remoteHarness);
