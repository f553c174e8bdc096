import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration and end-to-end tests start real processes on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
    // A suite that could not run (test/helpers/needs.ts) is listed at the end of the run.
    reporters: ['default', './test/helpers/skip-reporter.ts'],
  },
});
