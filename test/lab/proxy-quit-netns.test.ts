/**
 * An istio-proxy preStop that calls /quitquitquit, run by the lab as written (ADR 090, 091), on real
 * namespaces: one pod, a 3 s app shutdown that calls out, 1 s propagation.
 * - exec `pilot-agent request POST quitquitquit` (Envoy's admin) and `sh -c "curl -XPOST
 *   localhost:15020/quitquitquit"` (pilot-agent): a POST from loopback, answered 200; the proxy exits at
 *   termination start and the app's outbound calls during its shutdown fail.
 * - httpGet :15020/quitquitquit: the kubelet's GET from the node, answered 403; nothing quits, the drain
 *   runs, and the row loses what the same pod without that preStop loses.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabNet, PROBE_SOURCE_IP } from '../../src/lab/netns.js';
import { manifestScenarios, type Scenario } from '../../src/lab/scenarios.js';
import type { ScenarioSummary } from '../../src/lab/report.js';
import { labRoot, requireLabRoot, runAndSummarize } from './fixture.js';

const root = labRoot(['ip', 'iptables-restore', 'setpriv', 'unshare', 'chroot', 'curl']);
requireLabRoot('lab --manifest: istio-proxy preStop /quitquitquit', root);

const FILE = 'proxy-quit.yaml';
const execQuit = readFileSync(new URL(`../../fixtures/lab/manifests/${FILE}`, import.meta.url), 'utf8');
const HOOK = /            exec:\n              command: \["pilot-agent", "request", "POST", "quitquitquit"\]\n/;
expect(execQuit).toMatch(HOOK);
const curlQuit = execQuit.replace(HOOK, '            exec:\n              command: ["sh", "-c", "curl -sS -XPOST localhost:15020/quitquitquit"]\n');
const httpGetQuit = execQuit.replace(HOOK, '            httpGet: {path: /quitquitquit, port: 15020}\n');
const noHook = execQuit.replace(/        lifecycle:\n          preStop:\n/, '').replace(HOOK, '');
const scenario = (text: string, name: string): Scenario => ({ ...manifestScenarios(text, FILE, {}).scenarios[0]!, name });

describe.skipIf(!root.ok)('istio-proxy preStop /quitquitquit in the lab', () => {
  let prefix = '';
  let sums: Record<string, ScenarioSummary> = {};
  beforeAll(async () => {
    ({ sums, prefix } = await runAndSummarize({
      scenarios: [],
      scenarioList: [scenario(execQuit, 'exec-request'), scenario(curlQuit, 'exec-curl'), scenario(httpGetQuit, 'http-get'), scenario(noHook, 'no-prestop')],
      minRequests: 0,
      durationMs: 0,
      warmupMs: 1000,
      propagationDelayMs: 1000,
      appShutdownMs: 3000,
    }));
  }, 300_000);

  it.each([
    ['exec-request', 'envoy-admin'],
    ['exec-curl', 'pilot-agent'],
  ] as const)('%s: a POST from loopback quits the proxy at termination start; the app’s shutdown calls fail', (name, endpoint) => {
    const s = sums[name]!;
    expect(s.hooks?.find((h) => h.container === 'istio-proxy')?.why).toMatch(/calls \/quitquitquit from inside the pod \(loopback\): the proxy exits at termination start, with no drain/);
    const [p] = s.pods;
    expect(p!.quitRequests).toEqual([{ endpoint, method: 'POST', from: '127.0.0.1', status: 200 }]);
    expect(p!.preStops).toContainEqual({ container: 'istio-proxy', ok: true, detail: 'exit 0' });
    // Gone as soon as the hook has run (the lab's `pilot-agent request` is a node process: up to a second
    // or so to start on a busy machine), well before the app's 3 s shutdown ends; no drain ran.
    expect(p!.proxyExitAt).toBeLessThan(2.5);
    expect(p!.drainStartedAt).toBeNull();
    expect(p!.proxyOutlivedAppSeconds).toBeLessThan(0);
    expect(s.failedEgress).toBeGreaterThan(0);
  });

  it('http-get: the kubelet’s GET from the node gets 403; the drain runs; nothing lost beyond the pod without it', () => {
    const s = sums['http-get']!;
    expect(s.hooks?.find((h) => h.container === 'istio-proxy')?.why).toMatch(/from the node .*pilot-agent answers 403 .*nothing quits, the drain runs/);
    const [p] = s.pods;
    expect(p!.quitRequests).toEqual([{ endpoint: 'pilot-agent', method: 'GET', from: PROBE_SOURCE_IP, status: 403 }]);
    // A response completes an httpGet hook, whatever its status (runHTTPHandler returns only the transport's error).
    expect(p!.preStops).toContainEqual({ container: 'istio-proxy', ok: true, detail: 'HTTP 403 Only requests from localhost are allowed' });
    expect(p!.drainStartedAt).not.toBeNull();
    expect(p!.proxyOutlivedAppSeconds).toBeGreaterThan(0);
    const base = sums['no-prestop']!;
    expect(base.pods[0]!.quitRequests).toEqual([]);
    expect(s.failedEgress).toBe(base.failedEgress);
    expect(s.failedRequests).toBeLessThanOrEqual(base.failedRequests);
    expect(s.podsKilled).toBe(0);
  });

  it('leaves no namespace behind', async () => {
    expect(await LabNet.leftovers(prefix)).toEqual([]);
  });
});
