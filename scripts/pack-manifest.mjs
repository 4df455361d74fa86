#!/usr/bin/env node
// The package.json that goes into the tarball, without `prepare` (npm pack's prepack / postpack).
// `prepare: npm run build` builds dist/ in a clone (`npm ci`) and for a git or directory install;
// the tarball ships dist/ built, and npm never runs a tarball's `prepare`, but npm 11 lists it
// among the install scripts a user is asked to allow ("npm warn install-scripts meshdrain@… (prepare:
// npm run build)"): it counts `prepare` for every non-registry source, a local .tgz included
// (@npmcli/arborist lib/install-scripts.js, hasNonRegistryShape). So the packed manifest has no
// `prepare` (nor these two pack scripts, which need this file); the checkout's package.json is put
// back by postpack (and by the next prepack, should a failed pack have left the copy behind).
// npm pack builds from the stripped manifest: prepack runs the build itself (`npm run build &&`).
// Usage: node scripts/pack-manifest.mjs strip|restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../package.json', import.meta.url));
const saved = `${pkg}.prepack`;
const mode = process.argv[2];
if (mode === 'strip') {
  if (existsSync(saved)) renameSync(saved, pkg);
  const text = readFileSync(pkg, 'utf8');
  const json = JSON.parse(text);
  writeFileSync(saved, text);
  for (const s of ['prepare', 'prepack', 'postpack']) delete json.scripts[s];
  writeFileSync(pkg, `${JSON.stringify(json, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(saved)) renameSync(saved, pkg);
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
