#!/usr/bin/env node
// meshdrain inject vs `kubectl kustomize` applying the equivalent strategic-merge patch (the istio-proxy
// override with a preStop on every Deployment). Whole process, side by side, same run, same input.
// Goals (issue 14): 1 Deployment: meshdrain's wall time <= kustomize's; 1,000: >= 5x faster; 10,000:
// linear (time per 1,000 not growing); peak memory at 10,000 reported.
// Usage: node bench/inject.mjs [--sizes 1,1000,10000] [--runs 5] [--kustomize-max 1000]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/cli/main.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const sizes = arg('--sizes', '1,1000,10000').split(',').map(Number);
const runs = Number(arg('--runs', '5'));
const kustomizeMax = Number(arg('--kustomize-max', '1000'));

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

// kustomize applies, as a strategic-merge patch on every Deployment, exactly what meshdrain writes by
// default (the hold in the proxy.istio.io/overrides annotation, ADR 061; the app's preStop; the grace
// period), taken from meshdrain's own output for one Deployment, so both tools emit the same manifests
// (checked below on the 1-Deployment run, document for document).
const sample = parse(execFileSync(process.execPath, [bin, 'inject'], { input: deployments(1), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }));
const tpl = sample.spec.template;
const patch = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'any' },
  spec: {
    template: {
      metadata: { annotations: tpl.metadata.annotations },
      spec: { terminationGracePeriodSeconds: tpl.spec.terminationGracePeriodSeconds, containers: tpl.spec.containers.map((c) => ({ name: c.name, lifecycle: c.lifecycle })) },
    },
  },
};
const OVERRIDES = 'proxy.istio.io/overrides';
if (!tpl.metadata.annotations?.[OVERRIDES]) throw new Error(`meshdrain inject wrote no ${OVERRIDES} annotation: update this benchmark's patch to what inject writes now`);

// Wall time, and CPU time (user + sys, from GNU time) which other load on the machine disturbs less.
const hasGnuTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;
function time(cmd, args) {
  const cpuFile = join(dir, 'cpu.txt');
  const argv = hasGnuTime ? ['/usr/bin/time', ['-o', cpuFile, '-f', '%U %S %M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv[1], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(0, 300)}`);
  const f = hasGnuTime ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-3).map(Number) : [NaN, NaN, NaN];
  return { ms, cpu: (f[0] + f[1]) * 1000, rssMb: f[2] / 1024, out: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-bench-'));
try {
  console.log(`inject vs kubectl kustomize (median of ${runs}, whole process, interleaved; kustomize up to ${kustomizeMax} Deployments)`);
  console.log('deployments  meshdrain_ms  kustomize_ms  kustomize/meshdrain  meshdrain_cpu_ms  kustomize_cpu_ms  cpu_ratio  meshdrain_peak_MiB  meshdrain_ms_per_1k');
  const rows = [];
  for (const n of sizes) {
    const d = join(dir, `n${n}`);
    execFileSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'deployments.yaml'), deployments(n));
    writeFileSync(join(d, 'patch.yaml'), JSON.stringify(patch));
    writeFileSync(join(d, 'kustomization.yaml'), 'resources:\n- deployments.yaml\npatches:\n- path: patch.yaml\n  target:\n    kind: Deployment\n');
    const md = [], kz = [], mc = [], kc = [], rss = [];
    let mOut = '', kOut = '';
    // kustomize grows faster than linearly (7.5 minutes at 10,000 in the first session), so it runs
    // only up to --kustomize-max; linearity at 10,000 is meshdrain against its own 1,000 figure.
    const withKustomize = n <= kustomizeMax;
    for (let r = 0; r < runs; r++) {
      const m = time(process.execPath, [bin, 'inject', join(d, 'deployments.yaml')]);
      md.push(m.ms);
      mc.push(m.cpu);
      rss.push(m.rssMb);
      mOut = m.out;
      if (withKustomize) {
        const k = time('kubectl', ['kustomize', d]);
        kz.push(k.ms);
        kc.push(k.cpu);
        kOut = k.out;
      }
    }
    // Both must have done the same work: the hold on every Deployment; for one, the same manifest.
    const count = (s) => s.split(OVERRIDES).length - 1;
    if (count(mOut) !== n || (withKustomize && count(kOut) !== n)) throw new Error(`expected ${n} ${OVERRIDES} annotations, got meshdrain ${count(mOut)}, kustomize ${count(kOut)}`);
    if (n === 1 && withKustomize) {
      // kustomize sorts keys; compare the values.
      const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
      const [m, k] = [mOut, kOut].map((s) => JSON.stringify(canon(parseAllDocuments(s).map((d) => d.toJS()).filter(Boolean))));
      if (m !== k) throw new Error('meshdrain and kustomize wrote different manifests for one Deployment: the comparison is unfair');
    }
    const row = { n, meshdrain: median(md), kustomize: withKustomize ? median(kz) : NaN, mcpu: median(mc), kcpu: withKustomize ? median(kc) : NaN, rss: Math.max(...rss) };
    rows.push(row);
    const f = (x, w, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-').padStart(w);
    console.log(
      `${f(n, 11)}  ${f(row.meshdrain, 12)}  ${f(row.kustomize, 12)}  ${f(row.kustomize / row.meshdrain, 18, 2)}x` +
        `  ${f(row.mcpu, 16)}  ${f(row.kcpu, 16)}  ${f(row.kcpu / row.mcpu, 8, 2)}x  ${f(row.rss, 18)}  ${f(row.meshdrain / (n / 1000), 19)}`,
    );
  }
  const at = (n) => rows.find((r) => r.n === n);
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  console.log('\ngoals:');
  if (at(1)) console.log(`  1 Deployment: meshdrain ${at(1).meshdrain.toFixed(0)} ms vs kustomize ${at(1).kustomize.toFixed(0)} ms = ${(at(1).meshdrain / at(1).kustomize).toFixed(2)} of kustomize's time (goal <= 1.00): ${verdict(at(1).meshdrain <= at(1).kustomize)}`);
  if (at(1000)) console.log(`  1,000 Deployments: ${(at(1000).kustomize / at(1000).meshdrain).toFixed(2)}x faster than kustomize (goal >= 5x): ${verdict(at(1000).kustomize / at(1000).meshdrain >= 5)}`);
  if (at(1000) && at(10000)) {
    const growth = at(10000).meshdrain / at(1000).meshdrain;
    console.log(`  10,000 Deployments: ${growth.toFixed(1)}x the time of 1,000 for 10x the input (linear <= 10x): ${verdict(growth <= 10)}; peak memory ${at(10000).rss.toFixed(0)} MiB`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
