// Runs bundled test files in a real Chromium page: Debian's /usr/bin/chromium driven by playwright-core (which
// downloads no browser), the page served from a temp dir on 127.0.0.1 at a port the OS picks. IndexedDB, WebCrypto,
// fetch and WebSocket are the browser's own.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { RunResult } from './vitest-shim.ts';

export const CHROMIUM = process.env.SATP_CHROMIUM ?? '/usr/bin/chromium';

/** Launches Debian's Chromium headless, as the project runs it everywhere (no sandbox: CI runs as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

/** Serves `files` (name → absolute path) on 127.0.0.1 at an OS-chosen port. */
export async function serveFiles(files: Record<string, string>): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css' };
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
    const path = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!path) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[name.split('.').pop() ?? ''] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Runs the bundle's run() in a page; resolves with its result. Bounded by `timeoutMs`. */
export async function runInChromium(bundle: string, dir: string, timeoutMs: number): Promise<RunResult> {
  const html = join(dir, 'index.html');
  writeFileSync(html, '<!doctype html><meta charset="utf-8"><title>satp-recovery tests</title>');
  const { url, server } = await serveFiles({ 'index.html': html, 'tests.js': bundle });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error(`chromium page error: ${err.message}`));
    await page.goto(`${url}/index.html`);
    return await page.evaluate(
      async ([ms]) => {
        const path = '/tests.js';
        const mod = (await import(path)) as { run: () => Promise<RunResult> };
        let timer: ReturnType<typeof setTimeout> | undefined;
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the tests did not finish within ${ms} ms`)), ms);
        });
        try {
          return await Promise.race([mod.run(), limit]);
        } finally {
          clearTimeout(timer);
        }
      },
      [timeoutMs] as const,
    );
  } finally {
    await browser.close();
    server.close();
  }
}
