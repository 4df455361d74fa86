#!/usr/bin/env node
// Start-up: `meshdrain --version` and `--help` against bare `node -e 0` on the same machine, in the
// same run, interleaved (goal: under 100 ms above node). Also a one-file inject for reference.
// Usage: node bench/startup.mjs [--runs 15]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 15;
const dir = mkdtempSync(join(tmpdir(), 'meshdrain-startup-'));
const one = join(dir, 'one.yaml');
writeFileSync(one, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n');

const cases = {
  'node -e 0': ['-e', '0'],
  'meshdrain --version': [bin, '--version'],
  'meshdrain --help': [bin, '--help'],
  'meshdrain inject (1 Deployment)': [bin, 'inject', one],
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
// CPU time (user + sys, GNU time) is disturbed less than wall time by other load on the machine.
const hasGnuTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;
const cpuFile = join(dir, 'cpu.txt');
try {
  for (let r = 0; r < runs; r++) {
    for (const [name, args] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      const p = hasGnuTime
        ? spawnSync('/usr/bin/time', ['-o', cpuFile, '-f', '%U %S', process.execPath, ...args], { encoding: 'utf8' })
        : spawnSync(process.execPath, args, { encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (p.status !== 0) throw new Error(`${name} failed: ${p.stderr}`);
      times[name].push(ms);
      if (hasGnuTime) cpu[name].push(readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).reduce((a, b) => a + Number(b) * 1000, 0));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times['node -e 0']);
console.log(`start-up (median of ${runs}, interleaved, whole process)`);
const cpuBase = hasGnuTime ? median(cpu['node -e 0']) : NaN;
console.log('case                               median_ms  above_node_ms  cpu_ms  cpu_above_node_ms');
for (const [name, xs] of Object.entries(times)) {
  const c = hasGnuTime ? median(cpu[name]) : NaN;
  console.log(`${name.padEnd(33)}  ${median(xs).toFixed(0).padStart(9)}  ${(median(xs) - base).toFixed(0).padStart(13)}  ${c.toFixed(0).padStart(6)}  ${(c - cpuBase).toFixed(0).padStart(17)}`);
}
for (const name of ['meshdrain --version', 'meshdrain --help']) {
  const above = median(times[name]) - base;
  console.log(`goal: ${name} under 100 ms above node -e 0: ${above.toFixed(0)} ms, ${above < 100 ? 'met' : 'NOT met'}`);
}
