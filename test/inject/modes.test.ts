/**
 * inject per data-plane mode (ADR 060, 061, 062, 064): never an `image: auto` stub where injection will
 * not replace it, the proxy settings in the proxy.istio.io/overrides annotation where injection may or
 * may not happen, no hold and no stub for pods Istio never injects (they keep the app delay and the
 * grace period), gateways and istiod-managed Deployments left as written.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { loadPolicy } from '../../src/policy/load.js';
import { templateNativeDrainCommand } from '../../src/istio/template.js';
import { templateNativeDrain } from '../../src/plan/facts.js';
import { readFileSync } from 'node:fs';
import { readMeshSettings, runVersions, shutdownContextOf } from '../../src/cli/mode-context.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const deployment = (o: { ns?: string; labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean; extra?: string } = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
${o.ns ? `  namespace: ${o.ns}\n` : ''}spec:
  template:
    metadata:
      labels: ${JSON.stringify({ app: 'web', ...o.labels })}
${o.annotations ? `      annotations: ${JSON.stringify(o.annotations)}\n` : ''}    spec:
${o.hostNetwork ? '      hostNetwork: true\n' : ''}      containers:
      - name: web
        image: nginx:1.27
${o.extra ?? ''}`;
const namespace = (name: string, labels: Record<string, string>) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n`;

const docs = (out: string): Obj[] => parseAllDocuments(out).map((d) => d.toJS() as Obj);
const workload = (out: string): Obj => docs(out).find((d) => d.kind !== 'Namespace')!;
const template = (out: string): Obj => workload(out).spec.template;
const names = (t: Obj): string[] => [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])].map((c: Obj) => c.name);
const overrides = (t: Obj): Obj | undefined => (t.metadata.annotations?.['proxy.istio.io/overrides'] ? JSON.parse(t.metadata.annotations['proxy.istio.io/overrides']) : undefined);

/** No istio-proxy of any kind, no overrides annotation; the app delay and a grace period that covers it stay. */
function expectNotMeshedOutput(out: string): void {
  const t = template(out);
  expect(names(t)).not.toContain('istio-proxy');
  expect(overrides(t)).toBeUndefined();
  expect(t.metadata.annotations?.['inject.istio.io/templates']).toBeUndefined();
  expect(t.spec.containers[0].lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
  expect(t.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(32);
}

describe('no stray stubs: where the input shows injection will not happen, no istio-proxy carrier at all', () => {
  it('a Namespace labelled istio.io/dataplane-mode: ambient in the same stream', () => {
    const r = injectText(`${namespace('mesh', { 'istio.io/dataplane-mode': 'ambient' })}---\n${deployment({ ns: 'mesh' })}`, 'a.yaml');
    expectNotMeshedOutput(r.output);
    expect(r.modes.map((m) => m.mode)).toEqual(['ambient']);
  });
  it('a Namespace without injection in the same stream (and one with istio-injection=disabled)', () => {
    for (const labels of [{}, { 'istio-injection': 'disabled' }] as Record<string, string>[]) {
      const r = injectText(`${namespace('plain', labels)}---\n${deployment({ ns: 'plain' })}`, 'n.yaml');
      expectNotMeshedOutput(r.output);
      expect(r.modes[0]).toMatchObject({ mode: 'none', reason: expect.stringContaining('Namespace plain (n.yaml:4)') });
    }
  });
  it('the Namespace may come from another input of the run (opts.namespaces, as the CLI passes them)', () => {
    const r = injectText(deployment({ ns: 'plain' }), 'd.yaml', { namespaces: new Map([['plain', { name: 'plain', labels: {}, where: 'ns.yaml:4' }]]) });
    expectNotMeshedOutput(r.output);
  });
  it('a hostNetwork pod (a node-exporter DaemonSet) and a pod in a namespace Istio never injects', () => {
    expectNotMeshedOutput(injectText(deployment({ hostNetwork: true }), 'h.yaml').output);
    expectNotMeshedOutput(injectText(deployment({ ns: 'kube-system' }), 'k.yaml').output);
  });
  it('a pod labelled ambient whose namespace is unknown', () => {
    const r = injectText(deployment({ ns: 'somewhere', labels: { 'istio.io/dataplane-mode': 'ambient' } }), 'p.yaml');
    expectNotMeshedOutput(r.output);
    expect(r.modes[0]!.mode).toBe('ambient');
  });
  it("a gateway-injected pod's istio-proxy is left exactly as written, with no app hold", () => {
    const gw = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingress
spec:
  template:
    metadata:
      annotations:
        inject.istio.io/templates: gateway
      labels:
        istio: ingressgateway
        sidecar.istio.io/inject: "true"
    spec:
      containers:
      - name: istio-proxy
        image: auto   # the gateway template fills it in
`;
    const r = injectText(gw, 'gw.yaml');
    expect(r.output).toBe(gw);
    expect(r.changed).toBe(false);
    expect(r.modes[0]).toMatchObject({ mode: 'gateway', wrote: 'nothing: left as written' });
    expect(r.notes.join('\n')).toMatch(/gw\.yaml:\d+:\d+: .*gateway template: the proxy is the workload: istio-proxy left exactly as written/);
  });
  it.each([
    ['the sidecar template (Istio test only-proxy-container.yaml)', '      - name: istio-proxy\n        image: auto\n'],
    ["istioctl's gateway Deployment", '      - name: istio-proxy\n        image: docker.io/istio/proxyv2:1.24.2\n        args: [proxy, router]\n'],
  ])('a pod whose only container is istio-proxy is a gateway, left as written: %s', (_what, proxy) => {
    const src = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ingress\nspec:\n  template:\n    metadata:\n      labels: {istio: ingressgateway}\n    spec:\n      containers:\n${proxy}`;
    const r = injectText(src, 'gw.yaml');
    expect(r.output).toBe(src);
    expect(r.modes[0]).toMatchObject({ mode: 'gateway', reason: 'istio-proxy is its only container: the proxy is the workload' });
  });
  it('a waypoint istiod manages (gateway.istio.io/managed) is left alone, and inject says so', () => {
    const wp = deployment({ labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } });
    const r = injectText(wp, 'wp.yaml');
    expect(r.output).toBe(wp);
    expect(r.notes.join('\n')).toMatch(/istiod manages this Deployment .*left as written/);
  });
});

describe("a user's istio-proxy stub (image: auto) on a pod Istio will not inject: left as written, and said", () => {
  const stub = '      - name: istio-proxy\n        image: auto\n';
  it.each([
    ['an ambient namespace', `${namespace('mesh', { 'istio.io/dataplane-mode': 'ambient' })}---\n${deployment({ ns: 'mesh', extra: stub })}`, /Istio will not inject this pod \(Namespace mesh/],
    ['sidecar.istio.io/inject: "false"', deployment({ annotations: { 'sidecar.istio.io/inject': 'false' }, extra: stub }), /Istio will not inject this pod \(sidecar\.istio\.io\/inject is "false"\)/],
  ])('%s', (_what, src, why) => {
    const r = injectText(src, 's.yaml');
    expect(r.output).toContain(stub);
    const warned = r.notes.filter((n) => n.includes('override stub'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(why);
    expect(warned[0]).toMatch(/warning: istio-proxy is an override stub \(image: auto\).*never start \(ErrImagePull\).*lint: stub-not-injected/);
  });
  it('not where Istio injects the pod (the stub is merged into the sidecar)', () => {
    const r = injectText(`${namespace('mesh', { 'istio-injection': 'enabled' })}---\n${deployment({ ns: 'mesh', extra: stub })}`, 's.yaml');
    expect(r.notes.join('\n')).not.toMatch(/override stub/);
  });
});

describe('injection may or may not happen (unknown): the annotation, safe either way', () => {
  it('carries the classic hold (containers) and the native drain (initContainers), both exec only', () => {
    const t = template(injectText(deployment(), 'd.yaml').output);
    expect(names(t)).toEqual(['web']);
    const o = overrides(t)!;
    const classic = o.containers.find((c: Obj) => c.name === 'istio-proxy');
    const native = o.initContainers.find((c: Obj) => c.name === 'istio-proxy');
    expect(Object.keys(classic.lifecycle.preStop)).toEqual(['exec']);
    expect(Object.keys(native.lifecycle.preStop)).toEqual(['exec']);
    expect(classic.image).toBeUndefined();
    // The app sleeps 5 s; the drain starts 1 s before the app gets SIGTERM (ADR 062).
    expect(native.lifecycle.preStop.exec.command[2]).toMatch(/^#!\/bin\/sh\n# meshdrain native drain.*\nsleep 4\nexec pilot-agent request --debug-port=15020 POST drain\n$/s);
  });
  it('--via override writes no stub when injection is not known, says so, and uses the annotation', () => {
    const r = injectText(deployment(), 'd.yaml', { via: 'override' });
    expect(names(template(r.output))).toEqual(['web']);
    expect(overrides(template(r.output))).toBeDefined();
    expect(r.notes.join('\n')).toMatch(/via override: no istio-proxy stub, because injection is not known to happen \(unknown\)/);
  });
  it('--via override writes the stub where the input shows injection and the sidecar kind', () => {
    const r = injectText(`${namespace('web', { 'istio-injection': 'enabled' })}---\n${deployment({ ns: 'web' })}`, 'd.yaml', { via: 'override', istioVersion: { major: 1, minor: 22 } });
    const proxy = template(r.output).spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    expect(proxy).toMatchObject({ image: 'auto' });
    expect(proxy.lifecycle.preStop.exec.command[2]).toContain('meshdrain');
  });
});

describe('native sidecars: meshdrain replaces Istio immediate drain', () => {
  const nativeCluster = { nativeSidecars: { value: 'true' as const, source: 'test' }, istioVersion: { major: 1, minor: 28 } };
  it('only the initContainers entry, exec only; no classic hold; grace still covers the app', () => {
    const r = injectText(`${namespace('web', { 'istio-injection': 'enabled' })}---\n${deployment({ ns: 'web' })}`, 'd.yaml', nativeCluster);
    const t = template(r.output);
    expect(r.modes[0]!.mode).toBe('native');
    const o = overrides(t)!;
    expect(o.containers).toBeUndefined();
    expect(o.initContainers).toHaveLength(1);
    expect(o.initContainers[0].lifecycle.preStop.exec.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(t.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + 20);
  });
  it('policy proxy.nativeDrain: istio keeps Istio own drain (nothing written for the proxy)', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {nativeDrain: istio}\n', 'p.yaml');
    const t = template(injectText(`${namespace('web', { 'istio-injection': 'enabled' })}---\n${deployment({ ns: 'web' })}`, 'd.yaml', { ...nativeCluster, policy }).output);
    expect(overrides(t)).toBeUndefined();
  });
});

describe("a user's own istio-proxy preStop", () => {
  const own = deployment({ extra: '      - name: istio-proxy\n        image: auto\n        lifecycle:\n          preStop:\n            exec:\n              command: ["sleep", "10"]   # mine\n' });
  it('is kept by default, and inject says so', () => {
    const r = injectText(own, 'o.yaml');
    expect(r.output).toContain('command: ["sleep", "10"]   # mine');
    expect(overrides(template(r.output))).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/istio-proxy already has a preStop of yours: kept/);
  });
  it('is replaced when the policy says so, and inject says that too', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {replaceUserPreStop: true}\n', 'p.yaml');
    const r = injectText(own, 'o.yaml', { policy });
    const proxy = template(r.output).spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    expect(proxy.lifecycle.preStop.exec.command[2]).toContain('meshdrain');
    expect(r.notes.join('\n')).toMatch(/own preStop replaced by meshdrain's/);
    // The user's trailing comment stays on the command key, not stranded inside the generated script.
    expect(proxy.lifecycle.preStop.exec.command[2]).not.toContain('# mine');
    expect(r.output).toMatch(/\n {14}command: {3}# mine\n/);
  });
});

describe('Kubernetes before 1.30: no preStop sleep action', () => {
  it('without a shell in the policy: no delay is written, said plainly', () => {
    const r = injectText(deployment(), 'd.yaml', { kubeVersion: { major: 1, minor: 28 } });
    expect(template(r.output).spec.containers[0].lifecycle).toBeUndefined();
    expect(r.output).not.toMatch(/\bsleep:\n/);
    expect(r.notes.join('\n')).toMatch(/no app delay can be written for web: Kubernetes 1\.28 has no preStop sleep action/);
  });
  it('with app.shell: true and a fixed delay: an exec sleep', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {shell: true, delay: 6s}\n', 'p.yaml');
    const t = template(injectText(deployment(), 'd.yaml', { policy, kubeVersion: { major: 1, minor: 29 } }).output);
    expect(t.spec.containers[0].lifecycle.preStop).toEqual({ exec: { command: ['/bin/sh', '-c', 'sleep 6'] } });
  });
});

describe("a hold timeout fixed shorter than the app's shutdown is said", () => {
  const p = (yaml: string) => loadPolicy(`apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n${yaml}`, 'p.yaml');
  it.each([
    // meshdrain's default hold asks for the drain at its start: pilot-agent then exits at SIGTERM (ADR 016).
    ['proxy.timeout', p('  app: {shutdown: 45s}\n  proxy: {timeout: 10s}\n'), {}, /hold gives up after 10s \(proxy\.timeout\), having asked for the drain at its start: 10s, less than the app's 5s delay \+ ~45s shutdown/],
    ['proxy.timeout, a hold that does not drain at start', p('  app: {shutdown: 45s}\n  proxy: {timeout: 10s, waitFor: [app-listeners]}\n'), {}, /hold gives up after 10s \(proxy\.timeout\) and drains 5s: 15s, less than/],
    ['the template', p('  app: {shutdown: 45s}\n'), { via: 'template' as const }, /hold gives up after 28s \(the injection template's timeout\), having asked for the drain at its start: 28s, less than the app's 5s delay \+ ~45s shutdown .*raise template\.timeout/],
  ])('%s', (_, policy, opts, note) => {
    expect(injectText(deployment(), 'd.yaml', { ...(policy ? { policy } : {}), ...opts }).notes.join('\n')).toMatch(note);
  });
  it('not when the timeout follows the grace period (the default), nor a template whose timeout covers the app', () => {
    expect(injectText(deployment(), 'd.yaml', { policy: p('  app: {shutdown: 45s}\n') }).notes.join('\n')).not.toMatch(/hold gives up/);
    // The template's default timeout (28 s, ADR 086) covers the default app estimate (5 + 20 s and the linger).
    expect(injectText(deployment(), 'd.yaml', { via: 'template' }).notes.join('\n')).not.toMatch(/hold gives up/);
    const covering = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ntemplate: {timeout: 30s}\n', 'p.yaml');
    expect(injectText(deployment(), 'd.yaml', { policy: covering, via: 'template' }).notes.join('\n')).not.toMatch(/hold gives up/);
  });
});

describe('a Job where no native sidecar can be had', () => {
  const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    metadata:\n      labels: {sidecar.istio.io/inject: "true"}\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: task\n        image: busybox\n';
  it.each([
    [{ major: 1, minor: 28 }, { major: 1, minor: 24 }],
    [{ major: 1, minor: 30 }, { major: 1, minor: 18 }],
  ])('Kubernetes %j, Istio %j: no inert nativeSidecar annotation; stderr says the Job will not complete and what to do', (kubeVersion, istioVersion) => {
    const r = injectText(job, 'j.yaml', { kubeVersion, istioVersion });
    expect(r.output).not.toContain('sidecar.istio.io/nativeSidecar');
    expect(r.notes.join('\n')).toMatch(/a classic istio-proxy keeps this Job's pods from completing, and no native sidecar can be asked for here \(.+\): sidecar\.istio\.io\/nativeSidecar not written; end the Job's command with `pilot-agent request POST quitquitquit`/);
  });
  it('where the versions allow it, or are not known, the annotation is written as before', () => {
    expect(injectText(job, 'j.yaml', { kubeVersion: { major: 1, minor: 30 }, istioVersion: { major: 1, minor: 24 } }).output).toContain('sidecar.istio.io/nativeSidecar: "true"');
    expect(injectText(job, 'j.yaml').output).toContain('sidecar.istio.io/nativeSidecar: "true"');
  });
});

describe('via template on a native pod: the custom template carries the native drain inject writes', () => {
  const native = deployment({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/nativeSidecar': 'true' } });
  const templateNative = (policy: ReturnType<typeof loadPolicy> | undefined) =>
    templateNativeDrainCommand({ nativeDrain: templateNativeDrain(policy ?? null), shellImage: policy?.template?.shellImage });
  const annotationDrain = (t: Obj) => overrides(t)?.initContainers?.find((c: Obj) => c.name === 'istio-proxy')?.lifecycle.preStop.exec.command;

  it('the same drain as via annotation: the template annotation only, no overrides', () => {
    const viaAnnotation = template(injectText(native, 'n.yaml').output);
    const r = injectText(native, 'n.yaml', { via: 'template' });
    const t = template(r.output);
    expect(t.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,meshdrain');
    expect(overrides(t)).toBeUndefined();
    // What the template renders for native pods is exactly what via annotation puts in the overrides.
    expect(templateNative(undefined)).toEqual(annotationDrain(viaAnnotation));
    expect(annotationDrain(viaAnnotation)[2]).toContain('sleep 4\nexec pilot-agent request --debug-port=15020 POST drain');
    expect(r.modes[0]!.wrote).toMatch(/the native drain \(the custom injection template\)/);
  });

  it("the policy's app delay reaches the template too (one derivation): 10s → drain at 9s", () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 10s}\n', 'p.yaml');
    expect(templateNative(policy)![2]).toContain('sleep 9\n');
    const t = template(injectText(native, 'n.yaml', { via: 'template', policy }).output);
    expect(overrides(t)).toBeUndefined();
  });

  it("a pod whose drain differs from the template's (a rule for this workload) gets it in the annotation, which istiod applies after the template", () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\nrules:\n- match: {names: [web]}\n  app: {delay: 12s}\n', 'p.yaml');
    const r = injectText(native, 'n.yaml', { via: 'template', policy });
    const t = template(r.output);
    expect(t.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,meshdrain');
    expect(annotationDrain(t)[2]).toContain('sleep 11\n');
    expect(templateNative(policy)![2]).toContain('sleep 4\n');
    expect(r.modes[0]!.wrote).toMatch(/the native drain \(the proxy\.istio\.io\/overrides annotation: the template's differs\)/);
  });

  it('proxy.nativeDrain: istio: neither the template nor the annotation carries a drain', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {nativeDrain: istio}\n', 'p.yaml');
    expect(templateNativeDrain(policy)).toBeNull();
    const t = template(injectText(native, 'n.yaml', { via: 'template', policy }).output);
    expect(overrides(t)).toBeUndefined();
  });
});

describe("--mesh-config: the injector's policy and enableNamespacesByDefault (injectRequired, pkg/kube/inject/inject.go:201-290)", () => {
  const REAL = 'fixtures/istio/injector/istio-sidecar-injector-configmap.yaml';
  const real = readFileSync(REAL, 'utf8');
  const ctxOf = (file: string, text: string) => {
    const mesh = readMeshSettings([{ file, text }]);
    return { mesh, ctx: shutdownContextOf(runVersions({}, mesh), mesh) };
  };

  it("reads the real injector ConfigMap's data.config policy (enabled) with where it came from", () => {
    const { mesh, ctx } = ctxOf(REAL, real);
    expect(mesh.injectionPolicy?.value).toBe('enabled');
    expect(mesh.injectionPolicy?.source).toBe('ConfigMap istio-sidecar-injector config policy');
    expect(ctx.injectionPolicy).toBe('enabled');
    // enabled is injectRequired's default: a pod the input cannot place stays unknown (both carriers).
    expect(injectText(deployment(), 'd.yaml', ctx).modes[0]!.mode).toBe('unknown');
  });

  it('policy: disabled → only pods that ask are injected: no proxy settings for the others, app delay kept', () => {
    expect(real).toContain('\n    policy: enabled\n');
    const { ctx } = ctxOf('disabled.yaml', real.replace('\n    policy: enabled\n', '\n    policy: disabled\n'));
    expect(ctx.injectionPolicy).toBe('disabled');
    const r = injectText(deployment(), 'd.yaml', ctx);
    expect(r.modes[0]!.mode).toBe('none');
    expect(r.modes[0]!.reason).toMatch(/policy is disabled/);
    const t = template(r.output);
    expect(overrides(t)).toBeUndefined();
    expect(t.spec.containers[0].lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
    // A pod that asks (sidecar.istio.io/inject label) is still injected.
    const asks = injectText(deployment({ labels: { 'sidecar.istio.io/inject': 'true' } }), 'd.yaml', ctx);
    expect(asks.modes[0]!.mode).not.toBe('none');
    expect(overrides(template(asks.output))).toBeDefined();
  });

  it('enableNamespacesByDefault from Helm values: a Namespace without injection labels is injected', () => {
    const stream = namespace('shop', {}) + '---\n' + deployment({ ns: 'shop' });
    expect(injectText(stream, 's.yaml').modes[0]!.mode).toBe('none');
    const { mesh, ctx } = ctxOf('values.yaml', 'sidecarInjectorWebhook:\n  enableNamespacesByDefault: true\n');
    expect(mesh.enableNamespacesByDefault?.value).toBe(true);
    const r = injectText(stream, 's.yaml', ctx);
    expect(r.modes[0]!.reason).toMatch(/enableNamespacesByDefault is on/);
    expect(overrides(template(r.output))).toBeDefined();
  });

  it("the real Istio 1.5 injector's values say enableNamespacesByDefault: false, and the config's policy wins over values' autoInject", () => {
    const v15 = readFileSync('fixtures/istio/injector/istio-1.5.10-sidecar-injector-configmap.yaml', 'utf8');
    const { mesh } = ctxOf('v15.yaml', v15.replace('"autoInject": "enabled"', '"autoInject": "disabled"'));
    expect(mesh.enableNamespacesByDefault?.value).toBe(false);
    expect(mesh.injectionPolicy?.value).toBe('enabled');
  });
});

describe('--explain names the carrier inject really wrote to (one placement decision)', () => {
  it("an injected native istio-proxy: the drain goes on the pod's own istio-proxy entry, not the annotation", () => {
    const text = readFileSync(new URL('../../fixtures/inject/real/istio-inject-hello.injected.yaml', import.meta.url), 'utf8');
    const r = injectText(text, 'h.yaml');
    const t = template(r.output);
    expect(overrides(t)).toBeUndefined();
    const own = t.spec.initContainers.find((c: Obj) => c.name === 'istio-proxy');
    expect(own.lifecycle.preStop.exec.command).toBeDefined();
    expect(r.modes[0]!.wrote).toMatch(/^the native drain \(the pod's own istio-proxy entry\); /);
    expect(r.modes[0]!.wrote).not.toMatch(/annotation/);
  });

  it('an unknown mode: both settings in the annotation, each named', () => {
    const r = injectText(deployment(), 'd.yaml');
    expect(r.modes[0]!.wrote).toMatch(/^the classic hold \(the proxy\.istio\.io\/overrides annotation\); the native drain \(the proxy\.istio\.io\/overrides annotation\); /);
  });
});
