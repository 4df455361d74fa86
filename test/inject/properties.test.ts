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
