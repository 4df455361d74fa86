import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyMode, sidecarKind, type ModeContext, type NamespaceEvidence } from '../../src/mesh/mode.js';
import { scanNamespaces } from '../../src/mesh/namespaces.js';
import { getPath, podTemplateSites, type PodTemplate } from '../../src/model/workload.js';
import { loadDocuments } from '../../src/yaml/load.js';

const v = (s: string) => ({ major: Number(s.split('.')[0]), minor: Number(s.split('.')[1]) });
const ns = (name: string, labels: Record<string, string>): [string, NamespaceEvidence] => [name, { name, labels, where: 'ns.yaml:1' }];
const nsCtx = (...list: [string, NamespaceEvidence][]): ModeContext => ({ namespaces: new Map(list), istioVersion: v('1.26') });
const pod = (meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}, spec: Record<string, unknown> = {}): PodTemplate => ({
  metadata: meta,
  spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
});

/** The pod template of the first workload in an Istio test input. */
function istioInput(file: string): PodTemplate {
  const loaded = loadDocuments(readFileSync(`fixtures/istio/injected/${file}`, 'utf8'), file);
  const value = loaded.docs[0]!.value;
  return getPath(value, podTemplateSites(value)[0]!.templatePath) as PodTemplate;
}

describe('injectRequired (pkg/kube/inject/webhook_test.go cases, with the webhook reaching the pod)', () => {
  const enabled = nsCtx(ns('test-namespace', { 'istio-injection': 'enabled' }));
  const cases: [string, PodTemplate, ModeContext, boolean][] = [
    ['no-policy', pod(), enabled, true],
    ['force-on-policy', pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), enabled, true],
    ['force-off-policy', pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), enabled, false],
    ['policy disabled, no annotation', pod(), { ...enabled, injectionPolicy: 'disabled' }, false],
    ['policy disabled, force-on', pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), { ...enabled, injectionPolicy: 'disabled' }, true],
    ['host network', pod({}, { hostNetwork: true }), enabled, false],
    // "The label is the new API; if both are present we prefer the label"
    ['label false beats annotation true', pod({ labels: { 'sidecar.istio.io/inject': 'false' }, annotations: { 'sidecar.istio.io/inject': 'true' } }), enabled, false],
  ];
  for (const [name, p, ctx, want] of cases) {
    it(name, () => {
      const d = classifyMode({ pod: p, namespace: 'test-namespace' }, ctx);
      expect(d.injection).toBe(want ? 'yes' : 'no');
      expect(d.mode === 'none').toBe(!want);
    });
  }
  for (const system of ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']) {
    it(`never injects ${system} (IgnoredNamespaces)`, () => {
      const d = classifyMode({ pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), namespace: system }, nsCtx(ns(system, { 'istio-injection': 'enabled' })));
      expect(d).toMatchObject({ mode: 'none', injection: 'no' });
      expect(d.reason).toContain('IgnoredNamespaces');
    });
  }
  it('Istio\'s own hello-host-network input gets no sidecar (its .injected has no istio-proxy)', () => {
    expect(classifyMode({ pod: istioInput('hello-host-network.yaml') }, {}).mode).toBe('none');
  });
});

describe('webhook selectors (mutatingwebhook.yaml)', () => {
  const at = (p: PodTemplate, ...list: [string, NamespaceEvidence][]) => classifyMode({ pod: p, namespace: 'web' }, nsCtx(...list));
  it('istio-injection=enabled: namespace. webhook', () => expect(at(pod(), ns('web', { 'istio-injection': 'enabled' })).injection).toBe('yes'));
  it('istio-injection=disabled keeps every webhook away, even from a pod that asks', () => {
    expect(at(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns('web', { 'istio-injection': 'disabled' })).injection).toBe('no');
  });
  it('istio.io/rev on the namespace: rev.namespace. webhook', () => expect(at(pod(), ns('web', { 'istio.io/rev': 'canary' })).injection).toBe('yes'));
  it('unlabelled namespace: only a pod label sidecar.istio.io/inject=true or istio.io/rev reaches the injector', () => {
    expect(at(pod(), ns('web', {})).injection).toBe('no');
    expect(at(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns('web', {})).injection).toBe('yes');
    expect(at(pod({ labels: { 'istio.io/rev': 'canary' } }), ns('web', {})).injection).toBe('yes');
    // The object selector matches labels: an annotation alone never reaches the webhook.
    expect(at(pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), ns('web', {})).injection).toBe('no');
  });
  it('enableNamespacesByDefault: the auto. webhook takes unlabelled namespaces', () => {
    const d = classifyMode({ pod: pod(), namespace: 'web' }, { ...nsCtx(ns('web', {})), enableNamespacesByDefault: true });
    expect(d.injection).toBe('yes');
  });
  it('no Namespace object: maybe, unless the pod label selects the injector', () => {
    expect(classifyMode({ pod: pod(), namespace: 'web' }, {})).toMatchObject({ mode: 'unknown', injection: 'maybe' });
    expect(classifyMode({ pod: pod() }, {}).reason).toContain('names no namespace');
    expect(classifyMode({ pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), namespace: 'web' }, { istioVersion: v('1.22') })).toMatchObject({ mode: 'classic', injection: 'yes' });
  });
});

describe('ambient (cni enablement selectors; a sidecar wins: podHasSidecar)', () => {
  it('a Namespace labelled ambient without injection: ambient', () => {
    const d = classifyMode({ pod: pod(), namespace: 'mesh' }, nsCtx(ns('mesh', { 'istio.io/dataplane-mode': 'ambient' })));
    expect(d).toMatchObject({ mode: 'ambient', injection: 'no' });
  });
  it('a pod opting out with dataplane-mode=none in an ambient namespace: not meshed', () => {
    const d = classifyMode({ pod: pod({ labels: { 'istio.io/dataplane-mode': 'none' } }), namespace: 'mesh' }, nsCtx(ns('mesh', { 'istio.io/dataplane-mode': 'ambient' })));
    expect(d.mode).toBe('none');
  });
  it('ambient namespace that also injects: the sidecar wins', () => {
    const d = classifyMode({ pod: pod(), namespace: 'mesh' }, nsCtx(ns('mesh', { 'istio.io/dataplane-mode': 'ambient', 'istio-injection': 'enabled' })));
    expect(d.mode).toBe('classic');
  });
  it('a pod labelled ambient whose namespace is unknown: ambient', () => {
    expect(classifyMode({ pod: pod({ labels: { 'istio.io/dataplane-mode': 'ambient' } }), namespace: 'x' }, {}).mode).toBe('ambient');
  });
  it('hostNetwork is never captured by ambient either', () => {
    expect(classifyMode({ pod: pod({ labels: { 'istio.io/dataplane-mode': 'ambient' } }, { hostNetwork: true }) }, {}).mode).toBe('none');
  });
});

describe('gateways and already-injected pods', () => {
  it("Istio's gateway test input is a gateway", () => {
    expect(classifyMode({ pod: istioInput('gateway.yaml') }, {})).toMatchObject({ mode: 'gateway' });
  });
  it('istiod-managed waypoints are left to istiod', () => {
    const d = classifyMode({ pod: pod({ labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } }) }, {});
    expect(d).toMatchObject({ mode: 'gateway', managed: true });
  });
  it("Istio's native output (native-sidecar.yaml.injected) is native; its opt-out output is classic", () => {
    const text = readFileSync('fixtures/istio/injected/native-sidecar.yaml.injected', 'utf8');
    expect(classifyMode({ pod: loadDocuments(text, 'n').docs[0]!.value as PodTemplate }, {}).mode).toBe('native');
    const optOut = loadDocuments(readFileSync('fixtures/istio/injected/native-sidecar-opt-out.yaml.injected', 'utf8'), 'o').docs[0]!.value;
    expect(classifyMode({ pod: optOut as PodTemplate }, {}).mode).toBe('classic');
  });
  it('an istio-proxy stub (image: auto) is not an injected proxy', () => {
    const p = pod({}, { containers: [{ name: 'app', image: 'a' }, { name: 'istio-proxy', image: 'auto' }] });
    expect(classifyMode({ pod: p, namespace: 'web' }, {}).mode).toBe('unknown');
  });
});

describe('native or classic (template $nativeSidecar, DetectNativeSidecar)', () => {
  it('the annotation decides from Istio 1.24 on, and is ignored before', () => {
    expect(sidecarKind({ 'sidecar.istio.io/nativeSidecar': 'true' }, { istioVersion: v('1.24') }).kind).toBe('native');
    const old = sidecarKind({ 'sidecar.istio.io/nativeSidecar': 'true' }, { istioVersion: v('1.23') });
    expect(old.kind).toBe('classic');
    expect(old.why).toContain('ignored before Istio 1.24');
    expect(sidecarKind({ 'sidecar.istio.io/nativeSidecar': 'false' }, { nativeSidecars: 'true' }).kind).toBe('classic');
  });
  it('ENABLE_NATIVE_SIDECARS: true/false as set; auto by the kubelet (1.33)', () => {
    expect(sidecarKind({}, { nativeSidecars: 'true' }).kind).toBe('native');
    expect(sidecarKind({}, { nativeSidecars: 'false', kubeVersion: v('1.34') }).kind).toBe('classic');
    expect(sidecarKind({}, { nativeSidecars: 'auto', kubeVersion: v('1.33') }).kind).toBe('native');
    expect(sidecarKind({}, { nativeSidecars: 'auto', kubeVersion: v('1.32') }).kind).toBe('classic');
    expect(sidecarKind({}, { nativeSidecars: 'auto' }).kind).toBe('either');
  });
  it("the default follows Istio's version: false before 1.27, auto from it", () => {
    expect(sidecarKind({}, { istioVersion: v('1.26'), kubeVersion: v('1.34') }).kind).toBe('classic');
    expect(sidecarKind({}, { istioVersion: v('1.27'), kubeVersion: v('1.34') }).kind).toBe('native');
    expect(sidecarKind({}, { istioVersion: v('1.27') }).kind).toBe('either');
    expect(sidecarKind({}, { kubeVersion: v('1.30') }).kind).toBe('classic');
    // The reason reads as one sentence (it said "… defaults to false in Istio 1.24 is false").
    expect(sidecarKind({}, { istioVersion: v('1.24'), kubeVersion: v('1.31') }).why).toBe("ENABLE_NATIVE_SIDECARS, Istio 1.24's default, is false");
    expect(sidecarKind({}, { istioVersion: v('1.27'), kubeVersion: v('1.34') }).why).toBe("ENABLE_NATIVE_SIDECARS, Istio 1.27's default, is auto and the kubelet is 1.34 (native from 1.33)");
    expect(sidecarKind({}, {}).kind).toBe('either');
  });
  it('an injected pod whose kind is not known is unknown, with both reasons', () => {
    const d = classifyMode({ pod: pod(), namespace: 'web' }, { namespaces: new Map([ns('web', { 'istio-injection': 'enabled' })]) });
    expect(d).toMatchObject({ mode: 'unknown', injection: 'yes', sidecar: 'either' });
  });
});

describe('Namespace evidence from the input stream', () => {
  it('reads Namespaces (also in a List) with where they are, and skips texts without one unparsed', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: web\n    labels: {istio-injection: enabled}\n';
    const found = scanNamespaces([{ file: 'a.yaml', text }, { file: 'b.yaml', text: 'kind: Deployment\n: : not yaml [' }]);
    expect([...found.values()]).toEqual([{ name: 'web', labels: { 'istio-injection': 'enabled' }, where: 'a.yaml:7' }]);
  });
});
