// log-api/client.ts (RemoteDriver): a LogStore over the Log Storage API, as gateways and backups sharing one log
// server use it (recovery-04 §3.3 public centralized log; conditional appends fence a stale primary:
// docs/log-storage-api.md).
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { isSatpError, type SatpError } from '../../kernel/errors.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { RemoteDriver, type RemoteDriverOptions } from '../../log-api/client.ts';
import { keysOfGateways } from '../../log-api/auth.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { type NodeServer, serveOnNode } from '../../http/node-serve.ts';
import { BACKUP, chain, G1, G2, GATEWAYS, headOf, serverStore, TOKENS } from '../support/log-storage-fixtures.ts';

const clientStore = (driver: RemoteDriver) =>
  new LogStore(driver, { keys: keysOfGateways(GATEWAYS), verifier: defaultVerifier() });

async function refused(p: Promise<unknown>, code: string): Promise<SatpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSatpError(err), String(err)).toBe(true);
  expect((err as SatpError).code, (err as SatpError).message).toBe(code);
  return err as SatpError;
}

describe('RemoteDriver over a live log server', () => {
  const serverDriver = new MemoryDriver();
  let served: NodeServer;
  let url = '';
  const remote = (over: Partial<RemoteDriverOptions> = {}) =>
    new RemoteDriver({
      url,
      gatewayId: G1.id,
      token: TOKENS[G1.id],
      capabilities: { persistent: true, durable: false },
      ...over,
    });

  beforeAll(async () => {
    // Mounted under /log, as the gateway app will mount it.
    const app = new Hono().route('/log', createLogStorageApp({ store: serverStore(serverDriver), gateways: GATEWAYS }));
    served = await serveOnNode(app.fetch);
    url = `${served.url}/log`;
  });
  afterAll(async () => {
    await served?.close();
  });

  it('a LogStore over it writes, reads back, verifies and lists open logs through the API', async () => {
    const store = clientStore(remote());
    const entries = await chain('rd-basic', 5);
    await store.writeLogEntries(entries.slice(0, 3));
    for (const e of entries.slice(3)) await store.writeLogEntry(e);
    const id = `rd-basic/${G1.id}`;
    expect(await store.getLog(id)).toEqual(entries);
    expect(await store.getLog(id, 2, 3)).toEqual(entries.slice(1, 3));
    expect(await store.getHead(id)).toEqual({ ...headOf(entries), open: true });
    expect(await store.verifyLog(id)).toMatchObject({ ok: true, head: headOf(entries) });
    expect((await store.listOpenLogs()).map((o) => o.logId)).toContain(id);
    expect(await store.getHead(`rd-none/${G1.id}`)).toBeUndefined();
  });

  it('signs every request with the gateway key when given a signer instead of a token', async () => {
    const store = clientStore(remote({ token: undefined, signer: G1.signer }));
    const entries = await chain('rd-signed', 2);
    await store.writeLogEntries(entries);
    expect(await store.getLogLength(`rd-signed/${G1.id}`)).toBe(2);
  });

  it('connect() declares the capabilities the server reports', async () => {
    const driver = await RemoteDriver.connect({ url, gatewayId: G1.id, token: TOKENS[G1.id] });
    expect(driver.capabilities).toEqual({ persistent: false, durable: false });
  });

  it('two writers racing on one head through two drivers: one lands, the other gets CHAIN_CONFLICT', async () => {
    const [first] = await chain('rd-race', 1);
    await clientStore(remote()).writeLogEntry(first);
    const head = headOf([first!]);
    const [mine] = await chain('rd-race', 1, { from: head, offset: 10 });
    const [theirs] = await chain('rd-race', 1, { from: head, offset: 20 });
    const outcomes = await Promise.allSettled([
      clientStore(remote()).writeLogEntry(mine),
      clientStore(remote()).writeLogEntry(theirs),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(isSatpError(lost.reason, 'CHAIN_CONFLICT')).toBe(true);
  });

  it("fencing: after the backup appends, the stale primary's append is CHAIN_CONFLICT with the new head", async () => {
    const profile = 'backups:gw-backup';
    const entries = await chain('rd-fence', 3, { profile });
    const primary = clientStore(remote());
    await primary.writeLogEntries(entries.slice(0, 2));
    const backup = clientStore(remote({ gatewayId: BACKUP.id, token: TOKENS[BACKUP.id] }));
    await backup.writeLogEntry(entries[2]);
    const [stale] = await chain('rd-fence', 1, { profile, from: headOf(entries.slice(0, 2)), offset: 40 });
    const err = await refused(
      primary.driver.append(`rd-fence/${G1.id}`, headOf(entries.slice(0, 2)), [JSON.stringify(stale)], {
        ...headOf([stale!]),
        open: true,
      }),
      'CHAIN_CONFLICT',
    );
    expect(err.detail).toMatchObject({ status: 409, head: headOf(entries) });
  });

  it(
    'refusals keep their codes: PEER_REFUSED for credentials and access, ' +
      'STORAGE_FAILURE when unreachable, STORE_CLOSED after close',
    async () => {
      const entries = await chain('rd-errors', 1);
      await refused(
        clientStore(remote({ token: 'not-a-configured-token-xyz' })).writeLogEntry(entries[0]),
        'PEER_REFUSED',
      );
      await refused(
        clientStore(remote({ gatewayId: G2.id, token: TOKENS[G2.id] })).writeLogEntry(entries[0]),
        'PEER_REFUSED',
      );
      // A port nothing listens on: the one this test's server does not use, closed right away.
      const spare = await serveOnNode(() => new Response('x'));
      await spare.close();
      await refused(clientStore(remote({ url: spare.url })).getLogLength(`rd-errors/${G1.id}`), 'STORAGE_FAILURE');
      const driver = remote();
      await driver.close();
      await refused(driver.head(`rd-errors/${G1.id}`), 'STORE_CLOSED');
    },
  );

  it("reads the server copy verbatim, so the client's verifyLog names a corrupted entry", async () => {
    const store = clientStore(remote());
    const entries = await chain('rd-tamper', 3);
    await store.writeLogEntries(entries);
    const id = `rd-tamper/${G1.id}`;
    const log = serverDriver.logs.get(id)!;
    const original = log[1]!;
    log[1] = original.replace('"i":1', '"i":7');
    expect(await store.verifyLog(id)).toMatchObject({ ok: false, index: 1, reason: 'bad-payload-hash' });
    log[1] = original;
    expect(await store.verifyLog(id)).toMatchObject({ ok: true });
  });
});
