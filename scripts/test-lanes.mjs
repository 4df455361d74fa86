#!/usr/bin/env node
// `npm test`: the suite as two vitest runs at the same time (ADR 002, "two lanes"). The lab's
// network-namespace files (project lab-netns, vitest.config.ts) run one at a time in one run; every
// other file runs in the other. The lab files spend minutes waiting on real timers, so the rest fits
// beside them; two lab files side by side broke the lab's 1.5 s preStop bound on a 2-core machine.
// Both runs use the forks pool; a project in the threads pool (one vitest run) gave a green run that
// still failed on vitest's worker RPC timeout. Each run has its own global setup (its own netns tag).
// With arguments (`npm test -- test/x.test.ts`) it is one plain `vitest run` with them.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const args = process.argv.slice(2);

const lanes = args.length
  ? [{ name: '', argv: ['run', ...args] }]
  : [
      { name: 'lab-netns', argv: ['run', '--project', 'lab-netns', '--no-file-parallelism'] },
      { name: 'rest', argv: ['run', '--project', 'rest'] },
    ];

const children = [];
const runs = lanes.map(({ name, argv }) => {
  const start = Date.now();
  const child = spawn(process.execPath, [vitest, ...argv], { cwd: root, stdio: name ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  children.push(child);
  if (name) {
    // Every line says its lane: the two runs' output interleaves.
    for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      createInterface({ input: from, crlfDelay: Infinity }).on('line', (l) => to.write(`[${name}] ${l}\n`));
    }
  }
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ name, code: 1, signal: null, error: e.message, s: (Date.now() - start) / 1000 }));
    child.on('close', (code, signal) => resolve({ name, code, signal, s: (Date.now() - start) / 1000 }));
  });
});

// Ctrl-C or CI's SIGTERM reach both runs, so each removes its own namespaces (test/global-netns.ts).
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  });
}

const results = await Promise.all(runs);
let failed = false;
for (const r of results) {
  const ok = r.code === 0;
  failed ||= !ok;
  if (r.name) process.stderr.write(`npm test: lane ${r.name} ${ok ? 'passed' : `failed (${r.error ?? (r.signal ? `signal ${r.signal}` : `exit ${r.code}`)})`} in ${r.s.toFixed(0)} s\n`);
}
process.exitCode = failed ? 1 : 0;
