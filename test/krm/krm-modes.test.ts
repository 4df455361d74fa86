/**
 * The KRM door takes inject's run context as plain inject does: --kube-version, --istio-version,
 * --mesh-config, and the versions in a ConfigMap functionConfig (kpt `-- kube-version=1.33`); lint's
 * validator takes --mesh-config too. Each run is compared with plain inject on the same items.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cli, ROOT } from '../helpers/cli.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ITEM = `- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'web.yaml'
  spec:
    template:
      metadata:
        labels: {app: web, sidecar.istio.io/inject: "true"}
      spec:
        containers:
        - name: web
          image: web:1
`;
const list = (fc = '') => `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${ITEM}${fc}`;
const stream = parse(list()).items.map((i: Obj) => JSON.stringify(i)).join('\n---\n');
const podOf = (item: Obj) => item.spec.template;
const overrides = (item: Obj) => JSON.parse(podOf(item).metadata.annotations['proxy.istio.io/overrides'] ?? 'null');

const dir = mkdtempSync(join(tmpdir(), 'meshdrain-krm-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const REAL = readFileSync(`${ROOT}fixtures/istio/injector/istio-sidecar-injector-configmap.yaml`, 'utf8');

describe('meshdrain inject as a KRM function takes the run context', () => {
  it('--istio-version and --kube-version: a native sidecar, the same items as plain inject with the same flags', () => {
    const flags = ['--istio-version', '1.28', '--kube-version', '1.33'];
    const r = cli(['inject', ...flags], { input: list() });
    expect(r.code).toBe(0);
    const item = parse(r.stdout).items[0];
    const plain = cli(['inject', ...flags], { input: stream });
    expect(item).toEqual(parseAllDocuments(plain.stdout)[0]!.toJS());
    // native: meshdrain's drain in initContainers, no classic hold
    const o = overrides(item);
    expect(o.containers).toBeUndefined();
    expect(o.initContainers[0].lifecycle.preStop.exec.command[2]).toContain('exec pilot-agent request --debug-port=15020 POST drain');
    // Without the flags the kind is unknown: both entries, and a result says so.
    const none = parse(cli(['inject'], { input: list() }).stdout);
    expect(overrides(none.items[0]).containers).toBeDefined();
    expect(none.results.some((x: Obj) => x.tags?.['meshdrain.dev/mode'] === 'unknown')).toBe(true);
  });

  it('the same versions in a ConfigMap functionConfig (kpt -- kube-version=… istio-version=…)', () => {
    const fc = 'functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: meshdrain}\n  data:\n    kube-version: "1.33"\n    istio-version: "1.28"\n';
    const r = cli(['inject'], { input: list(fc) });
    expect(r.code).toBe(0);
    const flags = parse(cli(['inject', '--istio-version', '1.28', '--kube-version', '1.33'], { input: list() }).stdout);
    expect(parse(r.stdout).items).toEqual(flags.items);
    const bad = cli(['inject'], { input: list(fc.replace('"1.33"', 'soon')) });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const res = parse(bad.stdout).results as Obj[];
    expect(res[0]!.severity).toBe('error');
    expect(res[0]!.message).toMatch(/functionConfig data\.kube-version: expected a version like 1\.29, got "soon"/);
    expect(parse(bad.stdout).items).toEqual(parse(list(fc)).items);
  });

  it('an unquoted version in the functionConfig (YAML reads istio-version: 1.20 as 1.2) is refused at its line:col, quoted, for inject and lint', () => {
    const fc = 'functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: meshdrain}\n  data:\n    kube-version: "1.33"\n    istio-version: 1.20\n';
    const text = list(fc);
    const line = text.split('\n').findIndex((l) => l.includes('istio-version: 1.20')) + 1;
    for (const cmd of ['inject', 'lint']) {
      const r = cli([cmd], { input: text });
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^meshdrain: <stdin>:${line}:20: functionConfig data\\.istio-version: 1\\.20 is a number in YAML \\(read as 1\\.2\\), not a version: quote it, "1\\.20"\\n$`));
    }
    const kube = cli(['inject'], { input: list(fc.replace('"1.33"', '1.30').replace('1.20', '"1.20"')) });
    expect(kube.code).toBe(2);
    expect(kube.stderr).toMatch(/functionConfig data\.kube-version: 1\.30 is a number in YAML \(read as 1\.3\), not a version: quote it, "1\.30"/);
    // Quoted, the same values work; the flags are strings and keep working.
    expect(cli(['inject'], { input: list(fc.replace('1.20', '"1.20"')) }).code).toBe(0);
    expect(cli(['inject', '--istio-version', '1.20', '--kube-version', '1.30'], { input: list() }).code).toBe(0);
  });

  it("--mesh-config: the real injector ConfigMap with policy: disabled leaves a pod that does not ask unmeshed (as plain inject)", () => {
    const file = join(dir, 'injector-disabled.yaml');
    writeFileSync(file, REAL.replace('\n    policy: enabled\n', '\n    policy: disabled\n'));
    const noAsk = list().replace(', sidecar.istio.io/inject: "true"', '');
    const r = cli(['inject', '--mesh-config', file], { input: noAsk });
    expect(r.code).toBe(0);
    const item = parse(r.stdout).items[0];
    expect(podOf(item).metadata.annotations?.['proxy.istio.io/overrides']).toBeUndefined();
    expect(podOf(item).spec.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    const plain = cli(['inject', '--mesh-config', file], { input: parse(noAsk).items.map((i: Obj) => JSON.stringify(i)).join('\n') });
    expect(item).toEqual(parseAllDocuments(plain.stdout)[0]!.toJS());
    // With the real (enabled) injector the same pod gets the carrier.
    const enabled = join(dir, 'injector.yaml');
    writeFileSync(enabled, REAL);
    expect(overrides(parse(cli(['inject', '--mesh-config', enabled], { input: noAsk }).stdout).items[0])).not.toBeNull();
  });
});

describe('meshdrain lint as a KRM validator takes --mesh-config', () => {
  it('a pod selecting a template the real injector lacks: template-not-installed as a result', () => {
    const file = join(dir, 'injector-lint.yaml');
    writeFileSync(file, REAL);
    const sel = list().replace('labels: {app: web, sidecar.istio.io/inject: "true"}', 'labels: {app: web}\n        annotations: {inject.istio.io/templates: "sidecar,meshdrain"}');
    const r = cli(['lint', '--mesh-config', file], { input: sel });
    expect(r.code).toBe(1);
    const tags = (parse(r.stdout).results as Obj[]).map((x) => x.tags?.['meshdrain.dev/rule']);
    expect(tags).toContain('template-not-installed');
    expect(parse(cli(['lint'], { input: sel }).stdout).results?.map((x: Obj) => x.tags?.['meshdrain.dev/rule']) ?? []).not.toContain('template-not-installed');
  });
});
