/**
 * The two seed hooks as users wrote them, read through --manifest (labPodFromManifest) and run in the
 * proxy image's root (hook-root.ts) inside a pod-like network namespace with Istio's listeners and the
 * app's: the template netstat loop is held past the app's exit (until SIGKILL at the grace period);
 * the port-20000 loop under distroless fails at once (FailedPreStopHook), before the app is done.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_UID } from '../../src/istio/facts.js';
import { buildHookRoot, hookArgv, preStopOutcome, type HookRoot } from '../../src/lab/hook-root.js';
import { labPodFromManifest } from '../../src/lab/manifest.js';
import { istioListeners, Pod, rootStatus, sleep, type Listener } from '../hooks/netns.js';

const root = rootStatus();
const manifest = (name: string, o = {}) => labPodFromManifest(readFileSync(new URL(`../../fixtures/lab/manifests/${name}`, import.meta.url), 'utf8'), name, o);

describe.runIf(!root.ok && root.required)('seed hooks in the proxy image (required)', () => {
  it('has root', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('seed hooks from --manifest, run with only the proxy image’s tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshdrain-seed-'));
  chmodSync(dir, 0o755);
  let pod: Pod;
  const roots: Partial<Record<'default' | 'distroless', HookRoot>> = {};
  beforeAll(async () => {
    pod = Pod.create('seed');
    await istioListeners(pod);
    roots.default = await buildHookRoot(join(dir, 'default'), 'default');
    roots.distroless = await buildHookRoot(join(dir, 'distroless'), 'distroless');
  }, 60_000);
  afterAll(() => {
    pod?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Start the hook in the pod's namespace; resolves its exit (code, stderr lines, when). */
  function startHook(r: HookRoot, argv: string[]) {
    const child = spawn('ip', ['netns', 'exec', pod.ns, ...hookArgv(r, PROXY_UID, argv)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<{ code: number | null; at: number; stderr: string[] }>((res) => child.on('close', (code) => res({ code, at: Date.now(), stderr: stderr.split('\n') })));
    return { child, exited, kill: () => process.kill(-child.pid!, 'SIGKILL') };
  }

  it('template netstat loop (default variant): still holding 4 s after the app closed — held until SIGKILL', async () => {
    const m = manifest('seed-template-netstat.yaml');
    expect(m.proxyVariant.value).toBe('default');
    const argv = (m.spec.proxyPreStop as { exec: string[] }).exec;
    const app: Listener = await pod.listen('app', [{ port: 8080 }]);
    const hook = startHook(roots.default!, argv);
    await sleep(1000);
    const closedAt = await app.close(8080);
    await app.kill();
    const early = await Promise.race([hook.exited, sleep(4000).then(() => null)]);
    hook.kill();
    expect(early).toBeNull(); // pilot-agent's 15020/15021 keep `grep -v envoy` non-empty: it never ends
    const end = await hook.exited;
    expect(end.at - closedAt).toBeGreaterThanOrEqual(4000);
  }, 30_000);

  it('port-20000 loop: with the default image it releases after the app; under distroless it fails at once (FailedPreStopHook)', async () => {
    const dflt = manifest('seed-port-20000.yaml');
    const argv = (dflt.spec.proxyPreStop as { exec: string[] }).exec;
    const app = await pod.listen('app', [{ port: 20000 }]);
    const held = startHook(roots.default!, argv);
    await sleep(1500);
    const closedAt = await app.close(20000);
    const end = await held.exited;
    await app.kill();
    expect(preStopOutcome(end.code, null, end.stderr)).toEqual({ ok: true, detail: 'exit 0' });
    expect(end.at).toBeGreaterThanOrEqual(closedAt);

    const distroless = manifest('seed-port-20000.yaml', { proxyVariant: 'distroless' });
    expect(distroless.proxyVariant).toEqual({ value: 'distroless', source: '--proxy-variant' });
    const app2 = await pod.listen('app', [{ port: 20000 }]);
    const t0 = Date.now();
    const none = startHook(roots.distroless!, (distroless.spec.proxyPreStop as { exec: string[] }).exec);
    const out = await none.exited;
    const stillListening = !app2.closed.has(20000);
    await app2.kill();
    expect(out.at - t0).toBeLessThan(3000);
    expect(stillListening).toBe(true); // it ended while the app still worked: no protection at all
    expect(preStopOutcome(out.code, null, out.stderr)).toEqual({ ok: false, detail: 'FailedPreStopHook: /bin/sh is not in the proxy image' });
  }, 40_000);
});
