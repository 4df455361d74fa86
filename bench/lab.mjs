#!/usr/bin/env node
// Benchmark for `meshdrain lab` (issue 7). Root only (network namespaces, iptables).
//   npx tsc -p tsconfig.build.json && node bench/lab.mjs [--replicas 3] [--trials 1] [--quick]
//
// Runs the lab's scenarios side by side in the same run and prints, per trial and in total:
// failed requests and failed outbound calls (meshdrain against Istio's defaults and the seed recipes),
// and pod termination time against the netstat-loop recipe (held until SIGKILL) and a fixed sleep.
// Goal (issue 7): meshdrain 0 failed requests and 0 failed outbound calls over ≥ 20,000 requests per
// trial; no-hold shows both; netstat-loop waits for SIGKILL.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const QUICK = args.includes('--quick');
const TRIALS = Number(opt('--trials', '1'));
const REPLICAS = opt('--replicas', QUICK ? '2' : '3');
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

if (process.getuid?.() !== 0) {
  console.error('bench/lab.mjs: needs root (network namespaces, iptables)');
  process.exit(2);
}

const totals = {};
let ok = true;
for (let t = 1; t <= TRIALS; t++) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [BIN, 'lab', '--json', '--replicas', REPLICAS, ...(QUICK ? ['--scenario', 'no-hold', '--scenario', 'netstat-loop', '--scenario', 'meshdrain'] : ['--scenario', 'all'])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 && r.status !== 1) {
    console.error(`bench/lab.mjs: meshdrain lab exited ${r.status}`);
    process.exit(3);
  }
  const { scenarios } = JSON.parse(r.stdout);
  console.log(`\ntrial ${t}/${TRIALS} (${((Date.now() - started) / 1000).toFixed(0)} s, ${REPLICAS} replicas)`);
  console.log('scenario           requests   failed  avail %    failed calls  proxy-app s  termination s  SIGKILLed  reproduced');
  for (const s of scenarios) {
    console.log(
      `${s.name.padEnd(17)} ${String(s.requests).padStart(9)} ${String(s.failedRequests).padStart(8)} ${s.availabilityPercent.toFixed(3).padStart(8)} ${`${s.failedEgress}/${s.egressCalls}`.padStart(15)} ${s.proxyOutlivedAppSeconds.toFixed(2).padStart(12)} ${s.terminationSeconds.toFixed(2).padStart(14)} ${`${s.podsKilled}/${s.podsTerminated}`.padStart(10)}  ${s.reproduced ? 'yes' : 'NO'}`,
    );
    const a = (totals[s.name] ??= { requests: 0, failed: 0, failedEgress: 0, egress: 0, term: [] });
    a.requests += s.requests;
    a.failed += s.failedRequests;
    a.failedEgress += s.failedEgress;
    a.egress += s.egressCalls;
    a.term.push(s.terminationSeconds);
    ok &&= s.reproduced && (!s.name.endsWith('meshdrain') || s.requests >= 20_000);
  }
}

const mean = (xs) => xs.reduce((x, y) => x + y, 0) / xs.length;
const md = totals.meshdrain;
console.log('\nside by side, all trials:');
for (const [name, a] of Object.entries(totals)) {
  const lost = a.failed / a.requests;
  console.log(`  ${name.padEnd(17)} failed requests ${a.failed}/${a.requests} (${(lost * 100).toFixed(3)} %), failed outbound calls ${a.failedEgress}/${a.egress}, termination ${mean(a.term).toFixed(2)} s`);
}
if (md) {
  for (const peer of ['netstat-loop', 'sleep-hold', 'no-hold', 'native']) {
    if (!totals[peer]) continue;
    console.log(`  termination time meshdrain / ${peer}: ${(mean(md.term) / mean(totals[peer].term)).toFixed(2)}×`);
  }
}
console.log(ok ? '\ngoal met: every scenario showed what it is expected to show' : '\ngoal NOT met: see the rows marked NO');
process.exit(ok ? 0 : 1);
