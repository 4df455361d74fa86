/**
 * The hook rules' claims, checked by running the seed hooks in real shells (dash, bash, busybox sh) with
 * a fake `netstat` that lists pilot-agent's and envoy's listeners and, while a marker file exists, the
 * app's. No network is touched. What the analysis says must match what the shell does:
 *  - envoy-only filter (seed 001): still looping long after the app is gone;
 *  - pilot-agent filtered (seed 000) / port-specific (seed 004): end soon after the app is gone;
 *  - netstat missing: every loop returns at once although the app still listens (silently).
 * Turns are shortened to 0.1 s; the bound (3 s) is generous against a 0.3 s app exit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeHook } from '../../src/analysis/analyze.js';
import { needTools } from '../helpers/tools.js';

const SHELLS = [
  { name: 'dash', argv: ['dash'] },
  { name: 'bash', argv: ['bash'] },
  { name: 'busybox sh', argv: ['busybox', 'sh'] },
];
const SEEDS = {
  'seed-001 (grep -v envoy)': 'while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do sleep 0.1; done',
  'seed-000 (grep -v envoy, grep -v pilot-agent)': 'while [ "$(netstat -plunt | grep tcp | grep -v envoy | grep -v pilot-agent | wc -l | xargs)" != "0" ]; do sleep 0.1; done',
  'seed-004 (grep :8080)': 'while [ 1==1 ]; do netstat -tulpn | grep LISTEN | grep :8080; if [ $? -gt 0 ]; then break; fi; sleep 0.1; done',
};
const dir = mkdtempSync(join(tmpdir(), 'meshdrain-lint-sh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAKE_NETSTAT = (app: string) => `netstat() {
  echo 'tcp        0      0 0.0.0.0:15020           0.0.0.0:*               LISTEN      1/pilot-agent'
  echo 'tcp        0      0 127.0.0.1:15000         0.0.0.0:*               LISTEN      12/envoy'
  echo 'tcp        0      0 0.0.0.0:15001           0.0.0.0:*               LISTEN      12/envoy'
  if [ -e '${app}' ]; then echo 'tcp        0      0 0.0.0.0:8080            0.0.0.0:*               LISTEN      7/app'; fi
}
`;
const MISSING_NETSTAT = 'netstat() { return 127; }\n';

/** Run a hook; resolve with whether it ended on its own within `limitMs`, and when. */
function runHook(shell: string[], script: string, appFile: string, appExitMs: number, limitMs: number): Promise<{ ended: boolean; ms: number }> {
  writeFileSync(appFile, '');
  const t0 = Date.now();
  const child = spawn(shell[0]!, [...shell.slice(1), '-c', script], { stdio: 'ignore' });
  const appTimer = setTimeout(() => rmSync(appFile, { force: true }), appExitMs);
  return new Promise((resolve) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(limit);
      clearTimeout(appTimer);
      rmSync(appFile, { force: true });
      resolve({ ended: signal === null, ms: Date.now() - t0 });
    });
  });
}

describe('seed hooks in real shells agree with the analysis', () => {
  needTools('dash', 'bash', 'busybox');
  for (const sh of SHELLS) {
    describe(sh.name, () => {
      for (const [label, seed] of Object.entries(SEEDS)) {
        it(`${label}: ${analyzeHook(['/bin/sh', '-c', seed]).loops[0]!.envoyOnlyFilter ? 'loops on after the app exits' : 'ends after the app exits'}`, async () => {
          const envoyOnly = analyzeHook(['/bin/sh', '-c', seed]).loops[0]!.envoyOnlyFilter !== null;
          const app = join(dir, `app-${sh.name.replace(' ', '-')}-${label.slice(0, 8)}`);
          const r = await runHook(sh.argv, FAKE_NETSTAT(app) + seed, app, 300, 3000);
          expect(r.ended).toBe(!envoyOnly);
          if (r.ended) expect(r.ms).toBeGreaterThanOrEqual(250); // it did wait for the app
        });
        it(`${label}, netstat missing: returns at once while the app still listens (hook-fragile-tools)`, async () => {
          expect(analyzeHook(['/bin/sh', '-c', seed]).fragile.map((f) => f.tool)).toContain('netstat');
          const app = join(dir, `gone-${sh.name.replace(' ', '-')}-${label.slice(0, 8)}`);
          const r = await runHook(sh.argv, MISSING_NETSTAT + seed, app, 2500, 3000);
          expect(r.ended).toBe(true);
          expect(r.ms).toBeLessThan(2500); // before the app "closed": no protection at all
        });
      }
    });
  }
});
