#!/usr/bin/env node
// The build: one bundled file per entry (esbuild, ESM, source maps), type-checked by tsc beforehand
// (npm run build). Why bundled: Node resolving and compiling ~100 ESM files was most of a one-file
// run's start-up (docs/adr/081-bundled-build.md).
//  - dist/cli/meshdrain.cjs: the CLI, started through V8's code cache by dist/cli/main.js (the bin;
//    src/cli/start.ts). Commands are evaluated only when run, so `meshdrain inject` in a Helm
//    post-renderer does not run lint's or the lab's module code.
//  - dist/lab/agent/main.js: the lab's agent, copied into the lab's namespaces at run time.
//  - dist/hooks/hold.js, dist/image/entrypoint.js, dist/policy/schema.js: modules bench/ and
//    scripts/ import (not shipped in the package).
// Dependencies are bundled: the installed package needs nothing from node_modules at run time.
import { build } from 'esbuild';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

// src/version.ts reads ../package.json next to itself, which a bundle is not; the bundle gets the value.
const versionPlugin = {
  name: 'meshdrain-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `/** Set at build time (scripts/build.mjs). */\nexport const VERSION = ${JSON.stringify(version)};\n`,
      loader: 'ts',
    }));
  },
};

// @grpc/grpc-js and ws: the CLI never imports them (only the lab's agent does), and the agent bundles them: it
// is copied to a temp directory and run there, away from node_modules (ADR 076); ws's optional native
// add-ons (bufferutil, utf-8-validate) stay out, and ws falls back to JavaScript without them.
// jsonc-parser's `main` is a UMD build whose require('./impl/format') esbuild cannot follow (the
// bundled CLI failed with "Cannot find module './impl/format'"); its ESM build bundles cleanly.
const alias = { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' };
const common = { absWorkingDir: root, alias, external: ['@grpc/grpc-js', 'ws'], bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, logLevel: 'warning', plugins: [versionPlugin] };
// esbuild's ESM output may call require() for node: built-ins inside bundled CommonJS; give it one.
const banner = { js: "import { createRequire as __meshdrainCreateRequire } from 'node:module'; const require = __meshdrainCreateRequire(import.meta.url);" };

rmSync(`${root}dist`, { recursive: true, force: true });
// The CLI: one CommonJS bundle (V8's code cache can only be used for scripts on Node 20, not ES
// modules) started by dist/cli/main.js (src/cli/start.ts). Commands stay lazy: their modules are
// evaluated only when loaded; import.meta.url is the bundle's own URL.
// Minified (names kept, source maps beside it): every start reads, decodes and loads the whole
// bundle from V8's code cache, and 1.7 MB → 0.95 MB took ~30 ms of CPU off `--version` (ADR 081).
await build({
  ...common,
  minify: true,
  keepNames: true,
  format: 'cjs',
  entryPoints: { 'cli/meshdrain': 'src/cli/main.ts' },
  outExtension: { '.js': '.cjs' },
  outdir: 'dist',
  define: { 'import.meta.url': '__meshdrainImportMetaUrl' },
  banner: { js: 'var __meshdrainImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// The bin starts as CommonJS (dist/cli/package.json says so): Node's ES module loader cost ~20–40 ms
// of every start and the bin needs none of it (measured with --cpu-prof; ADR 081 addendum).
await build({
  ...common,
  bundle: false,
  alias: undefined,
  external: undefined,
  format: 'cjs',
  entryPoints: { 'cli/main': 'src/cli/start.ts' },
  outdir: 'dist',
  define: { 'import.meta.url': '__meshdrainImportMetaUrl' },
  banner: { js: 'var __meshdrainImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
});
writeFileSync(`${root}dist/cli/package.json`, '{ "type": "commonjs" }\n');
if (existsSync(`${root}src/lab/agent/main.ts`)) await build({ ...common, banner, external: ['bufferutil', 'utf-8-validate'], entryPoints: { 'lab/agent/main': 'src/lab/agent/main.ts' }, outdir: 'dist' });
await build({
  ...common,
  banner,
  entryPoints: { 'hooks/hold': 'src/hooks/hold.ts', 'image/entrypoint': 'src/image/entrypoint.ts', 'policy/schema': 'src/policy/schema.ts' },
  outdir: 'dist',
});
chmodSync(`${root}dist/cli/main.js`, 0o755);
