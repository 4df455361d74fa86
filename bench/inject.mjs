#!/usr/bin/env node
// meshdrain inject vs `kubectl kustomize` applying the equivalent strategic-merge patch (the istio-proxy
// override with a preStop on every Deployment). Whole process, side by side, same run, same input.
// Usage: node bench/inject.mjs [--sizes 1000,10000] [--runs 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/cli/main.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const sizes = arg('--sizes', '1000,10000').split(',').map(Number);
const runs = Number(arg('--runs', '3'));

function deployments(n) {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `---
# service ${i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-${i}
  labels: {app: svc-${i}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: svc-${i}}
  template:
    metadata:
      labels: {app: svc-${i}}
    spec:
      containers:
      - name: app
        image: "registry.example/svc-${i}:1.0"
        ports:
        - containerPort: 8080
`;
  }
  return out;
}

// The same hold meshdrain writes, so both tools emit equivalent manifests.
const hold = JSON.parse(execFileSync(process.execPath, [bin, 'hook', '--format', 'exec-json'], { encoding: 'utf8' }));
const patch = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'any' },
  spec: { template: { spec: { containers: [{ name: 'istio-proxy', image: 'auto', lifecycle: { preStop: { exec: { command: hold } } } }] } } },
};

// Wall time, and CPU time (user + sys, from GNU time) which other load on the machine disturbs less.
const hasGnuTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;
function time(cmd, args) {
  const cpuFile = join(dir, 'cpu.txt');
  const argv = hasGnuTime ? ['/usr/bin/time', ['-o', cpuFile, '-f', '%U %S', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv[1], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(0, 300)}`);
  const cpu = hasGnuTime ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).reduce((a, b) => a + Number(b) * 1000, 0) : NaN;
  return { ms, cpu, out: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-bench-'));
try {
  console.log(`inject vs kubectl kustomize (median of ${runs}, whole process)`);
  console.log('deployments  meshdrain_ms  kustomize_ms  speedup  meshdrain_cpu_ms  kustomize_cpu_ms  cpu_ratio  meshdrain_ms_per_1k');
  const rows = [];
  for (const n of sizes) {
    const d = join(dir, `n${n}`);
    execFileSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'deployments.yaml'), deployments(n));
    writeFileSync(join(d, 'patch.yaml'), JSON.stringify(patch));
    writeFileSync(join(d, 'kustomization.yaml'), 'resources:\n- deployments.yaml\npatches:\n- path: patch.yaml\n  target:\n    kind: Deployment\n');
    const md = [], kz = [], mc = [], kc = [];
    let mOut = '', kOut = '';
    // kustomize grows faster than linearly (minutes at 10,000), so large sizes get one kustomize run.
    const kRuns = n >= 5000 ? 1 : runs;
    for (let r = 0; r < runs; r++) {
      const m = time(process.execPath, [bin, 'inject', join(d, 'deployments.yaml')]);
      md.push(m.ms);
      mc.push(m.cpu);
      mOut = m.out;
      if (r < kRuns) {
        process.stderr.write(`bench: kubectl kustomize, ${n} Deployments, run ${r + 1}/${kRuns}...\n`);
        const k = time('kubectl', ['kustomize', d]);
        kz.push(k.ms);
        kc.push(k.cpu);
        kOut = k.out;
      }
    }
    // Both must have done the work: one istio-proxy per Deployment.
    const count = (s) => (s.match(/name: istio-proxy/g) ?? []).length;
    if (count(mOut) !== n || count(kOut) !== n) throw new Error(`expected ${n} istio-proxy containers, got meshdrain ${count(mOut)}, kustomize ${count(kOut)}`);
    const row = { n, meshdrain: median(md), kustomize: median(kz), mcpu: median(mc), kcpu: median(kc) };
    rows.push(row);
    console.log(
      `${String(n).padStart(11)}  ${row.meshdrain.toFixed(0).padStart(12)}  ${row.kustomize.toFixed(0).padStart(12)}  ${(row.kustomize / row.meshdrain).toFixed(1).padStart(6)}x` +
        `  ${row.mcpu.toFixed(0).padStart(16)}  ${row.kcpu.toFixed(0).padStart(16)}  ${(row.kcpu / row.mcpu).toFixed(1).padStart(8)}x  ${(row.meshdrain / (n / 1000)).toFixed(0).padStart(19)}`,
    );
  }
  if (rows.length >= 2) {
    const [a, b] = [rows[0], rows[rows.length - 1]];
    console.log(`growth ${a.n}→${b.n}: meshdrain ×${(b.meshdrain / a.meshdrain).toFixed(1)} for ×${b.n / a.n} input (linear = ×${b.n / a.n})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
