// `npm run bench:guardian` runs under vitest for the test suite's global setup (Postgres, issuer).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/guardian/run.ts'],
    globalSetup: ['test/setup/postgres.ts'],
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
    silent: false,
  },
});
