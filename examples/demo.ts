// `npm start`: two gateway processes over WebSocket, each on its own LevelDB, move one asset between two ledgers;
// the origin is SIGKILLed mid-transfer, restarts, and recovers (recovery-04 §5.1, §5.4). Prints the events as
// they happen, then one timeline of both logs, the final balances and the checks, and last the offline auditor's
// verdict over both gateways' logs (docs/audit.md); exits 1 if a check or the audit fails.
//   npm start                        crash the origin right after it logs the burn's exec (step 3.4)
//   npm start -- --crash-at 2.1      any step the origin logs: 1.1–1.4, 2.1, 2.2, 2.4, 3.1, 3.3–3.5, 3.7–3.9
//   npm start -- --scenario rollback recovery-04 §5.4.3: the origin stays down past the deadline
//   npm start -- --tls               the gateways talk wss:// (TLS 1.3), certificates from a demo CA
//   npm start -- --runtime deno      the gateway processes run on Deno (cli/gateway.deno.ts)
//   npm start -- --ledgers evm       the ledgers are two anvil chains with the SatpAsset contract (ledgers/evm)
//   npm start -- --data <dir>        keep the databases in <dir> (default .data/demo/), wiped at every run
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GatewayPair } from './gateway-pair.ts';
import { type DemoLedger, pairLedger, startEvmLedger, startLedger } from './demo/ledgers.ts';
import { ANVIL_KEYS } from '../ledgers/evm/anvil.ts';
import type { SeedAsset } from '../ledgers/ledger-engine.ts';
import { Narrator } from './demo/narrate.ts';
import { printReport } from './demo/report.ts';
import { printAudit } from './demo/audit.ts';
import { createAuthority, issueTlsCertificate } from '../identity/x509.ts';

const USAGE =
  'usage: npm start -- [--crash-at <step>] [--scenario crash|rollback] [--tls] [--runtime node|deno] ' +
  '[--ledgers level|evm] [--data <dir>]';
/** The steps the origin logs (SATP core Figure 2); the others are the destination's. */
const ORIGIN_STEPS = ['1.1', '1.2', '1.3', '1.4', '2.1', '2.2', '2.4', '3.1', '3.3', '3.4', '3.5', '3.7', '3.8', '3.9'];
const WAIT_MS = 30_000;

const { values } = parseArgs({
  options: {
    'crash-at': { type: 'string', default: '3.4' },
    scenario: { type: 'string', default: 'crash' },
    tls: { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'node' },
    ledgers: { type: 'string', default: 'level' },
    data: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.runtime !== 'node' && values.runtime !== 'deno') {
  console.error(`unknown --runtime ${values.runtime}\n${USAGE}`);
  process.exit(2);
}
if (values.ledgers !== 'level' && values.ledgers !== 'evm') {
  console.error(`unknown --ledgers ${values.ledgers}\n${USAGE}`);
  process.exit(2);
}
const onChains = values.ledgers === 'evm';
/** The gateway processes' runtime (cli/gateway.ts on Node, cli/gateway.deno.ts on Deno); the demo runs on Node. */
const gatewayRuntime: 'node' | 'deno' = values.runtime;
const rollback = values.scenario === 'rollback';
if (!rollback && values.scenario !== 'crash') {
  console.error(`unknown --scenario ${values.scenario}\n${USAGE}`);
  process.exit(2);
}
const crashAt = values['crash-at'];
if (!ORIGIN_STEPS.includes(crashAt)) {
  console.error(`--crash-at ${crashAt}: the origin logs steps ${ORIGIN_STEPS.join(', ')}\n${USAGE}`);
  process.exit(2);
}

// Two demos at once (the suite's runs under Node and Deno, if side by side) each need their own --data.
const DIR = values.data ? resolve(values.data) : fileURLToPath(new URL('../.data/demo/', import.meta.url));
const fromHere = relative(process.cwd(), DIR);
const SHOWN_DIR = fromHere && !fromHere.startsWith('..') ? `${fromHere}/` : DIR;
/** Marks a --data directory as the demo's own: only such a directory (or an empty one) is wiped. */
const MARK = '.satp-demo';
if (values.data && existsSync(DIR) && readdirSync(DIR).length > 0 && !existsSync(join(DIR, MARK))) {
  console.error(`--data ${values.data}: not empty and not a demo directory (no ${MARK}); not wiping it`);
  process.exit(2);
}
rmSync(DIR, { recursive: true, force: true }); // every run starts from nothing
mkdirSync(DIR, { recursive: true });
writeFileSync(join(DIR, MARK), 'satp-recovery demo data: wiped by the next run\n');

const say = new Narrator();
const [asset, alice, bob] = ['asset-1', 'alice', 'bob'];
// Two anvil chains (distinct chain ids), or two LevelDB ledger servers. On the chains each gateway's account is
// the operator of its ledger's contract, and a block comes every second besides, so chain time moves.
const onChain = (id: string, chainId: number, seeds: SeedAsset[]) =>
  startEvmLedger(DIR, id, { chainId, operatorKey: ANVIL_KEYS[1], seeds, watch: [asset], blockTime: 1 });
const ledgerA: DemoLedger = onChains
  ? await onChain('ledger-a', 31337, [{ assetId: asset, owner: alice }])
  : await startLedger(DIR, 'ledger-a', [{ assetId: asset, owner: alice }]);
const ledgerB: DemoLedger = onChains ? await onChain('ledger-b', 31338, []) : await startLedger(DIR, 'ledger-b');
let pair: GatewayPair | undefined;
let ok = false;
try {
  console.log(`satp-recovery demo: SATP gateway crash recovery (draft-belchior-satp-gateway-recovery-04)`);
  console.log(`  ${ledgerA.id}  ${ledgerA.url}   ${asset} owned by ${alice}`);
  console.log(`  ${ledgerB.id}  ${ledgerB.url}`);
  console.log(
    onChains
      ? '  ledgers: two anvil chains (ledgers/evm/anvil.ts); receipts are checked by reading the chain\n' +
          `  data: ${SHOWN_DIR} (LevelDB per gateway, wiped at every run)\n`
      : `  data: ${SHOWN_DIR} (LevelDB per gateway and per ledger, wiped at every run)\n`,
  );
  // Fast timers so the whole story takes seconds: resend after 0.5 s, deadline grace 1 s.
  const flags = [
    '--retransmit-ms',
    '500',
    '--deadline-grace-ms',
    '1000',
    '--burn-margin-ms',
    '500',
    '--min-lock-seconds',
    '1',
  ];
  if (values.tls) {
    // A demo CA and one server certificate for 127.0.0.1, which both gateways serve; each trusts the CA only.
    const ca = await createAuthority('satp-recovery demo CA');
    const server = await issueTlsCertificate(ca, ['127.0.0.1', 'localhost']);
    const tlsDir = join(DIR, 'tls');
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(join(tlsDir, 'ca.pem'), ca.certificate.toString('pem'));
    writeFileSync(join(tlsDir, 'gateway.pem'), server.cert);
    writeFileSync(join(tlsDir, 'gateway.key'), server.key, { mode: 0o600 });
    flags.push(
      '--tls-cert',
      join(tlsDir, 'gateway.pem'),
      '--tls-key',
      join(tlsDir, 'gateway.key'),
      '--tls-ca',
      join(tlsDir, 'ca.pem'),
    );
    console.log('  TLS: the gateways talk wss:// (TLS 1.3), certificates from a demo CA in .data/demo/tls/\n');
  }
  // Rollback: the origin dies once it has logged commit-ready (3.3), so the destination has surely minted. A crash
  // right after sending commit-prepare could beat the message out of the socket (Deno's sends are asynchronous).
  const crashFlag = rollback ? '3.3' : crashAt;
  pair = await GatewayPair.start(
    {
      dir: DIR,
      runtime: gatewayRuntime,
      ledgers: { origin: pairLedger(ledgerA), destination: pairLedger(ledgerB) },
      flags,
      onEvent: (_m, e) => say.onEvent(e),
    },
    { origin: ['--crash-after', crashFlag] },
  );
  const { origin, destination } = pair.members;
  const sessionId = `s-${crypto.randomUUID().slice(0, 8)}`;
  const lockSeconds = rollback ? 3 : 20;
  say.note(
    rollback
      ? `Transfer ${sessionId}: ${asset} from ${alice} on ${ledgerA.id} to ${bob} on ${ledgerB.id}, ` +
          `lock ${lockSeconds} s. The origin will crash right after it receives commit-ready (3.3) ` +
          'and stay down past the deadline.'
      : `Transfer ${sessionId}: ${asset} from ${alice} on ${ledgerA.id} to ${bob} on ${ledgerB.id}, ` +
          `lock ${lockSeconds} s. The origin will crash right after it logs step ${crashAt}.`,
  );
  // With --crash-at 1.1 the origin dies before it can answer; the crash comes after the 1.1 entries are
  // durable, so the transfer has started all the same.
  const reply = await origin
    .child!.request({ cmd: 'transfer', sessionId, assetId: asset, originator: alice, beneficiary: bob, lockSeconds })
    .catch(() => undefined);
  if (reply && reply.started !== true) throw new Error(`the transfer did not start: ${JSON.stringify(reply)}`);

  const died = await Promise.race([
    origin.child!.exited,
    origin.child!.waitFor((e) => e.event === 'outcome', WAIT_MS, 'the crash').then(() => undefined),
  ]);
  if (died?.signal !== 'SIGKILL')
    throw new Error(
      `the origin was not killed at ${crashFlag}: the transfer ended first, or it exited (${JSON.stringify(died)})`,
    );
  if (rollback) {
    say.note(
      `${origin.id} stays down. ${destination.id} minted, and waits for commit-final; ` +
        `past the lock expiry (+1 s grace) it asks ${ledgerA.id}, by the ledger's own clock, ` +
        'whether the burn happened or never can.',
    );
    await destination.child!.waitFor(
      (e) => e.event === 'ledger' && e.kind === 'burn' && String(e.opId).endsWith(':rollback:burn') && e.ok === true,
      WAIT_MS,
      'the destination rolling back',
    );
    say.note(
      `${destination.id} rolled back (burned what it minted) and keeps sending ROLLBACK. ` +
        `Now ${origin.id} comes back: its own lock expiry has passed as well, so it rolls back (unlock), ` +
        "and RECOVER-UPDATE brings the destination's chain, which shows the destination rolled back.",
    );
  } else {
    say.note(`${origin.id} restarts at once on the same LevelDB and key.`);
  }
  const sinceRestart = destination.child!.events.length;
  await pair.launch('origin');
  const ended = (m: typeof origin) =>
    m.child!.waitFor((e) => e.event === 'outcome' && e.session === sessionId, WAIT_MS, `${m.id} ending the session`);
  // Boot replays every open session, so one the restarted origin does not hold open had ended before the
  // crash (--crash-at 3.9: the end entry was durable, its outcome line was not printed).
  const originOpen = ((await origin.child!.request({ cmd: 'status' })).open as string[]).includes(sessionId);
  await Promise.all([
    originOpen ? ended(origin) : undefined,
    destination.history.some((e) => e.event === 'outcome' && e.session === sessionId) ? undefined : ended(destination),
  ]);
  // The handshake can outlast the sessions: the destination's resent ROLLBACK may end the origin's session
  // while its RECOVER is under way, and the rest of the handshake is then answered unlogged. Wait for it.
  if (originOpen)
    await destination.child!.waitFor(
      (e) => e.event === 'send' && e.session === sessionId && e.type === 'recover-success-msg',
      WAIT_MS,
      'RECOVER-SUCCESS',
      sinceRestart,
    );
  const exits = await pair.stop();
  if (!exits.every((x) => x.graceful && x.code === 0))
    throw new Error(`a gateway did not shut down cleanly: ${JSON.stringify(exits)}`);
  ok = await printReport({
    sessionId,
    assetId: asset,
    originator: alice,
    beneficiary: bob,
    expected: rollback ? 'rolled-back' : 'committed',
    recovered: originOpen,
    members: pair.members,
    ledgers: { origin: ledgerA, destination: ledgerB },
  });
  console.log(ok ? '\nAll checks hold.' : '\nA CHECK FAILED.');
  // Last, what satp-audit says of both stores, now that no gateway holds them open.
  const ledgers = { origin: ledgerA, destination: ledgerB };
  const audited = await printAudit([sessionId], pair.members, ledgers);
  ok = ok && audited;
} catch (err) {
  console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  for (const m of Object.values(pair?.members ?? {}))
    if (m.child?.stderr) console.error(`${m.id} stderr: ${m.child.stderr.slice(-2000)}`);
} finally {
  await pair?.destroy();
  await Promise.allSettled([ledgerA.close(), ledgerB.close()]);
}
process.exit(ok ? 0 : 1);
