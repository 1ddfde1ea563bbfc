// Gateways over HTTPS (SATP core makes TLS a MUST between gateways): the HTTP transport's gateway apps and the
// Log Storage API served by serveOnNode with a certificate from the owner's CA, their clients trusting that CA
// through httpsFetch. A client that does not trust the CA, or that speaks plain HTTP, gets nowhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, issueTlsCertificate, type TlsCredentials } from '../../identity/x509.ts';
import { httpsFetch } from '../../http/https-fetch.ts';
import { type NodeServer, serveOnNode } from '../../http/node-serve.ts';
import type { Json } from '../../kernel/json.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { RemoteDriver } from '../../log-api/client.ts';
import { MemoryDriver } from '../../storage/memory.ts';
import { conformanceValidator } from '../../transports/conformance/echo.ts';
import { HttpTransport } from '../../transports/http/client.ts';
import { createGatewayApp } from '../../transports/http/gateway-app.ts';
import { GENESIS_HASH } from '../../kernel/entry.ts';
import { chain, G1, GATEWAYS, serverStore, TOKENS } from '../support/log-storage-fixtures.ts';
import { quietErrors, TRANSPORT_IDS as ids, transportKeys } from '../support/transport-identities.ts';

let ca: string;
let tls: TlsCredentials;
const servers: NodeServer[] = [];

beforeAll(async () => {
  const authority = await createAuthority('satp-recovery test owner CA');
  ca = authority.certificate.toString('pem');
  tls = await issueTlsCertificate(authority, ['127.0.0.1', 'localhost']);
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** A gateway on the HTTP transport, its app served over HTTPS; it trusts `trust` when it posts to peers. */
async function gateway(who: typeof ids.a, peers: Record<string, string>, trust: 'ca' | 'system' = 'ca') {
  const t = new HttpTransport({
    self: who.id,
    signer: who.signer,
    keys: transportKeys,
    peers: (id) => peers[id],
    validate: conformanceValidator,
    onError: quietErrors().onError,
    ...(trust === 'ca' ? { fetch: httpsFetch({ ca }) } : {}),
  });
  const served = await serveOnNode(createGatewayApp({ transport: t }).fetch, { tls });
  servers.push(served);
  return { t, url: served.url };
}

describe('over HTTPS with the owner CA', () => {
  it('two gateways on the HTTP transport exchange messages over https://, each trusting only the CA', async () => {
    const peers: Record<string, string> = {};
    const a = await gateway(ids.a, peers);
    const b = await gateway(ids.b, peers);
    peers[ids.a.id] = a.url;
    peers[ids.b.id] = b.url;
    expect(a.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const got: [string, Json][] = [];
    const arrived = new Promise<void>((resolve) =>
      b.t.onMessage((from, m) => {
        got.push([from, m]);
        resolve();
      }),
    );
    await a.t.send(ids.b.id, { messageType: 'urn:satp-recovery:test:hello', nonce: 'n-1' });
    await arrived;
    expect(got).toEqual([[ids.a.id, { messageType: 'urn:satp-recovery:test:hello', nonce: 'n-1' }]]);
    await a.t.close();
    await b.t.close();
  });

  it('a sender that does not trust the CA, or posts plain http to the https server, is not delivered', async () => {
    const peers: Record<string, string> = {};
    const b = await gateway(ids.b, peers);
    const received: Json[] = [];
    b.t.onMessage((_f, m) => void received.push(m));
    const stranger = await gateway(ids.a, { [ids.b.id]: b.url }, 'system');
    await expect(stranger.t.send(ids.b.id, { messageType: 'urn:satp-recovery:test:hello' })).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
    });
    const plain = new HttpTransport({
      self: ids.a.id,
      signer: ids.a.signer,
      keys: transportKeys,
      peers: { [ids.b.id]: b.url.replace('https:', 'http:') },
      onError: quietErrors().onError,
    });
    await expect(plain.send(ids.b.id, { messageType: 'urn:satp-recovery:test:hello' })).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
    });
    expect(received).toEqual([]);
    await Promise.all([b.t.close(), stranger.t.close(), plain.close()]);
  });

  it('the Log Storage API over https: a remote store trusting the CA appends and reads an entry', async () => {
    const served = await serveOnNode(
      createLogStorageApp({ store: serverStore(new MemoryDriver()), gateways: GATEWAYS }).fetch,
      {
        tls,
      },
    );
    servers.push(served);
    const remote = await RemoteDriver.connect({
      url: served.url,
      gatewayId: G1.id,
      token: TOKENS[G1.id]!,
      fetch: httpsFetch({ ca }),
    });
    const [entry] = await chain('tls', 1);
    const logId = `tls/${G1.id}`;
    await remote.append(logId, { seq: 0, hash: GENESIS_HASH }, [JSON.stringify(entry)], {
      seq: 1,
      hash: entry!.entryHash,
      open: true,
    });
    expect(await remote.head(logId)).toEqual({ seq: 1, hash: entry!.entryHash, open: true });
    await remote.close();
  });
});
