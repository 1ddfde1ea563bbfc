// One suite, two runtimes: `npm test` runs this config under Node and under Deno (scripts/test.mjs); the portable
// part of it also runs in Chromium and workerd (test/runtimes/).
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Files only a browser or workerd can run; test/runtimes/cli.ts runs them there.
    exclude: [...configDefaults.exclude, 'test/browser/**', 'test/workerd/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
