#!/usr/bin/env node
// Runs the benchmarks one after another (they measure time; running them in parallel would skew it).
// Usage: npm run bench [-- NAME...]   NAME: startup inject hook image lint lab   (--quick passes through)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = {
  startup: { file: 'startup.mjs', what: 'meshdrain --version / --help against node -e 0' },
  inject: { file: 'inject.mjs', what: 'meshdrain inject vs kubectl kustomize: 1, 1,000 and 10,000 Deployments, peak memory' },
  hook: { file: 'hook.mjs', what: 'hold poll cost vs the seed netstat poll at 1,000/10,000 sockets; hold past app exit (root)', root: true },
  image: { file: 'image-entrypoint.mjs', what: 'entrypoint: SIGTERM forwarded after the app closes, vs the seed bash entrypoint (root)', root: true },
  lint: { file: 'lint.mjs', what: 'meshdrain lint over 1,000 and 10,000 Deployments (linearity)' },
  lab: { file: 'lab.mjs', what: 'the lab scenarios side by side (root, minutes)', root: true },
};

const args = process.argv.slice(2);
const passthrough = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const isRoot = process.getuid?.() === 0;
let failed = 0;
for (const name of names.length ? names : Object.keys(BENCHES)) {
  const b = BENCHES[name];
  if (b.root && !isRoot) {
    console.error(`bench: skipping ${name} (needs root)`);
    continue;
  }
  console.log(`\n== ${name}: ${b.what}`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(b.file, import.meta.url)), ...passthrough], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: ${name} exited ${r.status}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
