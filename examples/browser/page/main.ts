// The browser demo's page script (bundled by examples/browser/bundle.ts). Query parameters preset the controls:
// ?mode=direct|relay|node&delay=<ms per message>&pauseAt=<step>. Changing the mode loads the page again.
import type { LogEntry } from '../../../kernel/entry.ts';
import { DEMO_LOCK_SECONDS } from '../timing.ts';
import { type ChainReport, type LedgerReport, readLedgers, verifyChains } from './checks.ts';
import { Ui } from './ui.ts';
import { Wire } from './wire.ts';
import { withNodeGateway } from './node-world.ts';
import { buildOrigin, inPageWorld, type Mode, MODES, type World } from './world.ts';

/** The steps a gateway logs (SATP core, Figure 2), offered as places to pause the wire. */
const STEPS = ['1.1', '1.2', '1.3', '1.4', '2.1', '2.2', '2.3', '2.4', '3.1', '3.2', '3.3', '3.4', '3.5', '3.6'].concat(
  ['3.7', '3.8', '3.9'],
);

export interface DemoApi {
  mode: Mode;
  run: string;
  gateways: string[];
  sessions(): string[];
  verify(): Promise<ChainReport[]>;
  ledgers(): Promise<LedgerReport[]>;
}

declare global {
  interface Window {
    satpDemo?: DemoApi;
  }
}

const input = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const mode: Mode = MODES.find((m) => m === params.get('mode')) ?? 'direct';

const wire = new Wire();
wire.delayMs = Number(params.get('delay') ?? 300) || 0;
wire.pauseAt = STEPS.includes(params.get('pauseAt') ?? '') ? params.get('pauseAt')! : undefined;

const modeSelect = input<HTMLSelectElement>('mode');
modeSelect.value = mode;
modeSelect.addEventListener('change', () => {
  params.set('mode', modeSelect.value);
  location.search = params.toString();
});
const delaySelect = input<HTMLSelectElement>('delay');
if (!Array.from(delaySelect.options).some((o) => o.value === String(wire.delayMs)))
  delaySelect.append(new Option(`${wire.delayMs} ms per message`, String(wire.delayMs)));
delaySelect.value = String(wire.delayMs);
delaySelect.addEventListener('change', () => (wire.delayMs = Number(delaySelect.value)));
const pauseSelect = input<HTMLSelectElement>('pause-at');
pauseSelect.append(...STEPS.map((s) => new Option(s, s)));
pauseSelect.value = wire.pauseAt ?? '';
pauseSelect.addEventListener('change', () => (wire.pauseAt = pauseSelect.value || undefined));
input<HTMLButtonElement>('resume').addEventListener('click', () => wire.resume());

const ui = new Ui();
wire.onChange(() => {
  ui.wire(wire.paused);
  pauseSelect.value = wire.pauseAt ?? ''; // a pause point is used once
});

const origin = await buildOrigin(wire, ui);
const world = mode === 'node' ? await withNodeGateway(origin) : await inPageWorld(origin, mode);
document.body.dataset.mode = mode;
document.body.dataset.run = world.run;
const sessions: string[] = [];

// Balances are read again when a ledger op or a session end becomes durable: one read at a time, and one more
// if something changed meanwhile.
let reading: Promise<void> | undefined;
let stale = false;
const refresh = (): void => {
  if (reading) return void (stale = true);
  reading = readLedgers(world)
    .then((ledgers) => ui.balances(ledgers), console.error)
    .finally(() => {
      reading = undefined;
      if (stale) {
        stale = false;
        refresh();
      }
    });
};
ui.onDurable = (entries: readonly LogEntry[]) => {
  const kinds = entries.map((e) => (e.payload as { kind?: unknown }).kind);
  if (kinds.some((k) => k === 'ledger-done' || k === 'ledger-failed' || k === 'end')) refresh();
};

for (const g of world.page)
  ui.addGateway({
    id: g.id,
    title: `${g.id === world.origin.id ? 'origin, on ledger-a' : 'destination, on ledger-b'}; IndexedDB ${g.database}`,
    onCrash: () => void g.host.restart('crash button').catch(console.error),
  });
if (mode === 'node') followNodeGateway(world, ui);

const start = input<HTMLButtonElement>('start');
const startable = () => (start.disabled = !world.origin.host.running || sessions.length >= world.assets.length);
start.addEventListener('click', async () => {
  const running = world.origin.host.running;
  const assetId = world.assets[sessions.length];
  if (!running || !assetId) return;
  const n = sessions.length + 1;
  const sessionId = `s-${world.run}-${n}`;
  sessions.push(sessionId);
  startable();
  ui.session(sessionId, assetId, world.gateways);
  const result = await running.transfer({
    sessionId,
    contextId: `ctx-${world.run}-${n}`,
    peer: world.destination,
    assetId,
    assetProfileId: 'demo-asset',
    originator: 'alice',
    beneficiary: 'bob',
    lockSeconds: DEMO_LOCK_SECONDS,
  });
  if (!result.accepted) console.error(`the transfer was refused: ${result.detail}`);
});

window.satpDemo = {
  mode,
  run: world.run,
  gateways: world.gateways,
  sessions: () => [...sessions],
  verify: () => verifyChains(world, sessions),
  ledgers: () => readLedgers(world),
};
void forgetOldDatabases();
ui.onLife = (gw) => gw === world.origin.id && startable();
await Promise.all(world.page.map((g) => g.host.boot()));
startable();
refresh();
document.body.dataset.ready = 'true';

/** node mode: the Node gateway's log and life, as the demo server streams them (examples/browser/feed.ts). */
function followNodeGateway(w: World, view: Ui): void {
  view.addGateway({
    id: w.destination,
    title: 'destination, in the demo server (Node), on ledger-b',
    onCrash: () => void fetch('/api/node/crash', { method: 'POST' }),
  });
  const events = new EventSource(`/api/node/events?run=${w.run}`);
  events.addEventListener('message', (m: MessageEvent<string>) => {
    const e = JSON.parse(m.data) as
      | { type: 'entries'; gw: string; entries: LogEntry[] }
      | { type: 'ended'; gw: string }
      | ({ type: 'life'; gw: string; kind: 'booting' | 'booted' | 'crashed'; incarnation: number } & {
          recovered?: number;
          why?: string;
        });
    if (e.type === 'entries') view.entries(e.gw, e.entries);
    if (e.type === 'life') view.life(e.gw, e.kind === 'booted' ? 'up' : e.kind, e.incarnation, e.recovered, e.why);
  });
}

/** Each page load makes two small databases; those of loads over an hour old are deleted. */
async function forgetOldDatabases(): Promise<void> {
  const old = Date.now() - 3_600_000;
  for (const { name } of (await indexedDB.databases?.()) ?? []) {
    const made = Number(/^satp-demo-(\d+)-/.exec(name ?? '')?.[1]);
    if (name && made < old) indexedDB.deleteDatabase(name);
  }
}
