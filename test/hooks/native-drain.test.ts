import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appWaitExecCommand } from '../../src/hooks/app-wait.js';
import { nativeDrainExecCommand } from '../../src/hooks/hold.js';
import { nativeDrainCommand } from '../../src/hooks/native-drain.js';
import { templateNativeDrain } from '../../src/plan/facts.js';
import { loadPolicy } from '../../src/policy/load.js';
import { NATIVE_DRAIN_PRESTOP } from '../../src/istio/facts.js';
import { shellcheck } from '../istio/helpers.js';
import { needTools } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'md-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the native-mode drain preStop', () => {
  needTools('shellcheck', 'dash', 'bash', 'busybox');
  it("with no delay it is Istio's own command: no shell needed, distroless or not", () => {
    expect(nativeDrainExecCommand(0, NATIVE_DRAIN_PRESTOP)).toEqual(['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']);
    expect(nativeDrainExecCommand(0, NATIVE_DRAIN_PRESTOP, { kind: 'init-container', image: 'busybox:1.37.0-musl', mountPath: '/meshdrain/bin' })[0]).toBe('pilot-agent');
  });

  it('is exec only, passes shellcheck, and never calls curl', () => {
    const cmd = nativeDrainExecCommand(4, NATIVE_DRAIN_PRESTOP);
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd[2]).not.toMatch(/curl|wget|httpGet/);
    expect(shellcheck(cmd[2]!, ['-S', 'style']).out).toBe('');
  });

  for (const shell of ['dash', 'bash', 'busybox']) {
    it(`runs under ${shell}: sleeps, then execs pilot-agent request … POST drain (fake pilot-agent records its argv)`, () => {
      const log = join(dir, `${shell}.log`);
      const fake = join(dir, 'pilot-agent');
      writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n`);
      chmodSync(fake, 0o755);
      const script = nativeDrainExecCommand(1, NATIVE_DRAIN_PRESTOP)[2]!;
      const argv = shell === 'busybox' ? ['sh', '-c', script] : ['-c', script];
      const r = spawnSync(shell, argv, { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['request', '--debug-port=15020', 'POST', 'drain']);
    });
  }

  it('with a shell from the init container it runs that sh with its applets first on PATH', () => {
    const cmd = nativeDrainExecCommand(3, NATIVE_DRAIN_PRESTOP, { kind: 'init-container', image: 'busybox:1.37.0-musl', mountPath: '/meshdrain/bin' });
    expect(cmd[0]).toBe('/meshdrain/bin/sh');
    expect(cmd[2]).toMatch(/^PATH=\/meshdrain\/bin:\$PATH; export PATH\n/);
  });

  it('refuses a delay that is not whole seconds', () => {
    expect(() => nativeDrainExecCommand(1.5, NATIVE_DRAIN_PRESTOP)).toThrow(/whole seconds/);
  });

  it("after an observed app wait (app.shell) it waits for the same event, then drains — not a sleep of the wait's 30 s bound", () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {shell: true}\n', 'p.yaml');
    const drain = templateNativeDrain(policy)!;
    expect(drain.wait).toBeDefined();
    const script = nativeDrainCommand(drain)[2]!;
    // The app container's own wait, re-rendered, then the drain: one decision, two containers.
    const appWait = appWaitExecCommand(drain.wait!)[2]!;
    expect(script.startsWith(appWait)).toBe(true);
    expect(script.slice(appWait.length)).toBe('exec pilot-agent request --debug-port=15020 POST drain\n');
    expect(script).not.toMatch(/\nsleep \d/);
    expect(shellcheck(script, ['-S', 'style']).out).toBe('');
    expect(templateNativeDrain(null)!.wait).toBeUndefined();
  });

  it('runs under dash: the wait ends (quiet window or bound), then pilot-agent request … POST drain', () => {
    const log = join(dir, 'wait.log');
    const fake = join(dir, 'pilot-agent');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n`);
    chmodSync(fake, 0o755);
    const script = nativeDrainCommand({ delaySeconds: 1, wait: { intervalMs: 100, quietMs: 200, maxMs: 3000 } })[2]!;
    const r = spawnSync('dash', ['-c', script], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/meshdrain-app-delay.*end: /);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['request', '--debug-port=15020', 'POST', 'drain']);
  });
});
