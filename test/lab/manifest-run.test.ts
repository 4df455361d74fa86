/**
 * --manifest from the CLI's flags to the rows the lab runs and the one-line answer (no root needed):
 * the rows as written and after inject, the refusals (exit 2 naming the hook and the flag), the one
 * derivation of the mode, and the answer's phases and causes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labOptionsFrom } from '../../src/cli/commands/lab.js';
import { InputError } from '../../src/errors.js';
import { LabPod, removalSchedule } from '../../src/lab/kubelet.js';
import { podIp } from '../../src/lab/netns.js';
import { labDataPlaneMode } from '../../src/lab/pod-spec.js';
import { answerLine, summarize, toHtml, toJson, toText } from '../../src/lab/report.js';
import { DEFAULT_LAB_OPTIONS, type ScenarioRun } from '../../src/lab/run.js';
import { fakeTerminatedRun } from '../helpers/lab-run.js';
import { buildScenario, manifestScenarios, type Scenario } from '../../src/lab/scenarios.js';

const dir = new URL('../../fixtures/lab/manifests/', import.meta.url);
const REAL = '/work/shared/fixtures/real/apps/istio-httpbin.yaml';
const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const flags = { replicas: '3', duration: '10s', propagationDelay: '6s', load: 'builtin' as const, concurrency: '25', minRequests: '20000', grace: '20s', appShutdown: '8s', sleepHold: '10s' };
const cwd = new URL('../../', import.meta.url).pathname;

function inputError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('--manifest: the rows the lab runs', () => {
  it('as written and after inject: the workload, its rollout, its ports, the judged row and what inject changes', () => {
    const m = manifestScenarios(read('seed-port-20000.yaml'), 'seed-port-20000.yaml', { compareInject: true });
    // inject keeps the seed's own istio-proxy hook, so a third row shows inject's hold instead of it.
    expect(m.scenarios.map((s) => s.name)).toEqual(['manifest', 'manifest-injected', 'manifest-inject-hold']);
    expect(m.judged).toBe('manifest-injected');
    expect(m.workload).toBe('Deployment/orders');
    const [written, injected, hold] = m.scenarios as [Scenario, Scenario, Scenario];
    expect(injected.spec.proxyPreStop).toEqual(written.spec.proxyPreStop);
    const holdScript = (hold.spec.proxyPreStop as { exec: string[] }).exec.join(' ');
    expect(holdScript).toContain("# meshdrain hold for istio-proxy's preStop");
    expect(holdScript).not.toContain('netstat');
    expect(hold.spec.appPreStop).toEqual(injected.spec.appPreStop);
    // A pod without a hook of the user's: inject's row already runs inject's hold, no third row.
    expect(manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true }).scenarios.map((s) => s.name)).toEqual(['manifest', 'manifest-injected']);
    // A policy that already replaces the user's hook: the injected row is that, no third row.
    const replacing = { format: 'default', defaults: { proxy: { replaceUserPreStop: true } }, rules: [] } as never;
    const r = manifestScenarios(read('seed-port-20000.yaml'), 'seed-port-20000.yaml', { compareInject: true, policy: replacing });
    expect(r.scenarios.map((s) => s.name)).toEqual(['manifest', 'manifest-injected']);
    expect(r.scenarios[1]!.spec.proxyPreStop).toEqual(hold.spec.proxyPreStop);
    expect(written.rollout).toMatchObject({ replicas: 2, maxSurge: 1, maxUnavailable: 0 });
    // The app listens where the manifest says: 20000 only, so the seed's `grep :20000` sees it.
    expect(written.spec).toMatchObject({ appPort: 20000, metricsPort: null, graceMs: 30_000, proxyVariant: 'default' });
    expect(written.spec.appPreStop).toBeUndefined();
    // inject's output is read back the same way: its app delay and raised grace period.
    expect(injected.spec.appPreStop).toEqual({ sleepMs: 5000 });
    expect(injected.spec.graceMs).toBeGreaterThan(written.spec.graceMs);
    expect(m.injectChanges.map((c) => c.what)).toContain('set orders lifecycle');
    for (const c of m.injectChanges) expect(c.at).toMatch(/^seed-port-20000\.yaml:\d+:\d+$/);
    // Without --compare-inject the row as written is the one judged.
    expect(manifestScenarios(read('seed-port-20000.yaml'), 'x.yaml', {}).judged).toBe('manifest');
  });

  it.runIf(existsSync(REAL))('a real manifest (istio samples/httpbin): the Deployment among Service and ServiceAccount, its port', () => {
    const m = manifestScenarios(readFileSync(REAL, 'utf8'), 'istio-httpbin.yaml', { compareInject: true });
    expect(m.workload).toBe('Deployment/httpbin');
    expect(m.scenarios[0]!.spec.appPort).toBe(8080);
    expect(m.scenarios[0]!.rollout?.replicas).toBe(1);
  });

  it('flags: --app-prestop-time refusal names the hook and the flag; manifest-only flags need --manifest; --scenario excludes it', () => {
    const f = { ...flags, manifest: 'fixtures/lab/manifests/app-program-hook.yaml' };
    expect(inputError(() => labOptionsFrom(f, cwd))).toMatch(/db: preStop exec .*graceful_termination\.sh.*--app-prestop-time/);
    const o = labOptionsFrom({ ...f, appPrestopTime: '10s', compareInject: true }, cwd);
    expect(o.scenarioList?.map((s) => s.name)).toEqual(['manifest', 'manifest-injected', 'manifest-inject-hold']);
    expect(o.scenarioList?.[0]?.spec.appPreStop).toEqual({ sleepMs: 10_000 });
    expect(o.manifest?.judged).toBe('manifest-injected');
    expect(inputError(() => labOptionsFrom({ ...flags, compareInject: true }, cwd))).toMatch(/^--compare-inject needs --manifest/);
    expect(inputError(() => labOptionsFrom({ ...flags, proxyVariant: 'distroless' }, cwd))).toMatch(/^--proxy-variant needs --manifest/);
    expect(inputError(() => labOptionsFrom({ ...f, appPrestopTime: '1s', scenario: ['no-hold'] }, cwd))).toMatch(/--scenario and --manifest/);
    // The words inject and lint use for a missing file, not Node's ENOENT text.
    expect(inputError(() => labOptionsFrom({ ...flags, manifest: 'nope.yaml' }, cwd))).toBe('no such file or directory');
    expect(inputError(() => labOptionsFrom({ ...flags, policy: 'nope.yaml' }, cwd))).toBe('no such file or directory');
    expect(labOptionsFrom({ ...flags, appMetricsPort: 'none' }, cwd).appMetricsPort).toBeNull();
    expect(labOptionsFrom({ ...flags, appMetricsPort: '9102' }, cwd).appMetricsPort).toBe(9102);
    expect(inputError(() => labOptionsFrom({ ...flags, appMetricsPort: 'x' }, cwd))).toMatch(/--app-metrics-port/);
  });

  it('--istio-version, --kube-version, --mesh-config: parsed as inject parses them, passed to both rows; they need --manifest', () => {
    const f = { ...flags, manifest: 'fixtures/lab/manifests/plain.yaml', compareInject: true };
    expect(labOptionsFrom(f, cwd).scenarioList?.map((s) => s.spec.mode)).toEqual(['classic', 'classic']);
    const o = labOptionsFrom({ ...f, kubeVersion: '1.33', istioVersion: '1.27' }, cwd);
    expect(o.scenarioList?.map((s) => s.spec.mode)).toEqual(['native', 'native']);
    expect(inputError(() => labOptionsFrom({ ...f, kubeVersion: 'soon' }, cwd))).toMatch(/^--kube-version: expected a version like/);
    expect(inputError(() => labOptionsFrom({ ...f, istioVersion: 'x' }, cwd))).toMatch(/^--istio-version/);
    expect(inputError(() => labOptionsFrom({ ...f, meshConfig: ['nope.yaml'] }, cwd))).toMatch(/no such file/);
    expect(inputError(() => labOptionsFrom({ ...f, meshConfig: ['-'] }, cwd))).toMatch(/^--mesh-config -: stdin is not read here/);
    expect(inputError(() => labOptionsFrom({ ...flags, kubeVersion: '1.33' }, cwd))).toMatch(/^--kube-version needs --manifest/);
    expect(inputError(() => labOptionsFrom({ ...flags, meshConfig: ['m.yaml'] }, cwd))).toMatch(/^--mesh-config needs --manifest/);
  });

  it("the mode is the shared derivation's (podShutdownFacts → classifyMode) with the input's Namespaces as evidence", () => {
    const d = (mode: string) => ({ mode: { mode, reason: 'x', by: 'pod', injection: 'yes' } }) as never;
    expect(labDataPlaneMode(d('native'))).toBe('native');
    expect(labDataPlaneMode(d('classic'))).toBe('classic');
    expect(labDataPlaneMode(d('ambient'))).toBe('ambient');
    expect(labDataPlaneMode(d('none'))).toBeUndefined();
    expect(labDataPlaneMode(d('gateway'))).toBeUndefined();
    expect(labDataPlaneMode(d('unknown'))).toBe('classic');
    expect(labDataPlaneMode({ mode: { mode: 'unknown', reason: 'x', by: 'pod', injection: 'maybe' } } as never)).toBeUndefined();
    // The built-in scenarios are read by the same reader: their modes follow their Namespaces and annotations.
    const p = { graceSeconds: 20, sleepHoldSeconds: 10 };
    expect(buildScenario('native', p).spec.mode).toBe('native');
    expect(buildScenario('ambient', p).spec.mode).toBe('ambient');
    expect(buildScenario('no-hold', p).spec.mode).toBe('classic');
    // A Namespace in the input that injects nothing and is not ambient: not meshed, with the reason.
    const plain = read('plain.yaml').replace('metadata:\n  name: web\n', 'metadata:\n  name: web\n  namespace: quiet\n');
    const m = inputError(() => manifestScenarios('apiVersion: v1\nkind: Namespace\nmetadata: {name: quiet}\n---\n' + plain, 'q.yaml', {}));
    // One line that says it once: what the pod is, that the lab cannot roll it, then why.
    expect(m).toMatch(/^Deployment\/web: the pod is not meshed, and the lab runs only sidecar and ambient pods: Namespace quiet .*$/);
    expect(m.match(/not meshed/g)).toHaveLength(1);
    expect(m).not.toContain('\n');
  });
});

describe.runIf(existsSync(BIN))('--manifest on the CLI: bad input is one line and exit 2 before anything runs', () => {
  it('an app program hook without --app-prestop-time', () => {
    const r = spawnSync(process.execPath, [BIN, 'lab', '--manifest', 'fixtures/lab/manifests/app-program-hook.yaml'], { cwd, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/fixtures\/lab\/manifests\/app-program-hook\.yaml:\d+:\d+: db: preStop .*--app-prestop-time/);
  });
  it('a bad --kube-version, --istio-version or --mesh-config', () => {
    const lab = (...a: string[]) => spawnSync(process.execPath, [BIN, 'lab', '--manifest', 'fixtures/lab/manifests/plain.yaml', ...a], { cwd, encoding: 'utf8' });
    for (const [args, re] of [
      [['--kube-version', 'soon'], /--kube-version: expected a version like 1\.\d+, got "soon"/],
      [['--istio-version', '1'], /--istio-version/],
      [['--mesh-config', 'fixtures/lab/manifests/plain.yaml'], /plain\.yaml.*mesh/i],
    ] as const) {
      const r = lab(...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    expect(spawnSync(process.execPath, [BIN, 'lab', '--help'], { encoding: 'utf8' }).stdout).toMatch(/--istio-version <X\.Y>[\s\S]*--kube-version <X\.Y>|--kube-version <X\.Y>[\s\S]*--istio-version <X\.Y>/);
  });
  it('--replicas with --manifest wins over spec.replicas, and says so (QA 9 finding 10); the default 3 is not "given"', () => {
    const f = { ...flags, manifest: 'fixtures/lab/manifests/plain.yaml' };
    const spec = labOptionsFrom(f, cwd);
    expect(spec.scenarioList![0]!.rollout?.replicas).toBe(3); // plain.yaml's spec.replicas
    const typed = labOptionsFrom({ ...f, replicas: '2', replicasTyped: true }, cwd);
    expect(typed.scenarioList!.map((s) => s.rollout?.replicas)).toEqual([2]);
    expect(typed.scenarioList![0]!.rollout?.notes.join('\n')).toMatch(/^--replicas 2: the lab rolls 2 pod\(s\) in place of the manifest's spec\.replicas \(3\)/);
    // Still capped as spec.replicas is.
    expect(labOptionsFrom({ ...f, replicas: '9', replicasTyped: true }, cwd).scenarioList![0]!.rollout?.replicas).toBe(5);
    // Not typed (the default): spec.replicas rolls.
    expect(labOptionsFrom({ ...f, replicas: '2' }, cwd).scenarioList![0]!.rollout?.replicas).toBe(3);
  });
  it('--sweep-calls-out needs --sweep and runs the app both ways (no --app-calls-out / --no-app-calls-out beside it)', () => {
    for (const [args, re] of [
      [['--sweep-calls-out'], /^meshdrain: --sweep-calls-out needs --sweep$/],
      [['--sweep', '--sweep-calls-out', '--no-app-calls-out'], /^meshdrain: --sweep-calls-out runs the app both ways; drop --no-app-calls-out$/],
      [['--quick', '--sweep-calls-out'], /needs --sweep/],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'lab', ...args], { cwd, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(re);
    }
    expect(spawnSync(process.execPath, [BIN, 'lab', '--help'], { encoding: 'utf8' }).stdout).toContain('--sweep-calls-out');
  });
  it('a kind the lab cannot roll', () => {
    const r = spawnSync(process.execPath, [BIN, 'lab', '--manifest', 'fixtures/lab/manifests/job.yaml'], { cwd, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/job\.yaml:\d+:\d+: .*no rolling update/);
  });
});

/** A measured-looking run of the user's workload, to exercise the answer (it must be able to say NOT). */
function fakeManifestRun(o: { failedEgress?: number; failed?: number; killed?: boolean; hookFailed?: boolean } = {}): ScenarioRun {
  const sc = manifestScenarios(read('seed-port-20000.yaml'), 'seed.yaml', {}).scenarios[0]!;
  return fakeTerminatedRun(sc, {
    timeline: { appSigterm: 2100, appExit: 10_100, proxySigterm: o.hookFailed ? 2050 : 10_200, proxyExit: o.hookFailed ? 7050 : 15_200, ...(o.killed ? { killed: 32_000 } : {}) },
    preStop: o.hookFailed ? { container: 'istio-proxy', ok: false, detail: 'FailedPreStopHook: /bin/sh is not in the proxy image' } : { container: 'istio-proxy', ok: true, detail: 'exit 0' },
    failedEgress: o.failedEgress ?? 0,
    failedEgressAt: 'last',
    failed: o.failed ?? 0,
    requests: 9000,
    created: 2,
  });
}

describe('the one-line answer and the rows', () => {
  const o = { ...DEFAULT_LAB_OPTIONS, scenarios: [], replicas: 3 };
  it('safe only when nothing failed and nothing was SIGKILLed; otherwise each failure with its phase and cause', () => {
    const ok = summarize(fakeManifestRun(), o);
    expect(ok.reproduced).toBe(true);
    expect(answerLine(ok)).toMatch(/^Deployment\/orders: safe in this run: 0 of 9000 requests and 0 of 80 outbound calls failed, no pod SIGKILLed/);
    const bad = summarize(fakeManifestRun({ hookFailed: true, failedEgress: 30, failed: 12 }), o);
    expect(bad.reproduced).toBe(false);
    const line = answerLine(bad);
    expect(line).toMatch(/^Deployment\/orders: NOT safe: 12 of 9000 requests failed \(12 refused; 12 after istio-proxy exited\)/);
    expect(line).toMatch(/30 of 80 outbound calls failed \(30 after istio-proxy exited; istio-proxy exited before the app in 1 of 1 pods\)/);
    expect(line).toContain('istio-proxy preStop FailedPreStopHook: /bin/sh is not in the proxy image');
    const killed = summarize(fakeManifestRun({ killed: true }), o);
    expect(answerLine(killed)).toMatch(/NOT safe: 1 of 1 pods SIGKILLed at terminationGracePeriodSeconds 30s/);
  });

  it("says when the app's traffic wait ran to its upper bound (long-lived connections), safe or not; not when it ended quiet", () => {
    const run = fakeManifestRun();
    const pod = run.terminated[0]!;
    // The app preStop's lines as the kubelet records them (the wait logs to stderr when PID 1's stdout is not writable).
    pod.mark('log', 'app', 'preStop: meshdrain-app-delay uptime=81234s +0.0s: start: SIGTERM waits until no inbound connection for 2s (at most 30s); log to stderr');
    expect(summarize(run, o).pods[0]!.appWaitHitBound).toBe(false);
    expect(answerLine(summarize(run, o))).not.toMatch(/upper bound/);
    pod.mark('log', 'app', 'preStop: meshdrain-app-delay uptime=81264s +30.0s: end: upper bound 30s reached with inbound traffic still arriving (port 15006 open)');
    const s = summarize(run, o);
    expect(s.pods[0]!.appWaitHitBound).toBe(true);
    expect(answerLine(s)).toMatch(/^Deployment\/orders: safe in this run: .*; the app's wait for inbound traffic to leave ran to its upper bound in 1 of 1 pods \(long-lived connections/);
    // The text report's verdict line says it too (built-in scenarios have no answer line).
    expect(toText([s], o)).toMatch(/: [^\n]*; the app's wait for inbound traffic to leave ran to its upper bound in 1 of 1 pods/);
    // The same words from istio-proxy's log are not the app's wait.
    const other = fakeManifestRun();
    other.terminated[0]!.mark('log', 'istio-proxy', 'preStop: meshdrain-app-delay +30.0s: end: upper bound 30s reached');
    expect(summarize(other, o).pods[0]!.appWaitHitBound).toBe(false);
  });

  it('rows carry protocol, propagation delay, the app behaviour and the termination split; kept fields stay', () => {
    const s = summarize(fakeManifestRun(), o);
    expect(s).toMatchObject({ protocol: 'http1', propagationDelaySeconds: 6, app: { shutdownSeconds: 8, closesPort: false, port: 20000, metricsPort: null }, proxyVariant: 'default', workload: 'Deployment/orders' });
    expect(s.pods[0]!.split).toEqual({ appDelaySeconds: 0.1, appWorkSeconds: 8, proxyTailSeconds: 5.1, totalSeconds: 13.2 });
    const json = JSON.parse(JSON.stringify(toJson([s], { ...o, manifest: { judged: 'manifest', workload: 'Deployment/orders', injectChanges: [{ at: 'seed.yaml:14:38', what: 'raise terminationGracePeriodSeconds to 32' }], injectNotes: [] } }))) as {
      scenarios: Record<string, unknown>[];
      manifest: { answer: { line: string }[]; injectChanges: unknown[] };
    };
    for (const k of ['name', 'requests', 'failedRequests', 'failedEgress', 'egressCalls', 'terminationSeconds', 'podsKilled', 'podsTerminated', 'protocol', 'propagationDelaySeconds', 'app']) expect(json.scenarios[0]).toHaveProperty(k);
    expect(json.manifest.answer[0]!.line).toMatch(/safe in this run/);
    const text = toText([s], { ...o, manifest: { judged: 'manifest', workload: 'Deployment/orders', injectChanges: [{ at: 'seed.yaml:14:38', what: 'raise terminationGracePeriodSeconds to 32' }], injectNotes: [] } });
    expect(text).toMatch(/Deployment\/orders: 2 replicas, rolling restart \(maxSurge 1, maxUnavailable 0\)/);
    expect(text).toContain('manifest lab-app-v1-1: 0.10, 8.00, 5.10, 13.20');
    expect(text).toContain('meshdrain inject would change Deployment/orders:\n  seed.yaml:14:38: raise terminationGracePeriodSeconds to 32');
  });
});

describe('a --manifest run\'s HTML, JSON and text say what ran (QA 9 findings 6 and 13)', () => {
  // --replicas 3 and --grace 20s are the built-in lab's settings; the workload rolls 2 pods with grace 30s.
  const o = { ...DEFAULT_LAB_OPTIONS, scenarios: [], replicas: 3, graceSeconds: 20 };
  const manifest = { judged: 'manifest', workload: 'Deployment/orders', injectChanges: [{ at: 'seed.yaml:14:38', what: 'raise terminationGracePeriodSeconds to 32' }], injectNotes: ['inject keeps <your> hook'] };
  const mo = { ...o, manifest };

  it('the HTML header is the run\'s, with the notes and the inject-would-change list', () => {
    const run = fakeManifestRun();
    const s = summarize(run, mo);
    s.notes = ['container world: the lab runs one app'];
    const html = toHtml([s], [run], mo);
    const head = html.slice(html.indexOf('<h1>'), html.indexOf('<table>'));
    expect(head).toContain('Deployment/orders: 2 replicas, rolling restart (maxSurge 1, maxUnavailable 0)');
    expect(head).toContain('grace as the manifest says (manifest 30s)');
    expect(head).toContain('data-plane mode: classic sidecar');
    expect(head).not.toMatch(/3 replicas|20s/);
    expect(html).toContain('<h3>meshdrain inject would change Deployment/orders:</h3><ul><li>seed.yaml:14:38: raise terminationGracePeriodSeconds to 32</li><li>note: inject keeps &lt;your&gt; hook</li></ul>');
    expect(html).toContain('<li>note: container world: the lab runs one app</li>');
    // The text says the same, from the same derivation.
    const text = toText([s], mo);
    expect(text.split('\n').slice(0, 3).join('\n')).toContain('data-plane mode: classic sidecar');
    expect(text).toContain('meshdrain inject would change Deployment/orders:\n  seed.yaml:14:38: raise terminationGracePeriodSeconds to 32\n  note: inject keeps <your> hook');
    // The built-in lab's HTML keeps its own header and has no manifest sections.
    const builtin = toHtml([s], [run], o);
    expect(builtin.slice(builtin.indexOf('<h1>'), builtin.indexOf('<table>'))).toContain('3 replicas, rolling restart (maxSurge 1, maxUnavailable 0)');
    expect(builtin).not.toContain('would change');
  });

  it('the JSON lab block adds what ran and keeps its fields', () => {
    const s = summarize(fakeManifestRun(), mo);
    const lab = (JSON.parse(JSON.stringify(toJson([s], mo))) as { lab: Record<string, unknown> }).lab;
    expect(lab).toMatchObject({ replicas: 3, graceSeconds: 20, rollout: { replicas: 2, maxSurge: 1, maxUnavailable: 0 }, gracePeriodsSeconds: [30], dataPlaneModes: ['classic'], workload: 'Deployment/orders' });
    const builtin = (JSON.parse(JSON.stringify(toJson([s], o))) as { lab: Record<string, unknown> }).lab;
    expect(builtin).not.toHaveProperty('workload');
  });

  it('an ambient workload says so once in the text header', () => {
    const plain = read('plain.yaml').replace('metadata:\n  name: web\n', 'metadata:\n  name: web\n  namespace: mesh\n');
    const sc = manifestScenarios('apiVersion: v1\nkind: Namespace\nmetadata: {name: mesh, labels: {istio.io/dataplane-mode: ambient}}\n---\n' + plain, 'a.yaml', {}).scenarios[0]!;
    expect(sc.spec.mode).toBe('ambient');
    const run = fakeTerminatedRun(sc, { timeline: { appSigterm: 2100, appExit: 10_100, proxySigterm: 10_200, proxyExit: 15_200 }, preStop: { container: 'istio-proxy', ok: true, detail: 'exit 0' }, failedEgress: 0, failedEgressAt: 'last', failed: 0, requests: 9000, created: 3 });
    const text = toText([summarize(run, o)], { ...o, manifest: { ...manifest, workload: 'Deployment/web' } });
    expect(text.match(/ambient/g)).toHaveLength(1);
    expect(text).toMatch(/^data-plane mode: ambient \(ztunnel, no sidecar\)$/m);
  });
});

describe('repeatable --propagation-delay', () => {
  it('every value parsed once, in order; one table with a column for it', () => {
    const o = labOptionsFrom({ ...flags, propagationDelay: ['1s', '3s', '3s', '12s'] }, cwd);
    expect(o.propagationDelaysMs).toEqual([1000, 3000, 12_000]);
    expect(o.propagationDelayMs).toBe(1000);
    expect(labOptionsFrom({ ...flags, propagationDelay: [] }, cwd).propagationDelaysMs).toBeUndefined();
    expect(labOptionsFrom({ ...flags, propagationDelay: [] }, cwd).propagationDelayMs).toBe(DEFAULT_LAB_OPTIONS.propagationDelayMs);
    expect(inputError(() => labOptionsFrom({ ...flags, propagationDelay: ['1s', 'soon'] }, cwd))).toMatch(/--propagation-delay/);
    const lo = { ...DEFAULT_LAB_OPTIONS, scenarios: [], replicas: 3, propagationDelaysMs: [6000, 12_000] };
    const a = summarize(fakeManifestRun(), lo);
    const b = summarize({ ...fakeManifestRun({ failed: 4 }), propagationDelayMs: 12_000 }, lo);
    const text = toText([a, b], lo);
    expect(text).toMatch(/^scenario +prop s +requests/m);
    expect(text).toMatch(/^manifest +6 +9000 +0 /m);
    expect(text).toMatch(/^manifest +12 +9000 +4 /m);
    expect(text).toContain('endpoint propagation 6s, 12s');
    // One delay: the table keeps its columns.
    expect(toText([a], { ...lo, propagationDelaysMs: undefined })).toMatch(/^scenario +requests/m);
  });
});

describe('--protocol', () => {
  it('repeatable, each once; grpc and websocket run with the built-in load only, grpc not through kube-proxy clients; unknown names refused', () => {
    expect(labOptionsFrom({ ...flags, protocol: ['http2', 'http1', 'http2'] }, cwd).protocols).toEqual(['http2', 'http1']);
    expect(labOptionsFrom({ ...flags }, cwd).protocols).toBeUndefined();
    expect(labOptionsFrom({ ...flags, protocol: ['grpc', 'websocket'] }, cwd).protocols).toEqual(['grpc', 'websocket']);
    expect(inputError(() => labOptionsFrom({ ...flags, protocol: ['websocket'], load: 'siege' }, cwd))).toMatch(/^--load siege with --protocol websocket: siege speaks HTTP\/1\.1 only/);
    expect(inputError(() => labOptionsFrom({ ...flags, protocol: ['grpc'], kubeProxyClients: '1' }, cwd))).toMatch(/^--kube-proxy-clients with --protocol grpc:/);
    expect(labOptionsFrom({ ...flags, protocol: ['websocket'], kubeProxyClients: '1' }, cwd).clients).toEqual(['mesh', 'kube-proxy']);
    expect(inputError(() => labOptionsFrom({ ...flags, protocol: ['h3'] }, cwd))).toMatch(/^--protocol: unknown protocol "h3"/);
  });
});

describe('skewed endpoint removal (ADR 075)', () => {
  it('one client: every receiver at the propagation delay; several: each at its own time, the last at the delay', () => {
    expect(removalSchedule(5, 1, true, 6000)).toEqual([
      { receiver: 0, atMs: 6000 },
      { receiver: 'self', atMs: 6000 },
    ]);
    const s = removalSchedule(5, 3, true, 6000);
    expect(s.map((r) => r.receiver).sort()).toEqual([0, 1, 2, 'self']);
    expect(s.map((r) => r.atMs)).toEqual([1500, 3000, 4500, 6000]);
    // Deterministic per pod, and the pod's own proxy is not first by construction.
    expect(removalSchedule(5, 3, true, 6000)).toEqual(s);
    const selfRanks = new Set(Array.from({ length: 30 }, (_, n) => removalSchedule(n, 3, true, 6000).findIndex((r) => r.receiver === 'self')));
    expect(selfRanks.size).toBeGreaterThan(2);
    // Without a sidecar (ambient) only the clients.
    expect(removalSchedule(5, 2, false, 4000).map((r) => r.receiver).sort()).toEqual([0, 1]);
  });
  it('--client-proxies / --kube-proxy-clients become the clients list; none at all is refused', () => {
    expect(labOptionsFrom({ ...flags, clientProxies: '2', kubeProxyClients: '1' }, cwd).clients).toEqual(['mesh', 'mesh', 'kube-proxy']);
    expect(labOptionsFrom({ ...flags, kubeProxyClients: '2' }, cwd).clients).toEqual(['mesh', 'kube-proxy', 'kube-proxy']);
    expect(labOptionsFrom({ ...flags }, cwd).clients).toBeUndefined();
    expect(inputError(() => labOptionsFrom({ ...flags, clientProxies: '0' }, cwd))).toMatch(/at least one client/);
    expect(inputError(() => labOptionsFrom({ ...flags, clientProxies: '9', kubeProxyClients: '9', concurrency: '10' }, cwd))).toMatch(/exceed --concurrency 10/);
  });
});
