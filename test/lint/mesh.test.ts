/** Mesh-settings readers: every source format, real injector ConfigMaps, precedence and positions. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { lint } from '../../src/lint/engine.js';
import { emptyMesh, readMeshDocuments } from '../../src/lint/mesh.js';
import { loadDocuments } from '../../src/yaml/load.js';
import { FIX } from './helpers.js';

function read(rel: string) {
  const file = `${FIX}${rel}`;
  const text = readFileSync(file, 'utf8');
  const mesh = emptyMesh();
  const n = readMeshDocuments(loadDocuments(text, file), mesh);
  return { mesh, n, text, lines: text.split('\n') };
}
const lineOf = (lines: string[], at: { line: number; column: number }) => lines[at.line - 1]!.slice(at.column - 1);

describe('mesh settings readers', () => {
  it("defaultTemplates: the injector ConfigMap's data.config wins over values, an empty list is Istio's [sidecar], positions kept", () => {
    const mesh = emptyMesh();
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector}\ndata:\n  config: |\n    policy: enabled\n    defaultTemplates: [sidecar, spire]\n  values: |\n    sidecarInjectorWebhook:\n      defaultTemplates: [sidecar]\n';
    readMeshDocuments(loadDocuments(cm, 'cm.yaml'), mesh);
    expect(mesh.defaultTemplates?.value).toEqual(['sidecar', 'spire']);
    expect(mesh.defaultTemplates?.source).toBe('ConfigMap istio-sidecar-injector config defaultTemplates');
    expect(cm.split('\n')[mesh.defaultTemplates!.at.line - 1]!.slice(mesh.defaultTemplates!.at.column - 1)).toMatch(/^\[sidecar, spire\]/);
    const empty = emptyMesh();
    readMeshDocuments(loadDocuments('sidecarInjectorWebhook:\n  defaultTemplates: []\n', 'values.yaml'), empty);
    expect(empty.defaultTemplates).toBeUndefined();
    const values = emptyMesh();
    readMeshDocuments(loadDocuments('sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, meshdrain]\n', 'values.yaml'), values);
    expect(values.defaultTemplates?.value).toEqual(['sidecar', 'meshdrain']);
  });
  it('IstioOperator: meshConfig.defaultConfig, proxyMetadata, pilot env, tag — with positions', () => {
    const { mesh, n, lines } = read('mesh/istio-operator-exit-on-zero.yaml');
    expect(n).toBe(1);
    expect(mesh.defaultConfig.terminationDrainMs?.value).toBe(15_000);
    expect(lineOf(lines, mesh.defaultConfig.terminationDrainMs!.at)).toMatch(/^terminationDrainDuration: 15s/);
    expect(mesh.defaultConfig.exitOnZero?.value).toBe(true);
    expect(lineOf(lines, mesh.defaultConfig.exitOnZero!.at)).toMatch(/^EXIT_ON_ZERO_ACTIVE_CONNECTIONS/);
    expect(mesh.defaultConfig.minimumDrainMs?.value).toBe(8000);
    expect(mesh.nativeSidecars?.value).toBe('false');
    expect(mesh.istioVersion?.value).toEqual({ major: 1, minor: 24 });
  });
  it('Helm values: variant, native sidecars, drain, tag', () => {
    const { mesh } = read('mesh/helm-values-distroless.yaml');
    expect(mesh.variant?.value).toBe('distroless');
    expect(mesh.nativeSidecars?.value).toBe('true');
    expect(mesh.defaultConfig.terminationDrainMs?.value).toBe(10_000);
    expect(mesh.istioVersion?.value).toEqual({ major: 1, minor: 26 });
  });
  it('an unquoted tag (YAML reads 1.20 as 1.2) is refused at its line:col with the quoted form, in every source format', () => {
    const cases: [string, string, RegExp][] = [
      ['values.yaml', 'global:\n  tag: 1.20\n', /^Helm values global\.tag: 1\.20 is a number in YAML \(read as 1\.2\), not a version: quote it, "1\.20"$/],
      ['iop.yaml', 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  tag: 1.30\n', /^IstioOperator spec\.tag: 1\.30 is a number in YAML \(read as 1\.3\), not a version: quote it, "1\.30"$/],
      ['cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector}\ndata:\n  values: |-\n    global:\n      tag: 1.20\n', /^ConfigMap istio-sidecar-injector values global\.tag: 1\.20 is a number in YAML/],
    ];
    for (const [file, text, msg] of cases) {
      let err: unknown;
      try {
        readMeshDocuments(loadDocuments(text, file), emptyMesh());
      } catch (e) {
        err = e;
      }
      expect(err, file).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(msg);
      const line = text.split('\n').findIndex((l) => /tag: 1\.[23]0/.test(l)) + 1;
      expect((err as InputError).pos, file).toMatchObject({ file, line });
    }
    // Quoted, it is the version.
    const quoted = emptyMesh();
    readMeshDocuments(loadDocuments('global:\n  tag: "1.20"\n', 'v.yaml'), quoted);
    expect(quoted.istioVersion?.value).toEqual({ major: 1, minor: 20 });
  });
  it('the istio mesh ConfigMap: defaultConfig inside data.mesh, located on its own line', () => {
    const { mesh, lines } = read('mesh/mesh-configmap-long-drain.yaml');
    expect(mesh.defaultConfig.terminationDrainMs?.value).toBe(60_000);
    expect(lineOf(lines, mesh.defaultConfig.terminationDrainMs!.at)).toBe('terminationDrainDuration: 60s');
  });
  it('the injector ConfigMap values JSON: global.proxy.lifecycle preStop and tag, located inside the JSON', () => {
    const { mesh, lines } = read('mesh/injector-values-lifecycle.yaml');
    expect(mesh.lifecyclePreStop?.value[0]).toBe('/bin/sh');
    expect(lineOf(lines, mesh.lifecyclePreStop!.at)).toMatch(/^\{/);
    expect(mesh.istioVersion?.value).toEqual({ major: 1, minor: 22 });
  });
  it('real injector ConfigMaps (Istio 1.3.1, 1.5.10, current) are recognised', () => {
    const modern = read('real/istio-modern/istio-sidecar-injector-configmap.yaml');
    expect(modern.n).toBe(2); // data.config and data.values
    expect(modern.mesh.injectorPatched?.value).toBe(false);
    expect([...modern.mesh.templates.keys()]).toEqual(['sidecar']);
    expect(modern.mesh.istioVersion?.value).toEqual({ major: 1, minor: 30 });
    expect(modern.mesh.lifecyclePreStop).toBeUndefined(); // "lifecycle": {}
    const v131 = read('real/istio-legacy/istio-1.3.1-sidecar-injector-configmap-kubectl-dump.yaml');
    expect(v131.n).toBe(2);
    expect(v131.mesh.injectorPatched?.value).toBe(false);
    expect(v131.mesh.istioVersion?.value).toEqual({ major: 1, minor: 3 });
    const v15 = read('real/istio-legacy/istio-1.5.10-sidecar-injector-configmap.yaml');
    expect(v15.n).toBe(2);
    expect(v15.mesh.injectorPatched?.value).toBe(false);
  });
  it('a file with no mesh settings is refused as --mesh-config, with file:line:col', () => {
    const text = readFileSync(`${FIX}mesh/not-mesh.yaml`, 'utf8');
    try {
      lint([], [{ file: 'not-mesh.yaml', text }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).format()).toMatch(/^not-mesh\.yaml:1:1: no mesh settings found/);
    }
  });
  it('bad JSON in the injector values is an input error inside the value', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-sidecar-injector}\ndata:\n  values: |-\n    {\n      "global": {\n        "tag": \n    }\n';
    expect(() => lint([], [{ file: 'inj.yaml', text }])).toThrow(InputError);
  });
});

describe('precedence: mesh default < pod annotation < istio-proxy env', () => {
  const pod = (ann: string, env = '') => `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    proxy.istio.io/config: '${ann}'
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: app
    image: a
    lifecycle: {preStop: {sleep: {seconds: 3}}}
  - name: istio-proxy
    image: auto
${env}`;
  const meshText = readFileSync(`${FIX}mesh/mesh-configmap-long-drain.yaml`, 'utf8');
  const rules = (text: string) => lint([{ file: 'p.yaml', text }], [{ file: 'm.yaml', text: meshText }]).findings;

  it('the mesh default (60s) alone exceeds the 20s grace period and points at the pod', () => {
    const f = rules(pod('{}')).filter((x) => x.rule === 'drain-exceeds-grace');
    expect(f).toHaveLength(1);
    expect(f[0]!.file).toBe('p.yaml');
    expect(f[0]!.message).toMatch(/60s .*m\.yaml:\d+/);
  });
  it('the pod annotation overrides the mesh default', () => {
    expect(rules(pod('{"terminationDrainDuration": "5s"}')).filter((x) => x.rule === 'drain-exceeds-grace')).toEqual([]);
  });
  it('istio-proxy env EXIT_ON_ZERO_ACTIVE_CONNECTIONS wins and makes the drain duration ignored', () => {
    const env = '    env:\n    - name: EXIT_ON_ZERO_ACTIVE_CONNECTIONS\n      value: "true"\n';
    const f = rules(pod('{"terminationDrainDuration": "5s"}', env));
    expect(f.map((x) => x.rule)).toContain('drain-duration-ignored');
    expect(f.map((x) => x.rule)).not.toContain('drain-exceeds-grace');
  });
});

describe('holds delivered by the injector', () => {
  it("reads the preStop out of meshdrain's generated injection template (Go template and all)", async () => {
    const { templatePreStop } = await import('../../src/lint/mesh.js');
    const { analyzeHook } = await import('../../src/analysis/analyze.js');
    const { mesh } = read('mesh/meshdrain-template-values.yaml');
    const t = mesh.templates.get('meshdrain');
    expect(t).toBeDefined();
    const argv = templatePreStop(t!.value);
    expect(Array.isArray(argv)).toBe(true);
    expect((argv as string[]).slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const a = analyzeHook(argv as string[]);
    expect(a.maxHoldMs).toBeGreaterThan(0);
    expect(a.fragile).toEqual([]);
  });
  it('template text forms: flow list, block list, none, unreadable', async () => {
    const { templatePreStop } = await import('../../src/lint/mesh.js');
    expect(templatePreStop('spec:\n  containers:\n  - name: istio-proxy\n    lifecycle:\n      preStop:\n        exec:\n          command: ["sleep", "5"]\n')).toEqual(['sleep', '5']);
    expect(templatePreStop('      preStop:\n        exec:\n          command:\n          - /bin/sh\n          - "-c"\n          - \'sleep 5\'\n')).toEqual(['/bin/sh', '-c', 'sleep 5']);
    expect(templatePreStop('spec: {}\n')).toBeNull();
    expect(templatePreStop('      preStop:\n        exec:\n          command:\n          {{- range .Values.cmd }}\n')).toBe('opaque');
  });
});
