// The interim `npm start` demo: two gateways write signed, hash-chained log entries for one session to
// LevelDB, close, reopen, and verify them. It becomes the crash-and-recover demo once recovery exists.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultVerifier, EMPTY_HEAD, keyTable, logIdOf, nextEntryBody, sealEntry, type ChainContext, type ChainHead, type EntryStep, type Signer } from '../kernel/index.ts';
import { generateWebCryptoSigner, webCryptoSignerFromJwk } from '../kernel/crypto/webcrypto.ts';
import { LevelDriver } from '../storage/level.ts';
import { LogStore } from '../storage/log-store.ts';

const DIR = fileURLToPath(new URL('../.data/demo/', import.meta.url));
const KEYS_FILE = `${DIR}keys.json`;
const LOG_DIR = `${DIR}log`;
const GATEWAYS = ['gw-origin', 'gw-destination'] as const;
type GatewayId = (typeof GATEWAYS)[number];

/** Each gateway's ES256 key, kept as a JWK so a rerun is the same gateway (recovery-04 §5.1: keys survive a crash). */
async function loadSigners(): Promise<Record<GatewayId, Signer>> {
  let jwks: Partial<Record<GatewayId, JsonWebKey>> = {};
  try {
    jwks = JSON.parse(await readFile(KEYS_FILE, 'utf8')) as typeof jwks;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err; // never overwrite an identity we cannot read
  }
  const signers = {} as Record<GatewayId, Signer>;
  for (const id of GATEWAYS) {
    const jwk = jwks[id];
    if (jwk) signers[id] = await webCryptoSignerFromJwk(jwk);
    else ({ signer: signers[id], privateJwk: jwks[id] } = await generateWebCryptoSigner());
  }
  await writeFile(KEYS_FILE, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  return signers;
}

await mkdir(DIR, { recursive: true });
const signers = await loadSigners();
const verifyCtx = { keys: keyTable({ 'gw-origin': signers['gw-origin'].publicJwk, 'gw-destination': signers['gw-destination'].publicJwk }), verifier: defaultVerifier() };
const sessionId = crypto.randomUUID();

const context = (author: GatewayId): ChainContext => ({
  sessionId,
  contextId: `ctx-${sessionId}`,
  author,
  resourceUrl: 'https://ledger-a.example/assets/asset-1',
  developerUrn: 'urn:satp-recovery:demo',
  credentialProfile: 'X.509',
  credentialBlock: '',
  payloadProfile: 'demo-asset',
  applicationProfile: 'satp-recovery-demo',
  originGatewayPubkey: signers['gw-origin'].publicJwk,
  originGatewaySystem: 'ledger-a',
  destinationGatewayPubkey: signers['gw-destination'].publicJwk,
  destinationGatewaySystem: 'ledger-b',
  loggingProfile: 'private-centralized',
  accessControlProfile: 'author-only',
});

/** Seals `steps` as the next entries of `author`'s chain and appends them, one durable append each. */
async function write(store: LogStore, author: GatewayId, steps: Omit<EntryStep, 'timestamp'>[]): Promise<ChainHead> {
  let head = EMPTY_HEAD;
  for (const step of steps) {
    const entry = await sealEntry(nextEntryBody(context(author), head, { ...step, timestamp: Date.now() }), signers[author]);
    head = await store.writeLogEntry(entry);
  }
  return head;
}

let store = new LogStore(await LevelDriver.open(LOG_DIR), verifyCtx);
const earlier = new Set((await store.listOpenLogs()).map((l) => l.sessionId)).size;
// SATP core step 2.1: the origin logs its intent to lock, that it is calling the ledger, and the receipt;
// DESIGN §3: each is durable before the next step starts.
const lockId = `${sessionId}:2.1`;
const originHead = await write(store, 'gw-origin', [
  { phase: 'lock', step: '2.1', operation: 'init', payload: { action: 'lock', asset: 'asset-1', amount: 100, ledger: 'ledger-a' } },
  { phase: 'lock', step: '2.1', operation: 'exec', payload: { action: 'lock', operationId: lockId } },
  { phase: 'lock', step: '2.1', operation: 'done', payload: { action: 'lock', operationId: lockId, receipt: { block: 7, tx: '0xabc1' } } },
]);
// Steps 2.2–2.3: the destination received the lock assertion and records it, naming the origin entry it proves.
await write(store, 'gw-destination', [
  { phase: 'lock', step: '2.3', operation: 'ack', payload: { received: 'lock-assert', originEntry: originHead.hash } },
]);
await store.close();

// Reopen: everything below is read back from disk and verified from scratch (signatures included).
store = new LogStore(await LevelDriver.open(LOG_DIR), verifyCtx);
const short = (text: string) => (text.length > 13 ? `${text.slice(0, 10)}…` : text);
// One line per payload: top-level fields as name=value, long ids and hashes shortened.
const summary = (payload: unknown): string =>
  Object.entries(payload as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? short(v) : JSON.stringify(v)}`)
    .join(' ');
console.log(`satp-recovery demo: session ${sessionId}, LevelDB at .data/demo/log (${earlier} earlier session${earlier === 1 ? '' : 's'} kept)`);
let failed = false;
for (const author of GATEWAYS) {
  const result = await store.verifyLog(logIdOf(sessionId, author));
  if (!result.ok) {
    console.log(`\n${author}: chain does NOT verify at entry ${result.index}: ${result.reason}: ${result.detail}`);
    failed = true;
    continue;
  }
  console.log(`\n${author}'s chain`);
  console.log(`  ${'author'.padEnd(15)} seq  step  op    hash         lastEntryHash  payload`);
  for (const e of result.entries) {
    console.log(`  ${e.author.padEnd(15)} ${String(e.seqNumber).padStart(3)}  ${e.step.padEnd(4)}  ${e.operation.padEnd(4)}  ${short(e.entryHash)}  ${short(e.lastEntryHash)}    ${summary(e.payload)}`);
  }
  console.log(`  chain verified: ${result.entries.length} entries, head ${result.head.hash}`);
}
await store.close();
if (failed) process.exitCode = 1;
