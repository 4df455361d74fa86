import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Network-namespace tests spawn real processes; forks isolate them and keep signals sane.
    pool: 'forks',
    // Tags this run's network namespaces and removes them at the end, also after a killed worker.
    globalSetup: ['test/global-netns.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
