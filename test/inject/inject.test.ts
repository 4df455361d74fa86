import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { loadPolicy } from '../../src/policy/load.js';
import { isLineSubsequence } from '../helpers/cli.js';
import { expectInputError } from '../helpers/errors.js';

const deployment = (extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this comment
spec:
  template:
    metadata:
      labels: {app: web}
    spec:${extra}
      containers:
      - name: web
        image: 'nginx:1.27'   # quoted on purpose
        ports:
        - containerPort: 8080
`;

const podSpec = (out: string, doc = 0) => {
  const d = parseAllDocuments(out)[doc]!.toJS();
  return (d.kind === 'Pod' ? d.spec : d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.spec : d.spec.template.spec) as {
    containers: { name: string; image?: string; lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } } }[];
    initContainers?: { name: string }[];
    terminationGracePeriodSeconds?: number;
  };
};
type Proxy = ReturnType<typeof podSpec>['containers'][number];
const podMeta = (out: string, doc = 0): { annotations?: Record<string, string> } => {
  const d = parseAllDocuments(out)[doc]!.toJS();
  return (d.kind === 'Pod' ? d.metadata : d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.metadata : d.spec.template.metadata) ?? {};
};
/** The classic istio-proxy entry Istio merges: the proxy.istio.io/overrides annotation's (ADR 061), else the pod's own container. */
const overridesOf = (out: string, doc = 0): { containers?: Proxy[]; initContainers?: Proxy[] } | undefined => {
  const raw = podMeta(out, doc).annotations?.['proxy.istio.io/overrides'];
  return raw === undefined ? undefined : JSON.parse(raw);
};
const proxyOf = (out: string, doc = 0): Proxy | undefined =>
  overridesOf(out, doc)?.containers?.find((c) => c.name === 'istio-proxy') ?? podSpec(out, doc).containers.find((c) => c.name === 'istio-proxy');

describe('inject', () => {
  it('carries a /proc-based hold in the proxy.istio.io/overrides annotation (no image: auto stub) and keeps every original line', () => {
    const src = deployment();
    const r = injectText(src, 'd.yaml');
    expect(r.changed).toBe(true);
    expect(podSpec(r.output).containers.map((c) => c.name)).toEqual(['web']);
    const proxy = proxyOf(r.output)!;
    expect(proxy.image).toBeUndefined();
    const cmd = proxy.lifecycle!.preStop!.exec!.command;
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd[2]).toContain('/proc/net/tcp');
    expect(isLineSubsequence(src, r.output)).toBe(true);
    expect(r.output).toContain("image: 'nginx:1.27'   # quoted on purpose");
  });

  it('is idempotent: its own output is left byte-identical', () => {
    const once = injectText(deployment(), 'd.yaml').output;
    const twice = injectText(once, 'd.yaml');
    expect(twice.changed).toBe(false);
    expect(twice.output).toBe(once);
  });

  it('sets the preStop on an existing istio-proxy container instead of adding a stub', () => {
    const src = deployment().replace("        - containerPort: 8080\n", "        - containerPort: 8080\n      - name: istio-proxy\n        image: docker.io/istio/proxyv2:1.24.0\n        args: [proxy, sidecar]\n");
    const r = injectText(src, 'd.yaml');
    const containers = podSpec(r.output).containers;
    expect(containers.filter((c) => c.name === 'istio-proxy')).toHaveLength(1);
    expect(proxyOf(r.output)!.image).toBe('docker.io/istio/proxyv2:1.24.0');
    expect(proxyOf(r.output)!.lifecycle!.preStop!.exec!.command[2]).toContain('meshdrain');
  });

  it('leaves pods opted out of injection alone, byte for byte', () => {
    const src = deployment().replace('labels: {app: web}', 'labels: {app: web, sidecar.istio.io/inject: "false"}');
    const r = injectText(src, 'd.yaml');
    expect(r.changed).toBe(false);
    expect(r.output).toBe(src);
    const viaAnnotation = deployment().replace('labels: {app: web}', "labels: {app: web}\n      annotations:\n        sidecar.istio.io/inject: 'false'");
    expect(injectText(viaAnnotation, 'd.yaml').changed).toBe(false);
  });

  it('passes other kinds and untouched documents through byte-identical', () => {
    const svc = `apiVersion: v1\nkind: Service   # a comment\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n`;
    const src = `${svc}---\n${deployment()}---\n${svc}`;
    const r = injectText(src, 'multi.yaml');
    const docs = r.output.split(/^---\n/m);
    expect(docs[0]).toBe(svc);
    expect(docs[2]).toBe(svc);
    expect(r.verbose.some((v) => v.includes('Service/web: not a workload'))).toBe(true);
  });

  it('asks for a native sidecar on Jobs and CronJobs, says so, and adds no hold', () => {
    const job = `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: task\n            image: busybox\n`;
    const r = injectText(job, 'job.yaml');
    const out = parse(r.output);
    expect(out.spec.jobTemplate.spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    expect(proxyOf(r.output, 0)).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/job\.yaml:\d+:\d+: CronJob\/nightly: asking Istio for a native sidecar/);
  });

  it('respects an explicit nativeSidecar "false" the user wrote on a Job', () => {
    const job = `apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    metadata:\n      annotations:\n        sidecar.istio.io/nativeSidecar: "false"\n    spec:\n      containers:\n      - name: task\n        image: busybox\n`;
    const r = injectText(job, 'job.yaml');
    expect(parse(r.output).spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('false');
    expect(r.notes.join('\n')).toContain('kept as written');
  });

  it('JSON in, JSON out', () => {
    const obj = parse(deployment());
    const r = injectText(JSON.stringify(obj, null, 2) + '\n', 'd.json');
    expect(() => JSON.parse(r.output)).not.toThrow();
    expect(JSON.parse(r.output).spec.template.metadata.annotations['proxy.istio.io/overrides']).toContain('istio-proxy');
    expect(injectText(r.output, 'd.json').changed).toBe(false);
  });

  it('handles List items, Pods and argo Rollouts', () => {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n`;
    expect(proxyOf(injectText(pod, 'p.yaml').output)).toBeDefined();
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${deployment().trim().split('\n').join('\n  ')}\n`;
    const lr = parse(injectText(list, 'l.yaml').output);
    expect(lr.items[0].spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['web']);
    expect(lr.items[0].spec.template.metadata.annotations['proxy.istio.io/overrides']).toContain('meshdrain');
    const rollout = deployment().replace('apps/v1\nkind: Deployment', 'argoproj.io/v1alpha1\nkind: Rollout');
    expect(proxyOf(injectText(rollout, 'r.yaml').output)).toBeDefined();
  });

  it('never lowers a grace period the user set higher, and raises one too short for the budget', () => {
    const high = injectText(deployment('\n      terminationGracePeriodSeconds: 120'), 'd.yaml').output;
    expect(podSpec(high).terminationGracePeriodSeconds).toBe(120);
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 10s, shutdown: 40s}\n', 'p.yaml');
    const low = injectText(deployment('\n      terminationGracePeriodSeconds: 10'), 'd.yaml', { policy }).output;
    // 10 (app delay) + 40 (app shutdown) + 0.5 (hold linger, ADR 018) + 5 (Istio drain) + 2 (margin)
    expect(podSpec(low).terminationGracePeriodSeconds).toBe(58);
    expect(podSpec(low).containers[0]!.lifecycle!.preStop!.sleep!.seconds).toBe(10);
    const hold = proxyOf(low)!.lifecycle!.preStop!.exec!.command[2]!;
    // hold timeout = 58 - 5 - 2 seconds: the start line says it, the deadline check uses it in ms
    expect(hold).toMatch(/timeout 51s, interval/);
    expect(hold).toMatch(/-ge 51000 \]/);
  });

  it('loads the legacy injection.py policy exactly as written', () => {
    const legacy = `deployment:\n  web:\n    web: ["/bin/sh", "-c", "/bin/graceful_termination.sh"]\n    istio-proxy: ['/bin/sh', '-c', 'while [ -e /tmp/busy ]; do sleep 1; done']\n`;
    const policy = loadPolicy(legacy, 'legacy.yaml');
    expect(policy.format).toBe('legacy');
    const out = injectText(deployment(), 'd.yaml', { policy }).output;
    expect(podSpec(out).containers[0]!.lifecycle!.preStop!.exec!.command).toEqual(['/bin/sh', '-c', '/bin/graceful_termination.sh']);
    expect(proxyOf(out)!.lifecycle!.preStop!.exec!.command).toEqual(['/bin/sh', '-c', 'while [ -e /tmp/busy ]; do sleep 1; done']);
    // the rule names deployment/web only
    const other = injectText(deployment().replace('name: web   #', 'name: api   #'), 'd.yaml', { policy }).output;
    expect(podSpec(other).containers[0]!.lifecycle!.preStop).toEqual({ sleep: { seconds: 5 } }); // the default delay, not the rule's command
  });

  it('a kind one typo away from a workload kind is said (the document passes through unedited); real kinds are not', () => {
    const typo = deployment().replace('kind: Deployment', 'kind: Deploymnet');
    const r = injectText(typo, 'd.yaml');
    expect(r.changed).toBe(false);
    expect(r.notes).toEqual([expect.stringMatching(/^d\.yaml:\d+:\d+: Deploymnet\/web: kind "Deploymnet" is not a workload kind \(did you mean Deployment\?\): passed through unchanged$/)]);
    expect(injectText(deployment().replace('kind: Deployment', 'kind: deployment'), 'd.yaml').notes.join()).toMatch(/did you mean Deployment\?/);
    expect(injectText(deployment().replace('kind: Deployment', 'kind: Jobs'), 'd.yaml').notes.join()).toMatch(/did you mean Job\?/);
    for (const kind of ['Node', 'Role', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'Route', 'Secret']) {
      expect(injectText(deployment().replace('kind: Deployment', `kind: ${kind}`), 'd.yaml').notes, kind).toEqual([]);
    }
  });

  it('an empty preStop (`preStop:` with nothing, as Helm renders an unset value) is no handler: the app delay is written into it', () => {
    const src = deployment().replace('        ports:\n', '        lifecycle:\n          preStop:\n        ports:\n');
    const out = injectText(src, 'd.yaml').output;
    expect(podSpec(out).containers[0]!.lifecycle!.preStop).toEqual({ sleep: { seconds: 5 } });
  });

  it('says when the policy names a container the pod does not have (a typo: its command is not written)', () => {
    const typo = loadPolicy(`deployment:\n  web:\n    wbe: ["/bin/sh", "-c", "sleep 7"]\n`, 'legacy.yaml');
    const r = injectText(deployment(), 'd.yaml', { policy: typo });
    expect(r.notes.filter((n) => n.includes('"wbe"'))).toEqual([expect.stringMatching(/^d\.yaml:\d+:\d+: Deployment\/web: the policy names container "wbe", which this pod does not have \(its containers: web\): not used here$/)]);
    // Named right, nothing is said about it.
    const right = loadPolicy(`deployment:\n  web:\n    web: ["/bin/sh", "-c", "sleep 7"]\n`, 'legacy.yaml');
    expect(injectText(deployment(), 'd.yaml', { policy: right }).notes.join('\n')).not.toMatch(/does not have/);
  });

  it("keeps a user's own app preStop unless the policy names one", () => {
    const src = deployment().replace("        ports:\n", "        lifecycle:\n          preStop:\n            exec: {command: [/app/drain]}\n        ports:\n");
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 5s}\n', 'p.yaml');
    expect(podSpec(injectText(src, 'd.yaml', { policy }).output).containers[0]!.lifecycle!.preStop!.exec!.command).toEqual(['/app/drain']);
    const named = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\nrules:\n- match: {names: ["we*"]}\n  containers:\n    web: {sleep: 7s}\n', 'p.yaml');
    expect(podSpec(injectText(src, 'd.yaml', { policy: named }).output).containers[0]!.lifecycle!.preStop).toEqual({ sleep: { seconds: 7 } });
  });

  it('writes proxy config from the policy into the annotation, merged with what is there', () => {
    const src = deployment().replace('labels: {app: web}', "labels: {app: web}\n      annotations:\n        proxy.istio.io/config: '{\"holdApplicationUntilProxyStarts\": true}'");
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {exitOnZeroActiveConnections: true, minimumDrainDuration: 8s}\n', 'p.yaml');
    const r = injectText(src, 'd.yaml', { policy });
    const cfg = JSON.parse(parse(r.output).spec.template.metadata.annotations['proxy.istio.io/config']);
    expect(cfg.holdApplicationUntilProxyStarts).toBe(true);
    expect(cfg.proxyMetadata).toMatchObject({ EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true', MINIMUM_DRAIN_DURATION: '8s' });
    expect(injectText(r.output, 'd.yaml', { policy }).changed).toBe(false);
  });

  it.each(['|', '|-'])('merges into a block-style proxy.istio.io/config (%s), keeping it a block under its key and the annotations after it', (header) => {
    const src = deployment().replace('labels: {app: web}', `labels: {app: web}\n      annotations:\n        proxy.istio.io/config: ${header}\n          concurrency: 2\n        other: x`);
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {exitOnZeroActiveConnections: true, terminationDrainDuration: 7s}\n', 'p.yaml');
    const r = injectText(src, 'd.yaml', { policy });
    const ann = parse(r.output).spec.template.metadata.annotations;
    expect(ann.other).toBe('x');
    expect(parse(ann['proxy.istio.io/config'])).toEqual({ concurrency: 2, terminationDrainDuration: '7s', proxyMetadata: { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true' } });
    expect(r.output).toContain(`        proxy.istio.io/config: ${header}\n          concurrency: 2\n`);
    expect(injectText(r.output, 'd.yaml', { policy }).changed).toBe(false);
  });

  it('via template: only the template annotation, no stub', () => {
    const r = injectText(deployment(), 'd.yaml', { via: 'template' });
    expect(proxyOf(r.output)).toBeUndefined();
    expect(parse(r.output).spec.template.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,meshdrain');
  });

  it('distroless: brings a static shell through an init container and an emptyDir', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {shell: init-container}\n', 'p.yaml');
    const out = injectText(deployment(), 'd.yaml', { policy }).output;
    const spec = parse(out).spec.template.spec;
    expect(spec.initContainers[0]).toMatchObject({ name: 'meshdrain-shell', image: 'busybox:1.37.0-musl' });
    expect(spec.volumes).toContainEqual({ name: 'meshdrain-bin', emptyDir: {} });
    const proxy = proxyOf(out)!;
    expect(proxy.lifecycle!.preStop!.exec!.command[0]).toBe('/meshdrain/bin/sh');
    expect(injectText(out, 'd.yaml', { policy }).changed).toBe(false);
  });

  it("distroless: an earlier meshdrain's shell copy (no cat linked) is brought to this version's applets; a user's own command is left", () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {shell: init-container}\n', 'p.yaml');
    const out = injectText(deployment(), 'd.yaml', { policy }).output;
    const withCat = ' && ln -sf busybox /meshdrain/bin/cat';
    expect(out).toContain(withCat);
    const earlier = out.replace(withCat, '');
    const again = injectText(earlier, 'd.yaml', { policy });
    expect(again.changed).toBe(true);
    expect(parse(again.output).spec.template.spec.initContainers[0].command).toEqual(parse(out).spec.template.spec.initContainers[0].command);
    expect(injectText(again.output, 'd.yaml', { policy }).changed).toBe(false);
    // Not meshdrain's exact command (an applet list no version wrote): not touched.
    const own = out.replace(withCat, ' && ln -sf busybox /meshdrain/bin/ls');
    expect(injectText(own, 'd.yaml', { policy }).changed).toBe(false);
  });

  it('does not edit through a YAML alias (that would change a shared anchor) and says so', () => {
    const src = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n  spec:\n    template: &tmpl\n      metadata:\n        labels: {app: a}\n      spec:\n        containers:\n        - name: a\n          image: x\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b}\n  spec:\n    template: *tmpl\n`;
    const r = injectText(src, 'a.yaml');
    // the anchored template (Deployment/a) is edited in place; Deployment/b reaches it only through *tmpl
    expect(r.notes.join('\n')).toMatch(/a\.yaml:\d+:\d+: Deployment\/b: not changed: .*alias/);
    expect(r.output).toContain('template: *tmpl');
    expect(isLineSubsequence(src, r.output)).toBe(true);
  });

  it('reports bad YAML with file:line:col', () => {
    const bad = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n';
    expectInputError(() => injectText(bad, 'bad.yaml'), /^bad\.yaml:\d+:\d+: YAML syntax error/);
  });
});

describe('inject defaults', () => {
  it('gives app containers a 5s preStop sleep for endpoint propagation and counts it in the grace period', () => {
    const src = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - name: w\n        image: x\n';
    const out = parse(injectText(src, 'd.yaml').output).spec.template.spec;
    expect(out.containers[0].lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
    // 5 (app delay) + 20 (app shutdown) + 0.5 (hold linger) + 5 (Istio drain) + 2 (margin)
    expect(out.terminationGracePeriodSeconds).toBe(33);
    const off = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 0s}\n', 'p.yaml');
    const none = parse(injectText(src, 'd.yaml', { policy: off }).output).spec.template.spec;
    expect(none.containers[0].lifecycle).toBeUndefined();
    expect(none.terminationGracePeriodSeconds).toBeUndefined();
  });
});

describe('inject policy interplay', () => {
  it('says when via template makes the policy hold settings moot', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  via: template\n  proxy: {waitFor: ["ports=8080"], interval: 500ms}\n', 'p.yaml');
    const r = injectText('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n', 'pod.yaml', { policy });
    expect(r.notes.join('\n')).toMatch(/pod\.yaml:\d+:\d+: Pod\/p: via template: .*proxy\.waitFor, proxy\.interval is not used/);
  });

  it('grows the grace period to cover a hold timeout the policy names (no SIGKILL mid-hold)', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {timeout: 90s}\n', 'p.yaml');
    const out = injectText('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n', 'pod.yaml', { policy }).output;
    // 90 (hold timeout) + 2 (margin): the hold asked for the drain at its start, so none follows it (ADR 086).
    expect(parse(out).spec.terminationGracePeriodSeconds).toBe(92);
    expect(proxyOf(out)!.lifecycle!.preStop!.exec!.command[2]).toContain('timeout 1m30s');
    // Before pilot-agent had /drain (Istio 1.21), Istio's 5 s drain still runs after the hold.
    const old = injectText('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n', 'pod.yaml', { policy, istioVersion: { major: 1, minor: 20 } }).output;
    expect(parse(old).spec.terminationGracePeriodSeconds).toBe(97);
  });
});

describe('inject on flow-style YAML', () => {
  const cases = {
    'nested flow maps closed by their parent': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: b, lifecycle: {postStart: {exec: {command: [x]}}}}]}\n',
    'a null value inside a flow map': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: b, lifecycle: null}]}\n',
    'an empty value inside a flow map': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: b}, {name: istio-proxy, image: auto, lifecycle: }]}\n',
    'a whole Deployment in flow style': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {annotations: {a: b}}, spec: {containers: [{name: a, image: b}]}}}\n',
  };
  for (const [name, src] of Object.entries(cases)) {
    it(`${name}: valid YAML, edits at the right level, idempotent`, () => {
      for (const via of ['annotation', 'template'] as const) {
        const out = injectText(src, 'f.yaml', { via }).output;
        const spec = podSpec(out);
        const app = spec.containers.find((c) => c.name === 'a')!;
        expect(app.lifecycle!.preStop).toEqual({ sleep: { seconds: 5 } });
        expect(Object.keys(app).sort()).toEqual(Object.keys(app).filter((k) => ['name', 'image', 'lifecycle'].includes(k)).sort());
        expect(spec.terminationGracePeriodSeconds).toBe(33); // 5 + 20 + 0.5 (meshdrain's hold lingers, in the annotation or the template) + 5 + 2
        if (via === 'annotation') expect(proxyOf(out)!.lifecycle!.preStop!.exec!.command[0]).toBe('/bin/sh');
        else {
          const doc = parse(out);
          const meta = doc.kind === 'Pod' ? doc.metadata : doc.spec.template.metadata;
          expect(meta.annotations['inject.istio.io/templates']).toBe('sidecar,meshdrain');
        }
        expect(injectText(out, 'f.yaml', { via }).output).toBe(out);
      }
    });
  }
});

describe('inject edge cases found in QA', () => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: a\n    image: b\n';

  it('keeps CRLF line endings in the lines it adds', () => {
    const out = injectText(pod.replace(/\n/g, '\r\n'), 'crlf.yaml').output;
    expect(out.split('\n').slice(0, -1).every((l) => l.endsWith('\r'))).toBe(true);
    expect(injectText(out, 'crlf.yaml').changed).toBe(false);
  });

  it('caps the hold timeout for a huge grace period instead of failing', () => {
    const out = injectText(pod.replace('spec:\n', 'spec:\n  terminationGracePeriodSeconds: 100000\n'), 'big.yaml').output;
    expect(proxyOf(out)!.lifecycle!.preStop!.exec!.command[2]).toContain('timeout 24h');
  });

  it('does not deliver the hold twice to a pod that already selects the meshdrain template', () => {
    const once = injectText(pod, 'p.yaml', { via: 'template' }).output;
    expect(injectText(once, 'p.yaml').changed).toBe(false);
    expect(proxyOf(once)).toBeUndefined();
  });

  it('adds no hold to a Job that keeps a classic sidecar (it cannot help there)', () => {
    const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n      annotations: {sidecar.istio.io/nativeSidecar: "false"}\n    spec:\n      restartPolicy: Never\n      containers: [{name: a, image: b}]\n';
    const r = injectText(job, 'j.yaml');
    expect(parse(r.output).spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['a']);
    expect(r.notes.join('\n')).toContain('a hold cannot help, so none is added');
  });

  it('points a bad proxy.istio.io/config at the annotation', () => {
    // A whole Pod (its container has an image): without one it is a patch fragment, left unjudged (ADR 083).
    const bad = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n    proxy.istio.io/config: "{not: [valid"\nspec:\n  containers: [{name: a, image: b}]\n';
    expectInputError(() => injectText(bad, 'pc.yaml'), /^pc\.yaml:6:/);
  });
});

describe('inject distroless with existing init containers', () => {
  it('appends the shell init container and leaves the existing ones byte for byte', () => {
    const src = 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  initContainers:\n  - name: migrate   # runs first\n    image: m\n    args: [up]\n  containers:\n  - name: a\n    image: b\n';
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {shell: init-container}\n', 'p.yaml');
    const out = injectText(src, 'p.yaml', { policy }).output;
    expect(out).toContain('  - name: migrate   # runs first\n    image: m\n    args: [up]\n');
    expect(parse(out).spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['migrate', 'meshdrain-shell']);
  });
});

describe('inject on JSON', () => {
  it('keeps the layout and every number as written; one-line JSON stays one line', () => {
    const min = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"activeDeadlineSeconds":12345678901234567890,"containers":[{"name":"a","image":"b","resources":{"limits":{"cpu":0.10000000000000000001}}}]}}';
    const out = injectText(min, 'min.json').output;
    expect(out.includes('\n')).toBe(false);
    expect(out).toContain('"activeDeadlineSeconds":12345678901234567890');
    expect(out).toContain('"cpu":0.10000000000000000001');
    expect(JSON.parse(out).metadata.annotations['proxy.istio.io/overrides']).toContain('istio-proxy');
    expect(injectText(out, 'min.json').output).toBe(out);
  });

  it('pretty JSON: original lines kept, output valid JSON', () => {
    const src = JSON.stringify(parse(deployment()), null, 2) + '\n';
    const out = injectText(src, 'd.json').output;
    expect(JSON.parse(out).spec.template.spec.terminationGracePeriodSeconds).toBe(33); // 5 + 20 + 0.5 (hold linger) + 5 + 2
    const kept = src.split('\n').filter((l) => !/^\s*[\]}],?$/.test(l) && !/[}\]]$/.test(l.trim()) && !/"containerPort": 8080$/.test(l));
    expect(isLineSubsequence(kept.join('\n'), out)).toBe(true);
  });
});

describe('re-injection with another carrier takes back only meshdrain\'s earlier hold', () => {
  const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations:
        team: a # the owner's comment
    spec:
      containers:
      - name: app # the app
        image: app:1
`;
  const meta = (out: string) => parse(out).spec.template.metadata.annotations as Record<string, string>;
  const overrides = (out: string) => JSON.parse(meta(out)['proxy.istio.io/overrides'] ?? '{}') as { containers?: Proxy[]; initContainers?: Proxy[] };

  it('annotation → template: the overrides annotation loses meshdrain\'s hold, the comments stay, and a second run changes nothing', () => {
    const first = injectText(deploy, 'd.yaml').output;
    expect(overrides(first).containers![0]!.lifecycle!.preStop).toBeDefined();
    const again = injectText(first, 'd.yaml', { via: 'template' }).output;
    expect(meta(again)['inject.istio.io/templates']).toBe('sidecar,meshdrain');
    expect(meta(again)['proxy.istio.io/overrides']).toBeUndefined();
    expect(again).toContain('team: a # the owner\'s comment');
    expect(again).toContain('- name: app # the app');
    expect(injectText(again, 'd.yaml', { via: 'template' }).output).toBe(again);
  });

  it("the user's own fields in meshdrain's entry, and the user's other entries, are kept", () => {
    const user = deploy.replace('team: a', `team: a\n        proxy.istio.io/overrides: '{"containers":[{"name":"istio-proxy","resources":{"limits":{"cpu":"1"}}},{"name":"other","image":"x"}]}'`);
    const first = injectText(user, 'd.yaml').output;
    expect(overrides(first).containers![0]).toMatchObject({ resources: { limits: { cpu: '1' } }, lifecycle: { preStop: {} } });
    const again = injectText(first, 'd.yaml', { via: 'template' }).output;
    expect(overrides(again)).toEqual({ containers: [{ name: 'istio-proxy', resources: { limits: { cpu: '1' } } }, { name: 'other', image: 'x' }] });
  });

  it("a preStop of the user's own in the annotation is never taken (it is kept, and no hold is added)", () => {
    const user = deploy.replace('team: a', `team: a\n        proxy.istio.io/overrides: '{"containers":[{"name":"istio-proxy","lifecycle":{"preStop":{"exec":{"command":["/bin/sh","-c","sleep 10"]}}}}]}'`);
    for (const via of ['template', 'annotation'] as const) {
      const out = injectText(user, 'd.yaml', { via }).output;
      expect(overrides(out).containers![0]!.lifecycle!.preStop!.exec!.command).toEqual(['/bin/sh', '-c', 'sleep 10']);
    }
  });

  it('annotation → template with nothing else in the overrides: the annotation goes (no \'{}\' written); a second run changes nothing', () => {
    const again = injectText(injectText(deploy, 'd.yaml').output, 'd.yaml', { via: 'template' }).output;
    expect(meta(again)['proxy.istio.io/overrides']).toBeUndefined();
    expect(again).not.toContain("'{}'");
    expect(again).toBe(injectText(deploy, 'd.yaml', { via: 'template' }).output);
    // meshdrain made the annotations map itself: it goes with what it held.
    const bare = deploy.replace("    metadata:\n      annotations:\n        team: a # the owner's comment\n", '');
    const back = injectText(injectText(bare, 'd.yaml').output, 'd.yaml', { via: 'template' }).output;
    expect(back).toBe(injectText(bare, 'd.yaml', { via: 'template' }).output);
    expect(parse(back).spec.template.metadata.annotations).toEqual({ 'inject.istio.io/templates': 'sidecar,meshdrain' });
  });

  it('template → annotation: the pod stops selecting meshdrain\'s template (its other templates kept) and a second run changes nothing', () => {
    const first = injectText(deploy, 'd.yaml', { via: 'template' }).output;
    expect(meta(first)['inject.istio.io/templates']).toBe('sidecar,meshdrain');
    const again = injectText(first, 'd.yaml', { via: 'annotation' }).output;
    // What is left ("sidecar") is what the pod gets without the annotation (the injector's
    // defaultTemplates): the annotation goes, and the output is a fresh run's with the new carrier.
    expect(meta(again)['inject.istio.io/templates']).toBeUndefined();
    expect(again).toBe(injectText(deploy, 'd.yaml', { via: 'annotation' }).output);
    expect(overrides(again).containers![0]!.lifecycle!.preStop).toBeDefined();
    expect(injectText(again, 'd.yaml', { via: 'annotation' }).output).toBe(again);
    const custom = deploy.replace('team: a', 'team: a\n        inject.istio.io/templates: "sidecar,mine,meshdrain"');
    expect(meta(injectText(custom, 'd.yaml', { via: 'annotation' }).output)['inject.istio.io/templates']).toBe('sidecar,mine');
  });

  it("the injector's defaultTemplates from the mesh config: the annotation adds meshdrain's template to them, and takes it back to nothing", () => {
    const defaults = ['sidecar', 'spire'];
    const first = injectText(deploy, 'd.yaml', { via: 'template', defaultTemplates: defaults }).output;
    expect(meta(first)['inject.istio.io/templates']).toBe('sidecar,spire,meshdrain');
    const again = injectText(first, 'd.yaml', { via: 'annotation', defaultTemplates: defaults }).output;
    expect(meta(again)['inject.istio.io/templates']).toBeUndefined();
    expect(again).toBe(injectText(deploy, 'd.yaml', { via: 'annotation', defaultTemplates: defaults }).output);
    // A cluster that runs meshdrain's template by default: the pod selects it without an annotation,
    // and inject (no --via) keeps to the template carrier it already has.
    const byDefault = ['sidecar', 'meshdrain'];
    const quiet = injectText(deploy, 'd.yaml', { via: 'template', defaultTemplates: byDefault }).output;
    expect(meta(quiet)['inject.istio.io/templates']).toBeUndefined();
    expect(meta(quiet)['proxy.istio.io/overrides']).toBeUndefined();
    expect(injectText(quiet, 'd.yaml', { defaultTemplates: byDefault }).output).toBe(quiet);
  });
});

describe("re-injection after --via override takes back meshdrain's own istio-proxy stub", () => {
  const input = `apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: web}
spec:
  template:
    metadata:
      labels: {app: d}
    spec:
      containers:
      # the app, owned by team a
      - name: app # the app
        image: app:1
      # volumes follow
      volumes:
      - name: data
        emptyDir: {}
`;
  const opts = { istioVersion: { major: 1, minor: 22 } };
  const run = (text: string, via: 'annotation' | 'override' | 'template', policy?: ReturnType<typeof loadPolicy>) => injectText(text, 'd.yaml', { ...opts, via, policy }).output;
  const spec = (out: string) => podSpec(out, 1) as ReturnType<typeof podSpec> & { volumes?: { name: string }[] };
  const tmpl = (out: string) => parseAllDocuments(out)[1]!.toJS().spec.template as { metadata: { annotations?: Record<string, string> } };

  for (const via of ['annotation', 'template'] as const) {
    it(`override → ${via}: the stub goes, the output is exactly a fresh --via ${via} run's (every comment kept), and a second run changes nothing`, () => {
      const stubbed = run(input, 'override');
      expect(spec(stubbed).containers.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
      const out = run(stubbed, via);
      expect(out).toBe(run(input, via));
      expect(spec(out).containers.map((c) => c.name)).toEqual(['app']);
      for (const comment of ['# the app, owned by team a', '# the app', '# volumes follow']) expect(out).toContain(comment);
      expect(run(out, via)).toBe(out);
      const r = injectText(stubbed, 'd.yaml', { ...opts, via });
      expect(r.changes.map((c) => c.what)).toContain("remove container istio-proxy (meshdrain's override stub)");
    });
  }

  it('annotation → override: the hold leaves the overrides annotation for the stub; back to override gives the first output', () => {
    const stubbed = run(input, 'override');
    const out = run(run(input, 'annotation'), 'override');
    expect(out).toBe(stubbed);
    expect(tmpl(out).metadata.annotations?.['proxy.istio.io/overrides']).toBeUndefined();
    // template → override: the stub again, and the template annotation goes with meshdrain's template
    // (what is left, `sidecar`, is what the pod gets without it): the first output again.
    const back = run(run(stubbed, 'template'), 'override');
    expect(back).toBe(stubbed);
  });

  it("a stub with fields of the user's is the user's istio-proxy entry: kept, it carries the hold whatever --via says", () => {
    const mine = run(input, 'override').replace('      - name: istio-proxy\n        image: auto\n', '      - name: istio-proxy\n        image: auto\n        resources: {limits: {cpu: "1"}}\n');
    const out = run(mine, 'annotation');
    const proxy = spec(out).containers.find((c) => c.name === 'istio-proxy') as { resources?: unknown; lifecycle?: { preStop?: unknown } };
    expect(proxy.resources).toEqual({ limits: { cpu: '1' } });
    expect(proxy.lifecycle?.preStop).toBeDefined();
    expect(tmpl(out).metadata.annotations?.['proxy.istio.io/overrides']).toBeUndefined();
    expect(run(mine, 'template')).toContain('resources: {limits: {cpu: "1"}}');
  });

  it('a distroless proxy: the shell init container and its volume go with the stub when nothing else mounts them', () => {
    const policy = loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {shell: init-container}\n', 'p.yaml');
    const stubbed = run(input, 'override', policy);
    expect(spec(stubbed).initContainers?.map((c) => c.name)).toEqual(['meshdrain-shell']);
    const toTemplate = run(stubbed, 'template', policy);
    expect(toTemplate).toBe(run(input, 'template', policy));
    expect(spec(toTemplate).initContainers).toBeUndefined();
    expect(spec(toTemplate).volumes?.map((v) => v.name)).toEqual(['data']);
    // The annotation's entry mounts the shell: the init container stays.
    const toAnnotation = run(stubbed, 'annotation', policy);
    expect(toAnnotation).toBe(run(input, 'annotation', policy));
    expect(spec(toAnnotation).initContainers?.map((c) => c.name)).toEqual(['meshdrain-shell']);
  });

  it("kubectl reads the switched output as the fresh one: one istio-proxy hold, in the annotation", () => {
    const r = spawnSync('kubectl', ['kustomize', kustomizeDir(run(run(input, 'override'), 'annotation'))], { encoding: 'utf8' });
    if (r.error) throw new Error(`cannot run kubectl: ${r.error.message}`);
    expect(r.status, r.stderr).toBe(0);
    const d = parseAllDocuments(r.stdout).map((x) => x.toJS()).find((x) => x.kind === 'Deployment');
    expect(d.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['app']);
    const o = JSON.parse(d.spec.template.metadata.annotations['proxy.istio.io/overrides']);
    expect(o.containers.map((c: { name: string; lifecycle: { preStop: unknown } }) => [c.name, Boolean(c.lifecycle.preStop)])).toEqual([['istio-proxy', true]]);
  });
});

function kustomizeDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-carrier-'));
  writeFileSync(join(dir, 'x.yaml'), yaml);
  writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n- x.yaml\n');
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
