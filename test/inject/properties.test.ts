/** Properties of inject over generated manifests (fast-check): idempotence, preservation, a hold everywhere. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { getPath, podTemplateSites, type PodTemplate } from '../../src/model/workload.js';
import { isLineSubsequence } from '../helpers/cli.js';

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const comment = fc.option(fc.stringMatching(/^[A-Za-z0-9 ,.]{1,30}$/), { nil: undefined });
const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job', 'CronJob'] as const;

/** A generated workload as YAML text, in one of several real-world styles. */
const manifest = fc
  .record({
    kind: fc.constantFrom(...kinds),
    name,
    containers: fc.array(fc.record({ name, image: name, port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
    grace: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    indentless: fc.boolean(),
    quote: fc.constantFrom('', "'", '"'),
    comment,
    annotations: fc.option(fc.dictionary(fc.constantFrom('a.io/x', 'b.io/y', 'sidecar.istio.io/inject'), fc.constantFrom('true', 'false', 'v')), { nil: undefined }),
  })
  .map((m) => {
    const seq = m.indentless ? '' : '  ';
    const q = (s: string) => `${m.quote}${s}${m.quote}`;
    const podLines = [
      'metadata:',
      `  labels: {app: ${m.name}}`,
      ...(m.annotations && Object.keys(m.annotations).length ? ['  annotations:', ...Object.entries(m.annotations).map(([k, v]) => `    ${k}: "${v}"`)] : []),
      'spec:',
      ...(m.grace !== undefined ? [`  terminationGracePeriodSeconds: ${m.grace}`] : []),
      '  containers:',
      ...m.containers.flatMap((c, i) => [
        `  ${seq}- name: ${q(`${c.name}${i}`)}${m.comment ? `   # ${m.comment}` : ''}`,
        `  ${seq}  image: ${q(c.image)}`,
        ...(c.port ? [`  ${seq}  ports:`, `  ${seq}  - containerPort: ${c.port}`] : []),
      ]),
    ];
    const indent = (lines: string[], n: number) => lines.map((l) => ' '.repeat(n) + l);
    const api = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', ReplicaSet: 'apps/v1', Pod: 'v1', Job: 'batch/v1', CronJob: 'batch/v1' }[m.kind];
    const head = [`# ${m.comment ?? 'generated'}`, `apiVersion: ${api}`, `kind: ${m.kind}`, 'metadata:', `  name: ${m.name}`];
    if (m.kind === 'Pod') return [...head.slice(0, 3), 'metadata:', `  name: ${m.name}`, ...podLines.slice(1)].join('\n') + '\n';
    if (m.kind === 'CronJob') return [...head, 'spec:', '  schedule: "@daily"', '  jobTemplate:', '    spec:', '      template:', ...indent(podLines, 8)].join('\n') + '\n';
    return [...head, 'spec:', '  template:', ...indent(podLines, 4)].join('\n') + '\n';
  });

const manifests = fc.array(manifest, { minLength: 1, maxLength: 3 }).map((docs) => docs.join('---\n'));

describe('inject properties', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(manifests, (src) => {
        const once = injectText(src, 'gen.yaml').output;
        expect(injectText(once, 'gen.yaml').output).toBe(once);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps every original line (except a raised grace period) and comments', () => {
    fc.assert(
      fc.property(manifests, (src) => {
        const out = injectText(src, 'gen.yaml').output;
        const kept = src.replace(/^\s*terminationGracePeriodSeconds:.*\n/gm, '');
        expect(isLineSubsequence(kept, out)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('gives every touched classic-sidecar pod template an istio-proxy preStop, and never lowers the grace period', () => {
    fc.assert(
      fc.property(manifests, (src) => {
        const before = parseAllDocuments(src).map((d) => d.toJS());
        const after = parseAllDocuments(injectText(src, 'gen.yaml').output).map((d) => d.toJS());
        after.forEach((value, i) => {
          for (const site of podTemplateSites(value)) {
            const pod = getPath(value, site.templatePath) as PodTemplate;
            const old = getPath(before[i], site.templatePath) as PodTemplate;
            const ann = pod.metadata?.annotations ?? {};
            if (ann['sidecar.istio.io/inject'] === 'false') {
              expect(pod).toEqual(old);
              continue;
            }
            expect(pod.spec!.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(old.spec!.terminationGracePeriodSeconds ?? 30);
            if (ann['sidecar.istio.io/nativeSidecar'] === 'true') continue;
            // The pod's own istio-proxy entry, else the proxy.istio.io/overrides annotation's (ADR 061).
            const own = pod.spec!.containers!.find((c) => c.name === 'istio-proxy');
            const raw = ann['proxy.istio.io/overrides'];
            const carried = raw ? (JSON.parse(raw) as { containers?: typeof own[] }).containers?.find((c) => c?.name === 'istio-proxy') : undefined;
            const proxy = own?.lifecycle?.preStop ? own : (carried ?? own);
            expect(proxy?.lifecycle?.preStop?.exec?.command?.[0]).toBe('/bin/sh');
          }
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('a carrier switch after --via override, over the shapes an empty or commented field takes (QA fuzz, qa7 F21)', () => {
  // Each template field in the shapes users and Helm leave: absent, empty, commented, flow, block.
  const meta = ['', '    metadata:\n', '    metadata: # c\n', '    metadata: {}\n', '    metadata: {labels: {a: b}} # c\n', '    metadata:\n      labels: {a: b}\n', '    metadata:\n      annotations:\n', '    metadata:\n      annotations: # c\n', '    metadata:\n      annotations: {}\n', '    metadata:\n      annotations: {x: y}   # c\n', '    metadata:\n      annotations:\n        x: y # c\n', '    metadata:\n      # only a comment\n'];
  const life = ['', '        lifecycle:\n', '        lifecycle: # c\n', '        lifecycle: {}\n', '        lifecycle: {postStart: {exec: {command: [a]}}}  # c\n', '        lifecycle:\n          postStart: {exec: {command: [a]}}\n', '        lifecycle:\n          preStop:\n', '        lifecycle:\n          preStop: # c\n', '        lifecycle:\n          # c\n'];
  const tail = ['', '      - name: b # c\n        image: b\n', '      # after\n', '    # after containers\n      volumes: []\n', '      volumes:\n      - {name: v, emptyDir: {}}\n'];
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {istio-injection: enabled}}\n---\n';
  const values = (s: string) => parseAllDocuments(s).map((d) => d.toJS());
  it('valid, idempotent, the same objects as a fresh run with the new carrier, every comment kept', () => {
    let cases = 0;
    for (const m of meta) for (const l of life) for (const t of tail) {
      const src = `${ns}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: f\n  namespace: web\nspec:\n  template:\n${m}    spec:\n      containers:\n      - name: a\n        image: a\n${l}${t}`;
      if (parseAllDocuments(src).some((d) => d.errors.length)) continue;
      cases++;
      const opts = { istioVersion: { major: 1, minor: 22 } };
      const stubbed = injectText(src, 'x.yaml', { ...opts, via: 'override' }).output;
      for (const via of ['annotation', 'template'] as const) {
        const out = injectText(stubbed, 'x.yaml', { ...opts, via }).output;
        expect(parseAllDocuments(out).flatMap((d) => d.errors.map((e) => e.message)), `${via}\n${src}`).toEqual([]);
        expect(injectText(out, 'x.yaml', { ...opts, via }).output, `${via}\n${src}`).toBe(out);
        expect(values(out), `${via}\n${src}`).toEqual(values(injectText(src, 'x.yaml', { ...opts, via }).output));
        expect(out.split('# c').length, `${via}\n${src}`).toBe(src.split('# c').length);
        for (const c of ['# after', '# only a comment']) if (src.includes(c)) expect(out).toContain(c);
      }
    }
    expect(cases).toBeGreaterThan(400);
  });
});
