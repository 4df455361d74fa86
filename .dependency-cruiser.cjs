/**
 * Import-graph rules for src/ (issue 10; ADR 008). `npm test` runs them through test/structure/imports.test.ts.
 * tsPreCompilationDeps: true makes `import type` edges count too: a type-only cycle still couples two
 * modules so neither can be understood or moved alone.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles among the modules in src/, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-to-cli',
      severity: 'error',
      comment: 'The pure core and the lab are used by the CLI, never the other way round (cli/ is the adapter).',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'leaves-stay-leaves',
      severity: 'error',
      comment: "constants.ts and version.ts hold meshdrain's own facts, errors.ts its error types; istio/facts.ts Istio's. Anything may import them, so they import nothing of meshdrain's but constants.ts.",
      from: { path: '^src/(constants|version|errors|istio/facts)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/constants\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
