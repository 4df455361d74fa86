import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labPodFromManifest, reachesOutside } from '../../src/lab/manifest.js';
import { rolloutWaves, scaleIntOrPercent, resolveFenceposts } from '../../src/lab/rollout.js';
import { manifestScenarios, MANIFEST_INJECTED_SCENARIO, netstatLoopScript } from '../../src/lab/scenarios.js';
import { labModeContext, runModeContext, shutdownContextOf } from '../../src/cli/mode-context.js';
import { injectText } from '../../src/inject/inject.js';
import { expectInputError } from '../helpers/errors.js';

const dir = new URL('../../fixtures/lab/manifests/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const load = (name: string, o = {}) => labPodFromManifest(read(name), `manifests/${name}`, o);

describe('the user workload from --manifest', () => {
  it('takes the seed template hook as written, the grace period and the rollout', () => {
    const m = load('seed-template-netstat.yaml');
    expect(m.workload).toBe('Deployment/web');
    expect(m.spec.graceMs).toBe(20_000);
    // The same script the built-in netstat-loop scenario runs (the seed template, grace 20 s).
    expect(m.spec.proxyPreStop).toEqual({ exec: ['/bin/sh', '-c', netstatLoopScript(20) + '\n'] });
    expect(m.spec.appPreStop).toBeUndefined();
    expect(m.spec.terminationDrainMs).toBe(5000);
    expect(m.rollout).toMatchObject({ replicas: 3, maxSurge: 1, maxUnavailable: 0, replaceAfterExit: false });
    expect(m.appPorts).toEqual([8080]);
    expect(m.proxyVariant).toEqual({ value: 'default', source: 'no distroless marker on the pod' });
    expect(m.dataPlane).toBe('classic');
    expect(m.hooks).toEqual([expect.objectContaining({ container: 'istio-proxy', action: 'run', at: expect.stringMatching(/seed-template-netstat.yaml:25:11$/) })]);
  });

  it('--proxy-variant overrides; the annotation sets it as lint reads it', () => {
    expect(load('seed-port-20000.yaml', { proxyVariant: 'distroless' }).proxyVariant.value).toBe('distroless');
    const m = load('app-program-hook.yaml', { appPrestopMs: 10_000 });
    expect(m.proxyVariant.value).toBe('distroless');
    expect(m.proxyVariant.source).toMatch(/sidecar.istio.io\/proxyImageType annotation \(manifests\/app-program-hook.yaml:13:\d+\)/);
    expect(m.spec.terminationDrainMs).toBe(7000);
  });

  it("an app hook calling the image's own program is refused naming the hook and the flag, or stood in for", () => {
    expectInputError(() => load('app-program-hook.yaml'), /^manifests\/app-program-hook.yaml:2\d:\d+: db: preStop exec .*graceful_termination.sh.* --app-prestop-time/);
    const m = load('app-program-hook.yaml', { appPrestopMs: 10_000 });
    expect(m.spec.appPreStop).toEqual({ sleepMs: 10_000 });
    expect(m.hooks.find((h) => h.container === 'db')).toMatchObject({ action: 'stand-in', why: expect.stringContaining('--app-prestop-time 10s') });
  });

  it('a hook that reaches outside the pod is not run, and reported', () => {
    const m = load('app-program-hook.yaml', { appPrestopMs: 1000 });
    expect(m.spec.proxyPreStop).toBeUndefined();
    expect(m.hooks.find((h) => h.container === 'istio-proxy')).toMatchObject({ action: 'not-run', why: expect.stringContaining('http://deploy-gate.ops.svc') });
    expect(reachesOutside(['sh', '-c', 'curl -XPOST http://localhost:15020/quitquitquit'], ['curl'])).toBeUndefined();
    expect(reachesOutside(['sh', '-c', 'kubectl annotate pod x y=z'], ['kubectl'])).toMatch(/kubectl/);
  });

  it('StatefulSet: replicas capped with a note, no surge, Istio ports left out of the app ports', () => {
    const m = load('app-program-hook.yaml', { appPrestopMs: 1000 });
    expect(m.rollout).toMatchObject({ replicas: 5, maxSurge: 0, maxUnavailable: 1, replaceAfterExit: true });
    expect(m.rollout.notes.join('\n')).toMatch(/replicas 12 capped at 5/);
    expect(m.appPorts).toEqual([5432]);
  });

  it('refuses no workload and kinds it cannot roll with file:line:col', () => {
    expectInputError(() => load('config-only.yaml'), /^manifests\/config-only.yaml:1:1: no workload/);
    expectInputError(() => load('job.yaml'), /^manifests\/job.yaml:2:7: Job\/migrate: the lab rolls Deployment, StatefulSet, DaemonSet, Rollout/);
    expectInputError(() => load('plain.yaml', { workload: 'Deployment/nope' }), /--workload Deployment\/nope: not in the manifest \(found: Deployment\/web\)/);
    const two = read('plain.yaml') + '---\n' + read('seed-port-20000.yaml');
    expectInputError(() => labPodFromManifest(two, 'two.yaml'), /^two.yaml:1:1: 2 workloads .*--workload Kind\/name \(Deployment\/web, Deployment\/orders\)/);
    expect(labPodFromManifest(two, 'two.yaml', { workload: 'orders' }).workload).toBe('Deployment/orders');
  });

  it('native mode gets the template drain preStop; the pod after inject keeps its sleep', () => {
    const native = read('plain.yaml').replace('labels: {app: web}\n    spec:', 'labels: {app: web}\n      annotations: {sidecar.istio.io/nativeSidecar: "true"}\n    spec:');
    const m = labPodFromManifest(native, 'n.yaml');
    expect(m.dataPlane).toBe('native');
    expect(m.spec.proxyPreStop).toEqual({ exec: ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain'] });
  });
});

describe('--manifest with the run\'s mode context (--istio-version, --kube-version, --mesh-config: cli/mode-context.ts)', () => {
  const plain = read('plain.yaml');
  const ctx = (flags: { kubeVersion?: string; istioVersion?: string }, mesh: { file: string; text: string }[] = []) => labModeContext(flags, mesh);
  const injector = (policy: 'enabled' | 'disabled') => {
    const text = readFileSync(new URL('../../fixtures/lint/mesh/injector-configmap-real.yaml', import.meta.url), 'utf8');
    expect(text).toContain('\n    policy: enabled\n');
    return [{ file: 'injector.yaml', text: text.replace('\n    policy: enabled\n', `\n    policy: ${policy}\n`) }];
  };

  it('kubelet 1.33 and Istio 1.27 make an undecided pod native (ENABLE_NATIVE_SIDECARS=auto), as inject and lint decide it', () => {
    const none = labPodFromManifest(plain, 'plain.yaml');
    expect(none.dataPlane).toBe('classic');
    expect(none.notes.join('\n')).toMatch(/--kube-version, --istio-version or --mesh-config/);
    const m = labPodFromManifest(plain, 'plain.yaml', { context: ctx({ kubeVersion: '1.33', istioVersion: '1.27' }) });
    expect(m.dataPlane).toBe('native');
    expect(m.spec.mode).toBe('native');
    expect(m.spec.proxyPreStop).toEqual({ exec: ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain'] });
    expect(m.notes.join('\n')).not.toMatch(/runs a classic sidecar/);
    // Below Istio's native default, or with a kubelet older than 1.33: classic, decided.
    expect(labPodFromManifest(plain, 'plain.yaml', { context: ctx({ kubeVersion: '1.33', istioVersion: '1.26' }) }).dataPlane).toBe('classic');
    const old = labPodFromManifest(plain, 'plain.yaml', { context: ctx({ kubeVersion: '1.32', istioVersion: '1.27' }) });
    expect(old.dataPlane).toBe('classic');
    expect(old.notes.join('\n')).not.toMatch(/runs a classic sidecar/);
  });

  it("--mesh-config: an injector ConfigMap with policy disabled leaves a pod that does not ask unmeshed (exit 2, file:line:col); enabled keeps it", () => {
    expectInputError(() => labPodFromManifest(plain, 'plain.yaml', { context: ctx({}, injector('disabled')) }), /^plain.yaml:11:7: Deployment\/web: the pod is not meshed, and the lab runs only sidecar and ambient pods: the injector's policy is disabled and the pod does not ask \(sidecar\.istio\.io\/inject\)$/);
    expect(labPodFromManifest(plain, 'plain.yaml', { context: ctx({}, injector('enabled')) }).dataPlane).toBe('classic');
    const asks = plain.replace('labels: {app: web}\n    spec:', 'labels: {app: web, sidecar.istio.io/inject: "true"}\n    spec:');
    expect(labPodFromManifest(asks, 'plain.yaml', { context: ctx({}, injector('disabled')) }).dataPlane).toBe('classic');
  });

  it("--mesh-config: an IstioOperator's mesh-wide drain and ENABLE_NATIVE_SIDECARS reach the pod the lab runs", () => {
    const text = readFileSync(new URL('../../fixtures/lint/mesh/istio-operator-exit-on-zero.yaml', import.meta.url), 'utf8');
    const none = labPodFromManifest(plain, 'plain.yaml', { context: ctx({ kubeVersion: '1.33', istioVersion: '1.27' }) });
    expect(none.spec).toMatchObject({ mode: 'native', terminationDrainMs: 5000, exitOnZero: false });
    const m = labPodFromManifest(plain, 'plain.yaml', { context: ctx({ kubeVersion: '1.33', istioVersion: '1.27' }, [{ file: 'iop.yaml', text }]) });
    // pilot.env ENABLE_NATIVE_SIDECARS "false" wins over the versions; the drain is the mesh's.
    expect(m.spec).toMatchObject({ mode: 'classic', terminationDrainMs: 15_000, exitOnZero: true, minimumDrainMs: 8000 });
    expect(m.notes.join('\n')).not.toMatch(/runs a classic sidecar/);
  });

  it('--compare-inject runs inject with the same context: its output is what `inject --kube-version 1.33 --istio-version 1.27` writes', () => {
    const flags = { kubeVersion: '1.33', istioVersion: '1.27' };
    const run = manifestScenarios(plain, 'plain.yaml', { compareInject: true, context: ctx(flags) });
    const injected = run.scenarios.find((s) => s.name === MANIFEST_INJECTED_SCENARIO)!;
    const { versions, mesh } = runModeContext(flags, []);
    const byInject = injectText(plain, 'plain.yaml', shutdownContextOf(versions, mesh)).output;
    expect(injected.manifest).toBe(byInject);
    // ...which the context changes (without it the pod's sidecar kind is unknown to inject).
    expect(injectText(plain, 'plain.yaml').output).not.toBe(byInject);
    expect(injected.manifestPod?.dataPlane).toBe('native');
    expect(run.scenarios[0]!.manifestPod?.dataPlane).toBe('native');
  });

  it('bad values are one InputError naming the flag (the parser inject and lint use)', () => {
    expectInputError(() => ctx({ kubeVersion: 'soon' }), /--kube-version: expected a version like/);
    expectInputError(() => ctx({ istioVersion: '1' }), /--istio-version/);
    expectInputError(() => ctx({}, [{ file: 'm.yaml', text: 'kind: Service\nmetadata: {name: x}\n' }]), /^m.yaml/);
  });
});

describe('rollout waves', () => {
  it('scales percentages like intstr (surge up, unavailable down) and never stalls', () => {
    expect(scaleIntOrPercent('25%', 3, true)).toBe(1);
    expect(scaleIntOrPercent('25%', 3, false)).toBe(0);
    expect(scaleIntOrPercent('x', 3, false)).toBeUndefined();
    expect(resolveFenceposts(0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });
  it('surge 1 / unavailable 0 replaces one at a time, start before terminate', () => {
    expect(rolloutWaves({ replicas: 3, maxSurge: 1, maxUnavailable: 0 })).toEqual([
      { start: 1, terminate: 1 },
      { start: 1, terminate: 1 },
      { start: 1, terminate: 1 },
    ]);
  });
  it('surge 0 / unavailable 1 terminates first; 4 replicas with 1/1 finish in three waves', () => {
    expect(rolloutWaves({ replicas: 2, maxSurge: 0, maxUnavailable: 1 })).toEqual([
      { start: 0, terminate: 1 },
      { start: 1, terminate: 1 },
      { start: 1, terminate: 0 },
    ]);
    const w = rolloutWaves({ replicas: 4, maxSurge: 1, maxUnavailable: 1 });
    expect(w).toEqual([
      { start: 1, terminate: 2 },
      { start: 2, terminate: 2 },
      { start: 1, terminate: 0 },
    ]);
    expect(w.reduce((s, x) => s + x.start, 0)).toBe(4);
  });
});

describe("a distroless istio-proxy's shell from an init container (ADR 085)", () => {
  const injected = () => injectText(read('plain-distroless.yaml'), 'plain-distroless.yaml').output;
  it('after inject: the hook runs <mountPath>/sh and the root gets the static busybox where istio-proxy mounts the emptyDir', () => {
    const m = labPodFromManifest(injected(), 'plain-distroless.yaml');
    expect(m.proxyVariant.value).toBe('distroless');
    const exec = (m.spec.proxyPreStop as { exec: string[] }).exec;
    expect(exec[0]).toBe('/meshdrain/bin/sh');
    expect(m.spec.proxyBusyboxDirs).toEqual([{ mountPath: '/meshdrain/bin', applets: ['sh', 'sleep', 'date', 'wget', 'cat'] }]);
    expect(m.notes.join('\n')).toMatch(/init container meshdrain-shell \(plain-distroless\.yaml:\d+:\d+\) copies its image's static busybox into emptyDir meshdrain-bin .* mounts it at \/meshdrain\/bin/);
    // As written (nothing injected yet): no init container, nothing brought in.
    expect(labPodFromManifest(read('plain-distroless.yaml'), 'p.yaml').spec.proxyBusyboxDirs).toBeUndefined();
    // --compare-inject reads the injected row the same way.
    const rows = manifestScenarios(read('plain-distroless.yaml'), 'plain-distroless.yaml', { compareInject: true }).scenarios;
    expect(rows.map((r) => r.spec.proxyBusyboxDirs)).toEqual([undefined, [{ mountPath: '/meshdrain/bin', applets: ['sh', 'sleep', 'date', 'wget', 'cat'] }]]);
  });

  it("an earlier meshdrain's shell copy (no cat linked) is still brought in, with its own applets, and the notes say what it costs", () => {
    const earlier = injected().replace(' && ln -sf busybox /meshdrain/bin/cat', '');
    const m = labPodFromManifest(earlier, 'plain-distroless.yaml');
    expect(m.spec.proxyBusyboxDirs).toEqual([{ mountPath: '/meshdrain/bin', applets: ['sh', 'sleep', 'date', 'wget'] }]);
    expect(m.notes.join('\n')).toMatch(/init container meshdrain-shell is an earlier meshdrain's shell copy, without cat: .* run meshdrain inject again/);
    expect(labPodFromManifest(injected(), 'plain-distroless.yaml').notes.join('\n')).not.toMatch(/earlier meshdrain/);
  });

  it("a user's own init container on a volume istio-proxy mounts is not replayed, and the notes say so (with its position)", () => {
    const own = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sidecar.istio.io/proxyImageType: distroless}
    spec:
      initContainers:
      - name: migrate
        image: migrate:1
        volumeMounts: [{name: data, mountPath: /data}]
      - name: tools
        image: busybox:1.37.0-musl
        command: [/bin/busybox, sh, -c, 'cp /bin/busybox /opt/tools/ && /bin/busybox --install -s /opt/tools']
        volumeMounts: [{name: tools, mountPath: /opt/tools}]
      containers:
      - name: web
        image: web:1
        ports: [{containerPort: 8080}]
        volumeMounts: [{name: data, mountPath: /data}]
      - name: istio-proxy
        image: auto
        volumeMounts: [{name: tools, mountPath: /tools}]
        lifecycle: {preStop: {exec: {command: [/tools/sh, -c, 'sleep 5']}}}
      volumes:
      - {name: tools, emptyDir: {}}
      - {name: data, emptyDir: {}}
`;
    const m = labPodFromManifest(own, 'own.yaml');
    expect(m.spec.proxyBusyboxDirs).toBeUndefined();
    const said = m.notes.filter((n) => /the lab runs no init container/.test(n));
    // Only the init container whose volume istio-proxy mounts (tools), not the app's (migrate on data).
    expect(said).toEqual([
      "init container tools (own.yaml:16:9) mounts volume tools, which istio-proxy mounts at /tools: the lab runs no init container (only meshdrain inject's own shell copy is replayed, ADR 085), so istio-proxy's hooks run without what tools leaves there (a shell it copies in, say)",
    ]);
    // meshdrain inject's own shell copy is replayed, not noted as missing.
    expect(labPodFromManifest(injected(), 'plain-distroless.yaml').notes.join('\n')).not.toMatch(/the lab runs no init container/);
  });

  it('only what the pod would have: no init container, another command, a volume that is not an emptyDir, or istio-proxy not mounting it → nothing', () => {
    const text = injected();
    const dirs = (t: string) => labPodFromManifest(t, 'x.yaml').spec.proxyBusyboxDirs;
    // The init container removed (its command and mount): the hook's /meshdrain/bin/sh is not there.
    const noInit = text.replace(/      initContainers:\n(?: {6}- | {8}).*\n(?: {8,}.*\n)*/, '');
    expect(noInit).not.toContain('meshdrain-shell');
    expect(dirs(noInit)).toBeUndefined();
    // Another command (copies only sh, not what meshdrain writes): not recognised.
    expect(dirs(text.replace('&& ln -sf busybox /meshdrain/bin/wget', ''))).toBeUndefined();
    // The volume is a hostPath, not the pod's own emptyDir.
    expect(dirs(text.replace('emptyDir: {}', 'hostPath: {path: /opt/bin}'))).toBeUndefined();
    // istio-proxy mounts another volume name: the shell is on a volume it does not see.
    expect(dirs(text.replace(/\\"name\\":\\"meshdrain-bin\\",\\"mountPath/g, '\\"name\\":\\"other\\",\\"mountPath'))).toBeUndefined();
    // istio-proxy mounts it elsewhere: the busybox is where it mounts it.
    expect(dirs(text.replace(/\\"mountPath\\":\\"\/meshdrain\/bin\\"/g, '\\"mountPath\\":\\"/opt/md\\"'))).toEqual([{ mountPath: '/opt/md', applets: ['sh', 'sleep', 'date', 'wget', 'cat'] }]);
  });
});
