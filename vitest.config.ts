import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Network-namespace tests spawn real processes; forks isolate them and keep signals sane.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
