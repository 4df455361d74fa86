/** The derivation every door reads: mode and why, delays, drain, hold, grace (plan/facts.ts). */
import { describe, expect, it } from 'vitest';
import { dataPlaneMode, podShutdownFacts, templateHoldTimeoutMs, type ShutdownContext } from '../../src/plan/facts.js';
import { DEFAULT_POLICY, type Policy } from '../../src/policy/policy.js';
import type { PodTemplate, PodTemplateSite } from '../../src/model/workload.js';
import { DEFAULT_APP_DELAY_SECONDS, DEFAULT_APP_SHUTDOWN_SECONDS, drainAfterHoldSeconds, holdFits } from '../../src/plan/budget.js';
import { DEFAULT_HOLD_LINGER_MS } from '../../src/constants.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../../src/istio/facts.js';

const site = (kind = 'Deployment'): PodTemplateSite => ({ kind, apiVersion: 'apps/v1', name: 'web', labels: {}, templatePath: ['spec', 'template'], isJobLike: kind === 'Job' || kind === 'CronJob' }) as PodTemplateSite;
const pod = (o: { annotations?: Record<string, string>; grace?: number; containers?: unknown[]; initContainers?: unknown[] } = {}): PodTemplate =>
  ({
    metadata: { annotations: o.annotations ?? {} },
    spec: {
      ...(o.grace !== undefined ? { terminationGracePeriodSeconds: o.grace } : {}),
      containers: o.containers ?? [{ name: 'app', image: 'app:1' }],
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
    },
  }) as PodTemplate;
const policy = (p: Partial<Policy>): Policy => ({ format: 'v1alpha1', defaults: {}, rules: [], ...p });

const injecting = { namespaces: new Map([['web', { name: 'web', labels: { 'istio-injection': 'enabled' }, where: 'ns.yaml:1' }]]) };
const inWeb = (kind = 'Deployment'): PodTemplateSite => ({ ...site(kind), namespace: 'web' });
const modeOf = (p: PodTemplate, ctx: ShutdownContext = {}, s = site(), pol: Policy | null = null) => podShutdownFacts(s, p, pol, ctx).mode;

describe('the mode comes from mesh/mode.ts classifyMode (one decision)', () => {
  it('an injected native proxy is native whatever the annotation says; an injected classic one classic', () => {
    const native = pod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'false' }, initContainers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.0', restartPolicy: 'Always' }] });
    expect(modeOf(native)).toMatchObject({ mode: 'native', by: 'injected' });
    const classic = pod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'true' }, containers: [{ name: 'app' }, { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.0' }] });
    expect(modeOf(classic)).toMatchObject({ mode: 'classic', by: 'injected' });
  });
  it('the annotation decides for an injected pod; before Istio 1.24 it is ignored; before Kubernetes 1.29 nothing is native', () => {
    const ann = pod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'true' } });
    expect(modeOf(ann, injecting, inWeb())).toMatchObject({ mode: 'native', by: 'annotation' });
    expect(modeOf(ann, { ...injecting, istioVersion: { major: 1, minor: 23 } }, inWeb())).toMatchObject({ mode: 'classic', reason: expect.stringContaining('ignored before Istio 1.24') });
    expect(modeOf(ann, { ...injecting, kubeVersion: { major: 1, minor: 28 } }, inWeb())).toMatchObject({ mode: 'classic', by: 'versions' });
  });
  it("meshdrain's own request (Job) counts like the annotation and says so, but never over the user's", () => {
    expect(modeOf(pod(), injecting, inWeb('Job'), DEFAULT_POLICY)).toMatchObject({ mode: 'native', by: 'job', reason: expect.stringContaining("a Job's pod gets") });
    expect(modeOf(pod({ annotations: { 'sidecar.istio.io/nativeSidecar': 'false' } }), injecting, inWeb('Job'), DEFAULT_POLICY)).toMatchObject({ mode: 'classic', by: 'annotation' });
  });
  it('then the mesh setting, then the version defaults; nothing known: unknown, either kind', () => {
    expect(modeOf(pod(), { ...injecting, nativeSidecars: { value: 'true', source: 'values' } }, inWeb())).toMatchObject({ mode: 'native', by: 'mesh', reason: expect.stringContaining('ENABLE_NATIVE_SIDECARS from values is true') });
    expect(modeOf(pod(), { ...injecting, istioVersion: { major: 1, minor: 27 }, kubeVersion: { major: 1, minor: 33 } }, inWeb())).toMatchObject({ mode: 'native', by: 'versions' });
    expect(modeOf(pod(), { ...injecting, istioVersion: { major: 1, minor: 27 }, kubeVersion: { major: 1, minor: 32 } }, inWeb())).toMatchObject({ mode: 'classic', by: 'versions' });
    expect(modeOf(pod())).toMatchObject({ mode: 'unknown', injection: 'maybe', sidecar: 'either', by: 'assumed' });
  });
  it('a pod Istio never injects gets no hold and no native request, but keeps the app delay and grace', () => {
    const host = { ...pod(), spec: { ...pod().spec, hostNetwork: true } } as PodTemplate;
    const f = podShutdownFacts(site(), host, DEFAULT_POLICY);
    expect(f.mode.mode).toBe('none');
    expect(f.hold).toBeNull();
    expect(f.apps[0]!.preStop).toEqual({ sleepSeconds: 5 });
    const job = podShutdownFacts({ ...site('Job'), namespace: 'kube-system' }, pod(), DEFAULT_POLICY);
    expect(job.mode.mode).toBe('none');
    expect(job.nativeRequest).toBeUndefined();
  });
  it("the lab's adapter (dataPlaneMode) asks the same sidecarKind", () => {
    expect(dataPlaneMode({ proxy: { init: true, restartAlways: true, stub: false }, annotation: 'false' })).toMatchObject({ mode: 'native', by: 'injected' });
    expect(dataPlaneMode({ annotation: 'true' })).toMatchObject({ mode: 'native', by: 'annotation' });
    expect(dataPlaneMode({ annotation: 'true' }, { kubeVersion: { major: 1, minor: 28 } })).toMatchObject({ mode: 'classic', by: 'versions' });
    expect(dataPlaneMode({})).toMatchObject({ mode: 'classic', by: 'assumed' });
  });
});

describe('podShutdownFacts', () => {
  it('default policy, Deployment: guessed 5s app sleep (said), 5s drain, hold on listeners and connections with a linger, grace 33s', () => {
    const f = podShutdownFacts(inWeb(), pod(), DEFAULT_POLICY, { ...injecting, istioVersion: { major: 1, minor: 22 } });
    expect(f.mode.mode).toBe('classic');
    expect(f.apps).toEqual([{ name: 'app', preStop: { sleepSeconds: 5 }, delaySeconds: 5 }]);
    expect(f.appDelay).toEqual({ kind: 'guessed', seconds: 5 });
    expect(f.notes.join('\n')).toMatch(/native sleep of 5s before SIGTERM, a guess .*app\.shell: true/);
    expect(f.drain.seconds).toBe(5);
    // 5 (app sleep) + 20 (app shutdown) + 0.5 (linger) + 5 (drain) + 2 (margin)
    expect(f.grace).toEqual({ set: undefined, required: 33, value: 33 });
    // The hold watches the app's connections (inbound from Envoy included), so it drains at start (ADR 016).
    expect(f.hold).toEqual({ strategies: [{ kind: 'app-listeners' }, { kind: 'app-connections' }], lingerMs: 500, drainAtStart: true, timeoutMs: 26_000, intervalMs: 200 });
  });
  it('app.shell: the traffic-gone wait with its defaults; the grace period counts its upper bound; pilot-agent drains at start', () => {
    const f = podShutdownFacts(site(), pod(), policy({ defaults: { app: { shell: true } } }));
    const wait = { quietMs: 1000, maxMs: 30_000, intervalMs: 200 };
    expect(f.appDelay).toEqual({ kind: 'wait', wait, shell: { kind: 'image' } });
    expect(f.apps).toEqual([{ name: 'app', preStop: { wait, shell: { kind: 'image' } }, delaySeconds: 30 }]);
    expect(f.notes).toEqual([]);
    expect(f.budget.parts.map((p) => [p.label, p.seconds])).toEqual([
      ['app delay, upper bound', 30],
      ['app shutdown', 20],
      ['hold linger', 0.5],
      ['Istio drain', 5],
      ['margin', 2],
    ]);
    expect(f.grace.value).toBe(58);
    expect(f.hold).toMatchObject({ drainAtStart: true, lingerMs: 500, timeoutMs: (58 - 5 - 2) * 1000 });
  });
  it('app.quiet and app.maxDelay shape the wait; shellImage alone brings a shell in; app.delay stays the fixed sleep', () => {
    const f = podShutdownFacts(site(), pod(), policy({ defaults: { app: { quiet: '2s', maxDelay: '12s', shellImage: 'mirror.local/busybox:1' } } }));
    expect(f.appDelay).toEqual({ kind: 'wait', wait: { quietMs: 2000, maxMs: 12_000, intervalMs: 200 }, shell: { kind: 'init-container', image: 'mirror.local/busybox:1', mountPath: '/meshdrain/bin' } });
    expect(f.grace.value).toBe(12 + 20 + 1 + 5 + 2);
    const fixed = podShutdownFacts(site(), pod(), policy({ defaults: { app: { delay: '7s', shell: true } } }));
    expect(fixed.apps[0]).toEqual({ name: 'app', preStop: { sleepSeconds: 7 }, delaySeconds: 7 });
    expect(fixed.appDelay).toEqual({ kind: 'fixed', seconds: 7 });
    expect(fixed.notes).toEqual([expect.stringMatching(/app\.delay wins, and app\.shell is not used for the app/)]);
  });
  it('a container with its own preStop keeps it; a waitFor without app-connections gets neither linger nor drain at start', () => {
    const two = pod({ containers: [{ name: 'app', image: 'a' }, { name: 'side', image: 'b', lifecycle: { preStop: { exec: { command: ['sleep', '3'] } } } }] });
    const f = podShutdownFacts(site(), two, policy({ defaults: { app: { shell: 'image' } } }));
    expect(f.apps.map((a) => [a.name, a.delaySeconds])).toEqual([['app', 30], ['side', 3]]);
    expect(f.hold?.drainAtStart).toBe(true);
    const listeners = podShutdownFacts(site(), two, policy({ defaults: { proxy: { waitFor: ['app-listeners'] } } }));
    expect(listeners.hold).toEqual({ strategies: [{ kind: 'app-listeners' }], timeoutMs: 26_000 - 1000, intervalMs: 200 });
  });
  it('drain settings someone set are kept: no drain at start (pilot-agent would skip them), said', () => {
    const byPolicy = podShutdownFacts(site(), pod(), policy({ defaults: { proxy: { exitOnZeroActiveConnections: true } } }));
    expect(byPolicy.hold?.drainAtStart).toBeUndefined();
    expect(byPolicy.hold?.lingerMs).toBe(500);
    expect(byPolicy.notes.join('\n')).toMatch(/does not ask pilot-agent to drain at start/);
    const byPod = podShutdownFacts(site(), pod({ annotations: { 'proxy.istio.io/config': '{"terminationDrainDuration": "12s"}' } }), DEFAULT_POLICY);
    expect(byPod.hold?.drainAtStart).toBeUndefined();
    const byMesh = podShutdownFacts(site(), pod(), DEFAULT_POLICY, { meshProxyConfig: { terminationDrainMs: 8000 } });
    expect(byMesh.hold?.drainAtStart).toBeUndefined();
    expect(podShutdownFacts(site(), pod(), DEFAULT_POLICY).hold?.drainAtStart).toBe(true);
  });
  it('judging as written: meshdrain\'s rendered wait counts at its upper bound', async () => {
    const { appWaitExecCommand } = await import('../../src/hooks/app-wait.js');
    const argv = appWaitExecCommand({ quietMs: 1000, maxMs: 20_000, intervalMs: 200 });
    const f = podShutdownFacts(site(), pod({ containers: [{ name: 'app', image: 'a', lifecycle: { preStop: { exec: { command: argv } } } }] }), null);
    expect(f.appDelaySeconds).toBe(20);
    expect(f.budget.parts[0]).toEqual({ label: 'app delay, upper bound', seconds: 20 });
  });
  it('judging as written (no policy): no meshdrain delay, no hold, no request; the grace period is what is set', () => {
    const f = podShutdownFacts(site('Job'), pod({ grace: 10 }), null);
    expect(f.mode).toMatchObject({ mode: 'unknown', by: 'assumed' });
    expect(f.nativeRequest).toBeUndefined();
    expect(f.apps[0]!.delaySeconds).toBe(0);
    expect(f.hold).toBeNull();
    expect(f.grace.value).toBe(10);
  });
  it('a Job gets a native request and no hold', () => {
    const f = podShutdownFacts(site('Job'), pod(), DEFAULT_POLICY);
    expect(f.nativeRequest).toBe(true);
    expect(f.mode).toMatchObject({ mode: 'unknown', sidecar: 'native' });
    expect(f.hold).toBeNull();
  });
  it('drain: mesh defaults, then the annotation, then the policy, field by field', () => {
    const ctx = { meshProxyConfig: { terminationDrainMs: 20_000, minimumDrainMs: 9000 } };
    expect(podShutdownFacts(site(), pod(), DEFAULT_POLICY, ctx).drain.seconds).toBe(20);
    const ann = pod({ annotations: { 'proxy.istio.io/config': '{"terminationDrainDuration": "12s"}' } });
    expect(podShutdownFacts(site(), ann, DEFAULT_POLICY, ctx).drain.seconds).toBe(12);
    const exitOnZero = policy({ defaults: { proxy: { exitOnZeroActiveConnections: true } } });
    expect(podShutdownFacts(site(), ann, exitOnZero, ctx).drain).toMatchObject({ seconds: 9, unbounded: true });
  });
  it("via template: the grace period covers the template's real timeout from the policy's template: section", () => {
    const viaTemplate = policy({ defaults: { via: 'template' }, template: { timeout: '60s' } });
    const f = podShutdownFacts(site(), pod(), viaTemplate);
    expect(f.via).toBe('template');
    expect(f.fixedHoldTimeoutSeconds).toBe(60);
    expect(f.grace.value).toBe(62); // 60 + 2 margin: the template's hold drains at its start (ADR 086)
    // Without the section: the longest hold that fits Kubernetes' default 30 s grace period (ADR 086). It
    // drains at its start, so no drain follows it: 30 - 2 (margin) = 28 s, which covers the default app
    // estimate (5 s delay + 20 s shutdown + 0.5 s linger): no short-hold note, and the grace stays 33 s.
    expect(templateHoldTimeoutMs(null)).toBe(28_000);
    expect(templateHoldTimeoutMs(null) / 1000).toBeGreaterThanOrEqual(DEFAULT_APP_DELAY_SECONDS + DEFAULT_APP_SHUTDOWN_SECONDS + DEFAULT_HOLD_LINGER_MS / 1000);
    expect(holdFits(templateHoldTimeoutMs(null) / 1000, drainAfterHoldSeconds(DEFAULT_TERMINATION_DRAIN_SECONDS, true), DEFAULT_GRACE_SECONDS)).toBe(true);
    // The template's default hold watches app-connections, so it lingers 500 ms, as the annotation's
    // does: the grace period is the same 33 s (5 delay + 20 shutdown + 0.5 linger + 5 drain + 2 margin).
    const viaDefault = podShutdownFacts(site(), pod(), policy({ defaults: { via: 'template' } }));
    expect(viaDefault.grace.value).toBe(33);
    expect(viaDefault.grace.value).toBe(podShutdownFacts(site(), pod(), policy({ defaults: { via: 'annotation' } })).grace.value);
    expect(viaDefault.budget.parts).toContainEqual({ label: 'hold linger', seconds: 0.5 });
    expect(viaDefault.hold).toMatchObject({ lingerMs: 500, timeoutMs: 28_000 });
    expect(viaDefault.notes.join('\n')).not.toMatch(/hold gives up/);
  });
  it("via template: the template's own waitFor decides the linger and a fixed sleep, not the policy's proxy: section", () => {
    // A template hold on listeners only does not linger: 5 + 20 + 5 + 2.
    const listeners = policy({ defaults: { via: 'template', proxy: { waitFor: ['app-connections'] } }, template: { waitFor: ['app-listeners'] } });
    const f = podShutdownFacts(site(), pod(), listeners);
    expect(f.budget.parts.map((p) => p.label)).not.toContain('hold linger');
    expect(f.grace.value).toBe(32);
    expect(f.hold?.strategies.map((w) => w.kind)).toEqual(['app-listeners']);
    // A template sleep longer than the app counts whole (its timeout at least as long as the sleep).
    const sleeping = policy({ defaults: { via: 'template' }, template: { waitFor: ['sleep=40s'], timeout: '45s' } });
    expect(podShutdownFacts(site(), pod(), sleeping).budget.parts).toContainEqual({ label: 'proxy hold beyond the app', seconds: 15 });
    // The policy's proxy.timeout is not the template's: it does not size the grace period.
    const proxyTimeout = policy({ defaults: { via: 'template', proxy: { timeout: '90s' } } });
    expect(podShutdownFacts(site(), pod(), proxyTimeout).grace.value).toBe(33);
  });
  it('a policy timeout is honoured whole and never lowers the grace period', () => {
    const p = policy({ defaults: { proxy: { timeout: '50s' } } });
    expect(podShutdownFacts(site(), pod(), p).grace.value).toBe(52); // 50 + 2: drained at the hold's start
    expect(podShutdownFacts(site(), pod(), p, { istioVersion: { major: 1, minor: 20 } }).grace.value).toBe(57); // no /drain: + 5
    expect(podShutdownFacts(site(), pod({ grace: 90 }), p).grace.value).toBe(90);
  });
});

describe("istio-proxy's own preStop calling /quitquitquit (ADR 090)", () => {
  const withProxy = (preStop: unknown) =>
    pod({
      annotations: { 'proxy.istio.io/config': '{"terminationDrainDuration": "30s"}' },
      containers: [
        { name: 'app', image: 'a', lifecycle: { preStop: { sleep: { seconds: 5 } } } },
        { name: 'istio-proxy', image: 'auto', lifecycle: { preStop } },
      ],
    });
  const ctx = { ...injecting, kubeVersion: { major: 1, minor: 30 }, istioVersion: { major: 1, minor: 22 } };
  it('an exec that posts it: kept with a warning, and the grace period counts no drain (it never runs)', () => {
    const f = podShutdownFacts(inWeb(), withProxy({ exec: { command: ['pilot-agent', 'request', 'POST', 'quitquitquit'] } }), DEFAULT_POLICY, ctx);
    expect(f.userProxyPreStop).toBe('kept');
    expect(f.proxyQuit).toBe('quits');
    expect(f.drain.seconds).toBe(0);
    expect(f.drain.terminationDrainMs).toBe(30_000);
    expect(f.notes.join('\n')).toMatch(/warning: istio-proxy's preStop calls \/quitquitquit: the proxy exits at termination start with no drain, before the app's 5s delay \+ ~20s shutdown/);
    // 5 (app sleep) + 20 (app shutdown) + 0 (no drain) + 2 (margin) = 27 < the default 30
    expect(f.grace).toEqual({ set: undefined, required: 27, value: 30 });
    // Judged as written (lint): the same recognition.
    expect(podShutdownFacts(inWeb(), withProxy({ exec: { command: ['curl', '-XPOST', 'localhost:15020/quitquitquit'] } }), null, ctx).proxyQuit).toBe('quits');
  });
  it('an httpGet to it does nothing (GET from the node, refused): kept with a warning, the 30s drain still counted', () => {
    const f = podShutdownFacts(inWeb(), withProxy({ httpGet: { path: '/quitquitquit', port: 15020 } }), DEFAULT_POLICY, ctx);
    expect(f.proxyQuit).toBe('refused');
    expect(f.drain.seconds).toBe(30);
    expect(f.notes.join('\n')).toMatch(/warning: istio-proxy's preStop is an httpGet to \/quitquitquit, which does nothing/);
    expect(f.grace.required).toBe(57);
  });
  it('replaced by the policy, or an app calling it: no quit', () => {
    const replaced = podShutdownFacts(inWeb(), withProxy({ exec: { command: ['pilot-agent', 'request', 'POST', 'quitquitquit'] } }), policy({ defaults: { proxy: { replaceUserPreStop: true } } }), ctx);
    expect(replaced.proxyQuit).toBeUndefined();
    expect(replaced.drain.seconds).toBe(30);
    const app = pod({ containers: [{ name: 'app', image: 'a', lifecycle: { preStop: { exec: { command: ['pilot-agent', 'request', 'POST', 'quitquitquit'] } } } }] });
    expect(podShutdownFacts(inWeb(), app, null, ctx).proxyQuit).toBeUndefined();
  });
});
