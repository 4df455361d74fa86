#!/usr/bin/env node
// How long after the app closes does pilot-agent get SIGTERM? The meshdrain image entrypoint (dash,
// as /bin/sh on the Ubuntu proxyv2; default 200 ms interval) against the seed-style bash entrypoint
// (traps TERM, polls `netstat -tulpn | grep LISTEN | grep :8080` with 1 s turns), side by side in the
// same run, in a private network namespace. Root; needs a build (`npx tsc -p tsconfig.build.json`).
//   node bench/image-entrypoint.mjs [trials=10]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderEntrypoint } from '../dist/image/entrypoint.js';

if (process.getuid?.() !== 0) {
  console.error('bench/image-entrypoint: needs root (network namespaces)');
  process.exit(2);
}
const TRIALS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? (process.argv.includes('--quick') ? 5 : 10));
const dir = mkdtempSync(join(tmpdir(), 'meshdrain-bench-image-'));
const ns = `mdbimg${process.pid}`;
const fake = new URL('../test/image/fake/', import.meta.url);
const agent = join(dir, 'pilot-agent');
writeFileSync(agent, readFileSync(new URL('pilot-agent.mjs', fake), 'utf8').replace(/^#!.*\n/, `#!${process.execPath}\n`));
chmodSync(agent, 0o755);
writeFileSync(join(dir, 'app.mjs'), readFileSync(new URL('app.mjs', fake), 'utf8'));

const ours = renderEntrypoint({ hold: { strategies: [{ kind: 'app-listeners' }], timeoutMs: 20_000, intervalMs: 200 }, variant: 'default', agentPath: agent });
// The seed idea (bash, netstat, 1 s turns), made to run the same fake agent.
const seed = `#!/bin/bash
${agent} "$@" &
child=$!
on_term() {
  while true; do netstat -tulpn | grep LISTEN | grep -q :8080 || break; sleep 1; done
  kill -TERM "$child"
}
trap on_term TERM
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
`;
const entrypoints = [
  { name: 'meshdrain entrypoint (dash, 200ms)', shell: 'dash', file: join(dir, 'ours.sh'), text: ours },
  { name: 'seed-style entrypoint (bash+netstat, 1s)', shell: 'bash', file: join(dir, 'seed.sh'), text: seed },
];
for (const e of entrypoints) writeFileSync(e.file, e.text, { mode: 0o755 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const recs = (f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
async function until(cond, limit = 20_000) {
  const end = Date.now() + limit;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error('timeout');
    await sleep(5);
  }
}
const inNs = (argv, env) => spawn('ip', ['netns', 'exec', ns, ...argv], { env: { ...process.env, ...env }, stdio: 'ignore' });

async function trial(e, i) {
  const agentLog = join(dir, `agent-${i}.log`);
  const appLog = join(dir, `app-${i}.log`);
  const app = inNs([process.execPath, join(dir, 'app.mjs')], { FAKE_APP_LOG: appLog });
  await until(() => recs(appLog).some((r) => r.event === 'listening'));
  const ep = inNs([e.shell, e.file, 'proxy'], { FAKE_AGENT_LOG: agentLog });
  const exited = new Promise((r) => ep.on('exit', r));
  await until(() => recs(agentLog).some((r) => r.event === 'start'));
  ep.kill('SIGTERM');
  await sleep(300 + Math.random() * 1000); // the app closes at a random point of the poll cycle
  app.kill('SIGUSR2');
  const closing = await until(() => recs(appLog).find((r) => r.event === 'closing'));
  const term = await until(() => recs(agentLog).find((r) => r.sig === 'SIGTERM'));
  await exited;
  app.kill('SIGKILL');
  return term.t - closing.t;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p95: q(0.95), max: s.at(-1), min: s[0] };
};

spawnSync('ip', ['netns', 'add', ns]);
spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
try {
  const results = entrypoints.map(() => []);
  // Interleave the two so load on the machine hits both alike.
  for (let i = 0; i < TRIALS; i++) {
    for (const [k, e] of entrypoints.entries()) results[k].push(await trial(e, `${k}-${i}`));
  }
  const [a, b] = results.map(stats);
  for (const [k, e] of entrypoints.entries()) {
    const s = stats(results[k]);
    console.log(`${e.name.padEnd(42)} app close → SIGTERM at pilot-agent: median ${s.median} ms, p95 ${s.p95} ms, min ${s.min} ms, max ${s.max} ms (${TRIALS} trials)`);
  }
  console.log(`ratio (seed-style / meshdrain): median ${(b.median / Math.max(1, a.median)).toFixed(1)}x, max ${(b.max / Math.max(1, a.max)).toFixed(1)}x`);
} finally {
  for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  await sleep(100);
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
}
