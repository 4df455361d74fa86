#!/usr/bin/env node
// meshdrain lint throughput: whole process (node startup included) on generated Deployments, 1,000 and
// 10,000, each with a seed-style istio-proxy hold (4 findings per Deployment) and, separately, the output
// of `meshdrain inject` (the generated hold, ~7 kB of sh per pod). No peer linter checks these rules, so
// the ratio printed is linearity: time(10k) / (10 × time(1k)) — about 1 means linear.
// Run: npm run build && node bench/lint.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'meshdrain-lint-bench-'));
try {
  const plainDeployment = (i) => `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-${i}}
spec:
  selector: {matchLabels: {app: web-${i}}}
  template:
    metadata: {labels: {app: web-${i}}}
    spec:
      containers:
      - name: web
        image: web:1
        ports: [{containerPort: 8080}]
`;
  // The same Deployment with the seed template's netstat loop as istio-proxy's preStop.
  const seedDeployment = (i) => `${plainDeployment(i)}      - name: istio-proxy
        image: auto
        lifecycle:
          preStop:
            exec:
              command:
              - /bin/sh
              - -c
              - |
                while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do
                  sleep 30
                done
`;
  const time = (args, input) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status === 2 || r.status === null) throw new Error(`lint failed: ${r.stderr}`);
    return { s, out: r.stdout };
  };
  const rows = [];
  for (const [label, make] of [['seed hooks', seedDeployment], ['inject output', plainDeployment]]) {
    const res = {};
    for (const n of [1000, 10000]) {
      // Files of 1,000 Deployments each (inject output of 10,000 would pass the 32 MiB per-file limit).
      const sub = join(dir, `${label.replace(/ /g, '-')}-${n}`);
      mkdirSync(sub);
      let bytes = 0;
      for (let f = 0; f < n / 1000; f++) {
        let text = Array.from({ length: 1000 }, (_, i) => make(f * 1000 + i)).join('');
        if (label === 'inject output') text = time(['inject'], text).out;
        bytes += text.length;
        writeFileSync(join(sub, `part-${f}.yaml`), text);
      }
      const { s, out } = time(['lint', '-f', 'json', sub]);
      res[n] = s;
      rows.push(`${label.padEnd(14)} ${String(n).padStart(6)} Deployments  ${(bytes / 1048576).toFixed(1).padStart(5)} MiB  ${s.toFixed(2).padStart(6)} s  ${JSON.parse(out).findings.length} findings`);
    }
    rows.push(`${label.padEnd(14)} linearity time(10k)/(10×time(1k)) = ${(res[10000] / (10 * res[1000])).toFixed(2)}`);
  }
  console.log(rows.join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
