// Proves which runtime this run is in, so a silent fallback to Node cannot pass as a Deno run.
import { describe, expect, it } from 'vitest';

const expected = process.env.SATP_RUNTIME;

describe('runtime', () => {
  it('is the runtime the test command asked for', () => {
    expect(expected, 'set SATP_RUNTIME=node|deno (npm test does)').toMatch(/^(node|deno)$/);
    const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
    if (expected === 'deno') {
      expect(deno?.version?.deno).toMatch(/^2\./);
    } else {
      expect(deno).toBeUndefined();
      expect(process.versions.node).toMatch(/^\d+\./);
    }
  });
});
