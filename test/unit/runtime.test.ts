// Proves which runtime this run is in, so a silent fallback to Node cannot pass as a Deno, Chromium or workerd run.
// Under Chromium and workerd the test files are bundled (test/runtimes/), with SATP_RUNTIME defined at build time.
import { describe, expect, it } from 'vitest';

const expected = process.env.SATP_RUNTIME;

describe('runtime', () => {
  it('is the runtime the test command asked for', () => {
    expect(expected, 'set SATP_RUNTIME=node|deno (npm test does)').toMatch(/^(node|deno|chromium|workerd)$/);
    const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
    const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '';
    if (expected === 'deno') {
      expect(deno?.version?.deno).toMatch(/^2\./);
    } else if (expected === 'node') {
      expect(deno).toBeUndefined();
      expect(process.versions.node).toMatch(/^\d+\./);
    } else if (expected === 'chromium') {
      expect(agent).toMatch(/HeadlessChrome\/\d+/);
      expect(typeof (globalThis as { document?: unknown }).document).toBe('object');
    } else {
      expect(agent).toBe('Cloudflare-Workers');
      expect((globalThis as { document?: unknown }).document).toBeUndefined();
    }
  });
});
