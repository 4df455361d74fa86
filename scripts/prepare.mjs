#!/usr/bin/env node
// npm's `prepare`: build dist/ (`npm ci` in a clone; an install from git).
// A global install from git (`npm install -g git+…`, which is how pre-commit installs a `language:
// node` hook) prepares the clone with npm_config_global=true inherited, so npm's `npm install` there
// installs nothing and the build finds no tsc: "sh: 1: tsc: not found", "git dep preparation failed"
// (npm/cli#8440, open; npm/pacote#494 passes --global=false, not in npm 11.19). In that case the dev
// dependencies are installed here first, locally, as that fix would have npm do; --ignore-scripts,
// since `npm install` in this directory would run this `prepare` again.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const run = (args) => {
  const r = spawnSync(npm[0], [...npm.slice(1), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (process.env.npm_config_global === 'true' && !existsSync(`${root}node_modules/.bin/tsc`)) {
  console.error('meshdrain prepare: a global install from git gets no dev dependencies (npm/cli#8440); installing them to build');
  run(['install', '--global=false', '--include=dev', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts']);
}
run(['run', 'build']);
