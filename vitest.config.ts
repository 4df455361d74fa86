import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The network-namespace files with timing bounds (the lab's; the hooks', whose release bounds broke
 * with a lab file beside them: 1,071 ms against 892 in a fresh-clone CI): each runs real rolling restarts (minutes of real timers) and
 * asserts bounds on when things happen. `npm test` (scripts/test-lanes.mjs) runs this project, one
 * file at a time, in one vitest run and the project `rest` in another at the same time (ADR 002).
 */
const LAB_NETNS = ['test/lab/*-netns.test.ts', 'test/hooks/*-netns.test.ts'];

export default defineConfig({
  test: {
    // Network-namespace tests spawn real processes; forks isolate them and keep signals sane.
    pool: 'forks',
    // Tags this run's network namespaces and removes them at the end, also after a killed worker.
    globalSetup: ['test/global-netns.ts'],
    // Lets each worker answer vitest's progress RPC between tests (its 60 s limit, ADR 002).
    setupFiles: ['test/setup-yield.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'lab-netns', include: LAB_NETNS } },
      { extends: true, test: { name: 'rest', include: ['test/**/*.test.ts', 'src/**/*.test.ts'], exclude: [...configDefaults.exclude, ...LAB_NETNS] } },
    ],
  },
});
