// The browser demo (examples/browser/) in a real Chromium: the demo server starts in this process on 127.0.0.1, the
// page runs its gateways on the browser's own IndexedDB, WebCrypto and WebSocket, and the test clicks through what a
// person would do. Per mode: start a transfer in slow motion with the wire set to pause at a step, so it stops
// mid-transfer on any machine, however loaded; crash one gateway with its button; wait for the new incarnation to
// report the session it recovered; resume the wire; wait for both gateways to end the session. Then it checks the
// balances on the page and in the page's ledgers, that no ledger op was applied twice, and that every chain
// verifies. Every wait is on the DOM and bounded; nothing waits on the clock. A screenshot per mode is written to
// reports/browser-demo-<mode>.png. Runs under Node and under Deno (playwright-core drives Chromium from both).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoServer, startDemoServer } from '../../examples/browser/server.ts';
import type { ChainReport, LedgerReport } from '../../examples/browser/page/checks.ts';
import { launchChromium } from '../runtimes/chromium.ts';

const REPORTS = fileURLToPath(new URL('../../reports/', import.meta.url));
/** In the screenshots' names, so that runs under Node and under Deno never write the same file. */
const RUNTIME = (globalThis as { Deno?: unknown }).Deno ? 'deno' : 'node';
/** The bound of every single wait on the page (clicks included): generous, as npm test runs other suites beside. */
const WAIT_MS = 60_000;
const RECOVERY_TYPES = ['recover-msg', 'recover-update-msg', 'recover-update-ack-msg', 'recover-success-msg'];

interface Case {
  mode: 'direct' | 'relay' | 'node';
  /** The step whose logging pauses the wire (one the crashed side's session cannot end past while paused). */
  pauseAt: string;
  crash: 'origin' | 'destination';
}

const CASES: Case[] = [
  { mode: 'direct', pauseAt: '2.2', crash: 'origin' },
  { mode: 'relay', pauseAt: '3.2', crash: 'destination' },
  // The page's gateway is the origin; it burns at 3.4 and is crashed before it hears the Node gateway's ack.
  { mode: 'node', pauseAt: '3.4', crash: 'origin' },
];

const waitFor = (page: Page, selector: string) => page.waitForSelector(selector, { timeout: WAIT_MS });

describe('the browser demo, clicked through in Chromium', () => {
  let server: DemoServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startDemoServer(), launchChromium()]);
    mkdirSync(REPORTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const c of CASES)
    it(`${c.mode}: a gateway crashed mid-transfer recovers from its IndexedDB and the transfer commits`, async () => {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(WAIT_MS);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${server!.url}/?mode=${c.mode}&delay=300&pauseAt=${c.pauseAt}`);
        await waitFor(page, 'body[data-ready="true"]');
        const { gateways, run } = await page.evaluate(() => window.satpDemo!);
        const [origin, destination] = gateways as [string, string];
        const victim = c.crash === 'origin' ? origin : destination;
        const asset = `asset-${run}-1`;

        await page.click('#start');
        await waitFor(page, `#timeline li[data-step="${c.pauseAt}"]`);
        await waitFor(page, '#wire[data-paused="true"]');
        // Mid-transfer: neither side has ended the session, and the wire holds what would end it.
        expect(await page.locator('#sessions td[data-outcome]').count()).toBe(0);

        await page.click(`#crash-${victim}`);
        const panel = await waitFor(page, `#gw-${victim}[data-incarnation="2"][data-recovered]`);
        expect(await panel!.getAttribute('data-recovered')).toBe('1');
        expect(await panel!.textContent()).toContain('recovered 1 session');

        await page.click('#resume');
        for (const gw of gateways) await waitFor(page, `#sessions td[data-gw="${gw}"][data-outcome]`);
        const outcomes = await page.$$eval('#sessions td[data-outcome]', (tds) => tds.map((td) => td.dataset.outcome));
        expect(outcomes).toEqual(['committed', 'committed']);

        // The balances the page shows, once both ledgers report the end state.
        await waitFor(page, `#balances tr[data-ledger="ledger-b"][data-asset="${asset}"][data-state="active"]`);
        await waitFor(page, `#balances tr[data-ledger="ledger-a"][data-asset="${asset}"][data-state="burned"]`);
        const shown = await page.$$eval(`#balances tr[data-asset="${asset}"]`, (rows) =>
          rows.map((r) => [r.dataset.ledger, r.dataset.owner, r.dataset.state].join(' ')),
        );
        expect(shown.sort()).toEqual(['ledger-a alice burned', 'ledger-b bob active']);

        // The page's ledgers, read directly: the asset is live on exactly one, and no op was applied twice.
        const ledgers: LedgerReport[] = await page.evaluate(() => window.satpDemo!.ledgers());
        const live = ledgers.flatMap((l) =>
          l.assets.filter((a) => a.assetId === asset && a.state === 'active').map((a) => `${l.id} ${a.owner}`),
        );
        expect(live).toEqual(['ledger-b bob']);
        const ops = ledgers.flatMap((l) => l.journal.filter((j) => j.opId.startsWith(`s-${run}-1:`)));
        expect(ops.map((o) => o.kind).sort()).toEqual(['assign', 'burn', 'lock', 'mint']);
        for (const op of ops) expect(op, op.opId).toMatchObject({ ok: true, applied: 1 });

        // Every chain verifies; both own chains ended committed; each copy is a prefix of the chain it copies, and
        // the crashed gateway holds one: RECOVER-UPDATE brought it the peer's entries.
        const chains: ChainReport[] = await page.evaluate(() => window.satpDemo!.verify());
        for (const ch of chains) expect(ch, `${ch.holder}: ${ch.author}'s chain`).toMatchObject({ ok: true });
        const own = (gw: string) => chains.find((ch) => ch.holder === gw && ch.author === gw)!;
        for (const gw of gateways) expect(own(gw).outcome, gw).toBe('committed');
        for (const copy of chains.filter((ch) => ch.holder !== ch.author))
          expect(own(copy.author).hashes.slice(0, copy.hashes.length)).toEqual(copy.hashes);
        const victimsCopy = chains.find((ch) => ch.holder === victim && ch.author !== victim)!;
        expect(victimsCopy.hashes.length).toBeGreaterThan(0);

        // The timeline marks the recovery handshake.
        const marked = await page.$$eval('#timeline li.recovery', (lis) => lis.map((li) => li.dataset.type));
        for (const type of RECOVERY_TYPES) expect(marked).toContain(type);

        await page.screenshot({ path: `${REPORTS}browser-demo-${c.mode}-${RUNTIME}.png`, fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }, 240_000);
});
