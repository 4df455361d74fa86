/**
 * A finding that says "run meshdrain inject" says what inject would really do to this pod: the same
 * derivation decides both (lint's pod.injected is podShutdownFacts with the default policy).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { run } from '../../src/cli/run.js';
import { lintJson, ROOT } from './helpers.js';

const pod = (kind: 'Job' | 'Deployment') => `apiVersion: ${kind === 'Job' ? 'batch/v1' : 'apps/v1'}
kind: ${kind}
metadata:
  name: work
spec:
${kind === 'Deployment' ? '  selector: {matchLabels: {app: work}}\n' : ''}  template:
    metadata:
      labels: {app: work}
    spec:
${kind === 'Job' ? '      restartPolicy: Never\n' : ''}      containers:
      - name: work
        image: work:1
        ports: [{containerPort: 8080}]
        lifecycle: {preStop: {exec: {command: ["sleep", "10"]}}}
`;

async function injectOut(text: string): Promise<Record<string, any>> {
  let stdout = '';
  const code = await run(['inject', '-'], { stdout: (t) => void (stdout += t), stderr: () => undefined, readStdin: async () => text, cwd: ROOT, isStdinTTY: false, env: {} });
  expect(code).toBe(0);
  return parseAllDocuments(stdout)[0]!.toJS();
}

describe('proxy-exits-before-app: the fix is what inject would write', () => {
  it('a Deployment: a hold on istio-proxy, and the grace period inject sets', async () => {
    const { findings } = await lintJson(['-'], { stdin: pod('Deployment') });
    const f = findings.find((x) => x.rule === 'proxy-exits-before-app');
    expect(f).toBeDefined();
    const out = await injectOut(pod('Deployment'));
    const grace = out.spec.template.spec.terminationGracePeriodSeconds as number;
    expect(f!.fix).toContain('preStop hold');
    expect(f!.fix).toContain(`terminationGracePeriodSeconds: ${grace}`);
    expect(f!.fix).not.toContain('nativeSidecar');
  });
  it('a Job: a native sidecar, not a hold (a hold cannot help a Job)', async () => {
    const { findings } = await lintJson(['-'], { stdin: pod('Job') });
    const f = findings.find((x) => x.rule === 'proxy-exits-before-app');
    expect(f).toBeDefined();
    const out = await injectOut(pod('Job'));
    expect(out.spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    expect(f!.fix).toContain('sidecar.istio.io/nativeSidecar: "true"');
    expect(f!.fix).not.toContain('hold');
  });
});

describe('a distroless istio-proxy: inject brings its hook a shell, so lint finds none missing', () => {
  const deploy = (annotations: string, proxy = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: dl}
spec:
  template:
    metadata:
      annotations: {${annotations}}
    spec:
      containers:
      - {name: app, image: app}
${proxy}`;
  const injectWith = async (args: string[], text: string) => {
    let stdout = '';
    let stderr = '';
    const code = await run(['inject', ...args, '-'], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => text, cwd: ROOT, isStdinTTY: false, env: {} });
    expect(code).toBe(0);
    return { stdout, stderr };
  };
  const hookArgv0 = (out: string): string => {
    const t = parseAllDocuments(out)[0]!.toJS().spec.template;
    // In the overrides annotation, or on the pod's own istio-proxy entry when it has one.
    const ann = t.metadata.annotations?.['proxy.istio.io/overrides'];
    const containers = ann ? JSON.parse(ann).containers : t.spec.containers;
    return containers.find((c: { name: string }) => c.name === 'istio-proxy').lifecycle.preStop.exec.command[0];
  };
  const values = join(mkdtempSync(join(tmpdir(), 'meshdrain-variant-')), 'values.yaml');
  writeFileSync(values, 'global:\n  variant: distroless\n');
  it.each([
    ['the proxyImageType annotation', deploy('sidecar.istio.io/proxyImageType: distroless'), [], /sidecar\.istio\.io\/proxyImageType: distroless/],
    ['a -distroless istio-proxy image', deploy('', '      - {name: istio-proxy, image: "docker.io/istio/proxyv2:1.24.2-distroless"}\n'), [], /-distroless tag/],
    ['ProxyConfig image.imageType', deploy('proxy.istio.io/config: "image: {imageType: distroless}"'), [], /ProxyConfig image\.imageType/],
    ["Helm's global.variant (--mesh-config)", deploy(''), ['--mesh-config', values], /global\.variant: distroless/],
  ])('%s', async (_what, text, args, source) => {
    const before = await lintJson([...args, '-'], { stdin: await injectWith(['-c', `${ROOT}fixtures/inject/policy-proxy-shell-image.yaml`, ...args], text).then((r) => r.stdout) });
    // The rule fires on a /bin/sh hook the policy insists on (proxy.shell: image)…
    expect(before.findings.map((f) => f.rule)).toContain('shell-hook-distroless');
    // …and inject's own choice brings a shell in: lint is quiet, stderr says why.
    const { stdout, stderr } = await injectWith(args, text);
    expect(hookArgv0(stdout)).toBe('/meshdrain/bin/sh');
    expect(stderr).toMatch(source);
    const after = await lintJson([...args, '-'], { stdin: stdout });
    expect(after.findings.map((f) => f.rule)).not.toContain('shell-hook-distroless');
  });
});

describe('native-drain-at-start: the fix follows what inject would really do', () => {
  const file = join(ROOT, 'fixtures/inject/real/istio-inject-frontend.injected.yaml');

  it("the app keeps its own preStop (nginx -s quit): inject writes no drain, so the fix does not send the user to inject for one", async () => {
    // inject changes nothing on this pod: --check says so.
    let out = '';
    const check = await run(['inject', '--check', file], { stdout: (t) => void (out += t), stderr: () => undefined, readStdin: async () => '', cwd: ROOT, isStdinTTY: false, env: {} });
    expect(check).toBe(0);
    expect(out).toBe('');
    const { findings } = await lintJson([file]);
    const f = findings.find((x) => x.rule === 'native-drain-at-start');
    expect(f).toBeDefined();
    expect(f!.fix).toMatch(/^meshdrain inject writes no drain here: nginx keeps its own preStop, whose delay meshdrain cannot read; give istio-proxy `sleep <app delay - 1>; exec pilot-agent request/);
  });
});

describe('grace-period-too-short: the budget inject sizes the grace period with', () => {
  it("counts the linger of meshdrain's own hold, so one second short of inject's grace period is a finding", async () => {
    let injected = '';
    expect(await run(['inject', '-'], { stdout: (t) => void (injected += t), stderr: () => undefined, readStdin: async () => pod('Deployment'), cwd: ROOT, isStdinTTY: false, env: {} })).toBe(0);
    const grace = (parseAllDocuments(injected)[0]!.toJS() as Record<string, any>).spec.template.spec.terminationGracePeriodSeconds as number;
    expect(grace).toBe(38); // 10 (app preStop) + 20 (app shutdown) + 0.5 (hold linger) + 5 (drain) + 2 (margin), rounded up
    expect((await lintJson(['-'], { stdin: injected })).findings.filter((x) => x.rule === 'grace-period-too-short')).toEqual([]);
    const short = injected.replace(`terminationGracePeriodSeconds: ${grace}`, `terminationGracePeriodSeconds: ${grace - 1}`);
    expect(short).not.toBe(injected);
    const f = (await lintJson(['-'], { stdin: short })).findings.find((x) => x.rule === 'grace-period-too-short');
    expect(f?.message).toContain('0.5 (hold linger)');
    expect(f?.fix).toContain(`terminationGracePeriodSeconds: ${grace}`);
  });
});

describe("a pod whose only container is istio-proxy is a gateway in lint's words too (mesh/mode.ts)", () => {
  it('as written and as Istio injected it natively (containers: [], istio-proxy an init container): no app to wait for, no native-sidecar advice', async () => {
    for (const f of ['only-proxy-container.yaml', 'only-proxy-container.yaml.injected']) {
      const { findings } = await lintJson([`${ROOT}fixtures/lint/real/istio-inject/${f}`, '--fail-on', 'info']);
      expect({ f, rules: findings.map((x) => x.rule) }).toEqual({ f, rules: [] });
    }
    // The same classification in inject: left as written, named a gateway.
    let stderr = '';
    const text = readFileSync(`${ROOT}fixtures/lint/real/istio-inject/only-proxy-container.yaml.injected`, 'utf8');
    await run(['inject', '--explain', '-'], { stdout: () => undefined, stderr: (t) => void (stderr += t), readStdin: async () => text, cwd: ROOT, isStdinTTY: false, env: {} });
    expect(stderr).toMatch(/gateway/);
    expect(stderr).not.toMatch(/native sidecar/);
  });
});
