/**
 * meshdrain as a KRM function (kpt, kustomize): ResourceList in, ResourceList out, as a real process.
 * The inputs are shaped as kpt and kustomize send them (fixtures/krm/*: annotations, functionConfig).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cli, ROOT } from '../helpers/cli.js';

const KPT = readFileSync(`${ROOT}fixtures/krm/kpt-input.yaml`, 'utf8');
const KUSTOMIZE = readFileSync(`${ROOT}fixtures/krm/kustomize-input.yaml`, 'utf8');

interface Item {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface RL {
  apiVersion: string;
  kind: string;
  items: Item[];
  functionConfig?: Record<string, unknown>;
  results?: { message: string; severity: string; resourceRef?: Record<string, string>; file?: { path: string; index?: number }; field?: { path: string }; tags?: Record<string, string> }[];
}
const rl = (text: string) => parse(text) as RL;
const itemsAsStream = (text: string) => rl(text).items.map((i) => JSON.stringify(i)).join('\n---\n');
const container = (item: Item, name: string) =>
  ((item.spec.template as { spec: { containers: { name: string; lifecycle?: unknown }[] } }).spec.containers).find((c) => c.name === name);

describe('meshdrain inject as a KRM function', () => {
  it('kpt shape: items edited exactly as inject edits the same documents, with the functionConfig as the policy', () => {
    const r = cli(['inject'], { input: KPT });
    expect(r.code).toBe(0);
    const out = rl(r.stdout);
    expect(out.apiVersion).toBe('config.kubernetes.io/v1');
    expect(out.kind).toBe('ResourceList');
    // The same policy as a file, the same items as a plain stream: the same edits.
    const policy = rl(KPT).functionConfig!;
    const tmp = `${ROOT}fixtures/krm/.policy-${process.pid}.json`;
    writeFileSync(tmp, JSON.stringify(policy));
    try {
      const plain = cli(['inject', '-c', tmp], { input: itemsAsStream(KPT) });
      expect(plain.code).toBe(0);
      const expected = parseAllDocuments(plain.stdout).map((d) => d.toJS());
      expect(out.items).toEqual(expected);
    } finally {
      rmSync(tmp, { force: true });
    }
    // The policy's 10s app delay reached the app container.
    expect(container(out.items[0]!, 'web')!.lifecycle).toEqual({ preStop: { sleep: { seconds: 10 } } });
    expect(out.functionConfig).toEqual(rl(KPT).functionConfig);
  });

  it('keeps the index/path annotations, comments and untouched items byte for byte', () => {
    const r = cli(['inject'], { input: KPT });
    const before = rl(KPT).items;
    rl(r.stdout).items.forEach((item, i) => expect(item.metadata.annotations).toEqual(before[i]!.metadata.annotations));
    expect(r.stdout).toContain('name: web # the storefront');
    expect(r.stdout).toContain('        # the app itself\n        - name: web');
    expect(r.stdout.startsWith(KPT.slice(0, KPT.indexOf('items:')))).toBe(true); // header comments too
    const service = KPT.slice(KPT.indexOf('- apiVersion: v1\n  kind: Service'), KPT.indexOf('- apiVersion: batch/v1'));
    expect(r.stdout).toContain(service);
  });

  it("stderr names a note's item by its own file (the path annotation), not a line of the ResourceList", () => {
    const r = cli(['inject'], { input: KPT });
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^meshdrain: jobs\/nightly\.yaml: CronJob\/nightly: asking Istio for a native sidecar/));
    expect(r.stderr).not.toMatch(/<stdin>:\d+:\d+/);
  });

  it('results: one per changed workload (resourceRef, file path/index, field path) and the notes', () => {
    const out = rl(cli(['inject'], { input: KPT }).stdout);
    const results = out.results!;
    const web = results.find((x) => x.resourceRef?.name === 'web')!;
    expect(web).toMatchObject({
      severity: 'info',
      resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
      file: { path: 'deploy/web.yaml', index: 0 },
      field: { path: 'spec.template' },
      tags: { 'meshdrain.dev/change': 'true' },
    });
    expect(web.message).toMatch(/^Deployment\/web: .*raise terminationGracePeriodSeconds to 38; add annotations proxy\.istio\.io\/overrides/); // +0.5: the hold's linger (ADR 018), rounded up
    const cron = results.filter((x) => x.resourceRef?.name === 'nightly');
    expect(cron.map((x) => x.field?.path)).toContain('spec.jobTemplate.spec.template');
    expect(cron.some((x) => /native sidecar/.test(x.message) && x.file?.path === 'jobs/nightly.yaml')).toBe(true);
    expect(results.some((x) => x.resourceRef?.kind === 'Service')).toBe(false);
  });

  it('a workload whose data-plane mode the list cannot decide says so in a result; a Namespace item decides it', () => {
    const unknown = (text: string) => rl(cli(['inject'], { input: text }).stdout).results!.filter((x) => x.tags?.['meshdrain.dev/mode'] === 'unknown');
    const bare = KPT.slice(0, KPT.indexOf('functionConfig:')); // the default policy, as plain inject below
    const web = unknown(bare).find((x) => x.resourceRef?.name === 'web')!;
    expect(web).toMatchObject({ severity: 'info', resourceRef: { kind: 'Deployment', name: 'web', namespace: 'shop' }, file: { path: 'deploy/web.yaml', index: 0 } });
    // --explain's words for the same workload
    const explain = cli(['inject', '--explain'], { input: itemsAsStream(bare) }).stderr;
    const line = /Deployment\/web: unknown: ([^\n]*)/.exec(explain)![1]!;
    expect(web.message).toBe(`Deployment/web: unknown: ${line}; the istio-proxy part does nothing where no injection happens`);
    // The shop Namespace, injection disabled, sent as one more item: the mode is known (none).
    const ns = '- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: shop\n    labels: {istio-injection: disabled}\n';
    const withNs = KPT.replace('items:\n', `items:\n${ns}`);
    expect(unknown(withNs).map((x) => x.resourceRef?.name)).toEqual(['nightly']);
  });

  it('kustomize shape: a ConfigMap functionConfig with the policy in data.policy; kustomize annotations kept', () => {
    const r = cli(['inject'], { input: KUSTOMIZE });
    expect(r.code).toBe(0);
    const out = rl(r.stdout);
    const api = out.items[0]!;
    // shutdown 40s from the policy: 5 (app delay) + 40 + 0.5 (hold linger) + 5 (drain) + 2 = 53
    expect((api.spec.template as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds).toBe(53);
    expect(api.metadata.annotations).toEqual(rl(KUSTOMIZE).items[0]!.metadata.annotations);
    expect(out.results![0]!.resourceRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    expect(out.results![0]!.file).toBeUndefined(); // kustomize sends no path
  });

  it('appends to results an earlier function left, and a second run changes no item', () => {
    const once = cli(['inject'], { input: KPT }).stdout;
    const twice = cli(['inject'], { input: once });
    expect(twice.code).toBe(0);
    expect(rl(twice.stdout).items).toEqual(rl(once).items);
    expect(rl(twice.stdout).results).toEqual(rl(once).results); // nothing changed, nothing new to say
  });

  it('no functionConfig: the default policy; -c gives one', () => {
    const bare = KPT.slice(0, KPT.indexOf('functionConfig:'));
    const r = cli(['inject'], { input: bare });
    expect(r.code).toBe(0);
    expect(container(rl(r.stdout).items[0]!, 'web')!.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    const c = cli(['inject', '-c', 'examples/shutdown-policy.yaml'], { input: bare });
    expect(c.code).toBe(0);
  });

  it('a bad item: exit 2, one stderr line, the items unchanged and an error result at the item and field', () => {
    const bad = KPT.replace('        containers:\n        # the app itself\n        - name: web\n          image: nginx:1.27\n', '        containers: web\n');
    const r = cli(['inject'], { input: bad });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^meshdrain: <stdin>:\d+:\d+: Deployment\/web: .*containers/);
    const out = rl(r.stdout);
    expect(out.items).toEqual(rl(bad).items);
    expect(out.results).toEqual([
      expect.objectContaining({ severity: 'error', resourceRef: expect.objectContaining({ name: 'web' }), file: { path: 'deploy/web.yaml', index: 0 }, field: { path: 'spec.template.spec.containers' } }),
    ]);
  });

  it('a bad policy in the functionConfig is reported at its line in the ResourceList', () => {
    const bad = KPT.replace('app: {delay: 10s}', 'app: {delay: soon}');
    const r = cli(['inject'], { input: bad });
    expect(r.code).toBe(2);
    const line = bad.split('\n').findIndex((l) => l.includes('delay: soon')) + 1;
    expect(r.stderr).toMatch(new RegExp(`^meshdrain: <stdin>:${line}:\\d+: `));
    expect(rl(r.stdout).results![0]).toMatchObject({ severity: 'error', field: { path: expect.stringMatching(/^functionConfig\.defaults\.app/) } });
  });

  it('a bad policy in a ConfigMap functionConfig (data.policy: |) is reported at its line in the ResourceList', () => {
    const bad = KUSTOMIZE.replace('app: {shutdown: 40s}', 'app: {shutdown: forever}');
    const r = cli(['inject'], { input: bad });
    expect(r.code).toBe(2);
    const lines = bad.split('\n');
    const line = lines.findIndex((l) => l.includes('shutdown: forever')) + 1;
    const col = lines[line - 1]!.indexOf('forever') + 1;
    expect(r.stderr).toMatch(new RegExp(`^meshdrain: <stdin>:${line}:${col}: .*defaults\\.app\\.shutdown`));
    expect(rl(r.stdout).results).toEqual([expect.objectContaining({ severity: 'error', field: { path: 'functionConfig.data.policy' } })]);
    expect(rl(r.stdout).items).toEqual(rl(bad).items);
  });

  it('refuses a policy twice (-c and functionConfig) and a functionConfig of another kind', () => {
    const both = cli(['inject', '-c', 'examples/shutdown-policy.yaml'], { input: KPT });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/drop -c, or drop the functionConfig/);
    const other = cli(['inject'], { input: KPT.replace('kind: ShutdownPolicy', 'kind: Widget') });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/functionConfig must be a meshdrain\.dev\/v1alpha1 ShutdownPolicy or a ConfigMap/);
  });

  it('--check on a ResourceList lists changes as for any manifest (no ResourceList answer)', () => {
    const r = cli(['inject', '--check'], { input: KPT });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^<stdin>:\d+:\d+: Deployment\/web: would /m);
  });
});

describe('meshdrain lint as a KRM validator', () => {
  const config = (data: string, items = KPT.slice(0, KPT.indexOf('functionConfig:'))) => `${items}functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: function-input}\n  data: {${data}}\n`;

  it('items pass through unchanged; findings are results with rule, resourceRef, file and field; exit 1 on errors', () => {
    const input = config('kube-version: "1.28"');
    const r = cli(['lint'], { input });
    expect(r.code).toBe(1);
    expect(r.stdout.slice(0, input.length)).toBe(input); // items byte for byte; results appended
    const results = rl(r.stdout).results!;
    const job = results.find((x) => x.tags?.['meshdrain.dev/rule'] === 'job-classic-sidecar')!;
    expect(job).toMatchObject({ severity: 'error', resourceRef: { kind: 'CronJob', name: 'nightly' }, file: { path: 'jobs/nightly.yaml', index: 0 } });
    expect(job.field!.path).toMatch(/^spec\.jobTemplate\.spec\.template/);
  });

  it('warnings alone exit 0, unless the functionConfig says fail-on: warning', () => {
    const injected = cli(['inject'], { input: KPT.slice(0, KPT.indexOf('functionConfig:')) }).stdout;
    const clean = cli(['lint'], { input: config('kube-version: "1.30", istio-version: "1.24"', injected) });
    // inject's default app delay is the guessed sleep: lint says so as info, nothing more (ADR 015)
    const ruled = rl(clean.stdout).results!.filter((x) => x.tags?.['meshdrain.dev/rule']);
    expect(ruled.filter((x) => x.tags?.['meshdrain.dev/rule'] !== 'app-delay-guessed')).toEqual([]);
    expect(ruled.map((x) => x.severity)).toEqual(ruled.map(() => 'info'));
    expect(clean.code).toBe(0);
    // The Deployment alone, not injected: warnings (no hold, no app delay), no error.
    const webOnly = KPT.slice(0, KPT.indexOf('- apiVersion: batch/v1'));
    const w = cli(['lint'], { input: config('kube-version: "1.30"', webOnly) });
    expect(rl(w.stdout).results!.map((x) => x.severity)).toEqual(['warning', 'warning']);
    expect(w.code).toBe(0);
    expect(cli(['lint'], { input: config('kube-version: "1.30", fail-on: warning', webOnly) }).code).toBe(1);
  });

  it('an unknown functionConfig key or value is exit 2 with an error result', () => {
    const r = cli(['lint'], { input: config('kube-versoin: "1.30"') });
    expect(r.code).toBe(2);
    expect(rl(r.stdout).results).toEqual([expect.objectContaining({ severity: 'error', field: { path: 'functionConfig.data.kube-versoin' } })]);
    expect(cli(['lint'], { input: config('fail-on: sometimes') }).code).toBe(2);
  });

  it('-f json still prints JSON findings for a ResourceList', () => {
    const r = cli(['lint', '-f', 'json'], { input: config('kube-version: "1.28"') });
    expect(JSON.parse(r.stdout).findings.length).toBeGreaterThan(0);
  });
});

describe('examples/kustomize-krm', () => {
  const dir = `${ROOT}examples/kustomize-krm`;
  // What kustomize sends its exec function for this kustomization (as in fixtures/krm/kustomize-input.yaml).
  const indent = (text: string, pad: string) => text.trimEnd().split('\n').map((l) => (l ? pad + l : l)).join('\n');
  const deploy = readFileSync(`${dir}/deploy.yaml`, 'utf8').replace('metadata:\n', "metadata:\n  annotations:\n    config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/index: '0'\n");
  const request = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- ${indent(deploy, '  ').slice(2)}\nfunctionConfig:\n${indent(readFileSync(`${dir}/shutdown-policy.yaml`, 'utf8'), '  ')}\n`;

  it('its exec function answers a ResourceList from a checkout with no meshdrain on PATH', () => {
    const r = spawnSync(`${dir}/meshdrain-fn`, [], { input: request, encoding: 'utf8', env: { PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':') } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = rl(r.stdout);
    expect((out.items[0]!.spec.template as { metadata: { annotations: Record<string, string> } }).metadata.annotations['proxy.istio.io/overrides']).toContain('istio-proxy');
    expect(out.items[0]!.metadata.annotations).toEqual({ 'config.kubernetes.io/index': '0', 'internal.config.kubernetes.io/index': '0' });
    expect(out.results![0]!.resourceRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
  });

  it('kubectl kustomize runs it, or is reported skipped because its embedded kustomize ignores KRM exec functions', (ctx) => {
    const kubectl = spawnSync('kubectl', ['kustomize', '--enable-alpha-plugins', dir], { encoding: 'utf8' });
    if (kubectl.error) return ctx.skip('kubectl is not installed');
    expect(kubectl.status).toBe(0);
    const [item] = parseAllDocuments(kubectl.stdout).map((d) => d.toJS() as Item);
    if (!(item!.spec.template as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.['proxy.istio.io/overrides']) return ctx.skip("kubectl's embedded kustomize ignored the KRM exec function (it has no --enable-exec); needs a standalone kustomize");
    expect(container(item!, 'web')!.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
  });
});

// ADR 083 addendum (session 9): the KRM doors reach the same patchFragment as inject and lint.
describe("a patch fragment among a ResourceList's items", () => {
  const list = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    template:
      spec:
        containers:
        - name: web
          resources: {limits: {memory: 512Mi}}
`;
  it('inject leaves it unchanged with a warning result; lint judges nothing in it and says so in a warning', () => {
    const i = cli(['inject'], { input: list });
    expect(i.code, i.stderr).toBe(0);
    const out = rl(i.stdout);
    expect(out.items[0]).toEqual(rl(list).items[0]);
    expect(out.results!.map((r) => [r.severity, r.message])).toContainEqual(['warning', expect.stringMatching(/^Deployment\/web: container web has no image: a patch fragment/)]);
    const l = cli(['lint'], { input: list });
    expect(l.code, l.stderr).toBe(0);
    const results = rl(l.stdout).results!;
    expect(results).toHaveLength(1);
    expect(results[0]!.severity).toBe('warning');
    expect(results[0]!.message).toMatch(/^Deployment\/web: container web has no image: a patch fragment/);
  });
});
