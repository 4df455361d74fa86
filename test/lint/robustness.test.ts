/** lint never crashes: any manifest shape gives findings or an InputError (exit 2), never an internal error. */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { lint } from '../../src/lint/engine.js';

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom('', 'auto', 'true', 'false', '10s', 'sleep 5', 'distroless', '-1'),
  fc.array(fc.constantFrom('sh', '-c', 'sleep 30', 'while netstat | grep -v envoy; do sleep 30; done', 'pilot-agent'), { maxLength: 4 }),
  fc.dictionary(fc.constantFrom('name', 'image', 'exec', 'command', 'sleep', 'seconds'), fc.constantFrom('x', 'istio-proxy', 1, null)),
);

const container = fc.record(
  {
    name: fc.oneof(fc.constantFrom('app', 'istio-proxy'), junk),
    image: fc.oneof(fc.constantFrom('auto', 'docker.io/istio/proxyv2:1.24.0-distroless'), junk),
    restartPolicy: fc.oneof(fc.constant('Always'), junk),
    ports: fc.oneof(fc.constant([{ containerPort: 80 }]), junk),
    env: fc.oneof(
      fc.constant([{ name: 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS', value: 'true' }, { name: 'PROXY_CONFIG', value: '{"terminationDrainDuration":"7s"}' }]),
      fc.constant([{ name: 'PROXY_CONFIG', value: 'not json' }]),
      junk,
    ),
    lifecycle: fc.oneof(
      fc.record({ preStop: fc.oneof(fc.record({ exec: fc.record({ command: junk }) }), fc.record({ sleep: fc.record({ seconds: junk }) }), junk) }),
      junk,
    ),
  },
  { requiredKeys: [] },
);

const pod = fc.record(
  {
    metadata: fc.oneof(
      fc.record({ annotations: fc.dictionary(fc.constantFrom('sidecar.istio.io/nativeSidecar', 'sidecar.istio.io/proxyImageType', 'sidecar.istio.io/inject'), fc.constantFrom('true', 'false', 'distroless', '')) }),
      junk,
    ),
    spec: fc.record(
      {
        terminationGracePeriodSeconds: junk,
        containers: fc.oneof(fc.array(container, { maxLength: 3 }), junk),
        initContainers: fc.oneof(fc.array(container, { maxLength: 2 }), junk),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['spec'] },
);

const manifest = fc
  .tuple(fc.constantFrom('Pod', 'Deployment', 'Job', 'CronJob', 'List'), pod)
  .map(([kind, p]) => {
    if (kind === 'Pod') return { apiVersion: 'v1', kind, metadata: { name: 'p' }, spec: p.spec };
    if (kind === 'CronJob') return { apiVersion: 'batch/v1', kind, metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: p } } } };
    if (kind === 'List') return { apiVersion: 'v1', kind, items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: p } }] };
    return { apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, metadata: { name: 'w' }, spec: { template: p } };
  });

describe('robustness', () => {
  it('arbitrary pod shapes: findings or InputError, nothing else', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        try {
          const r = lint([{ file: 'x.yaml', text: stringify(m) }]);
          for (const f of r.findings) {
            expect(f.line).toBeGreaterThan(0);
            expect(f.column).toBeGreaterThan(0);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          expect((e as InputError).format()).toMatch(/^x\.yaml(:\d+:\d+)?: /);
        }
      }),
      { numRuns: 500 },
    );
  });
  it('aliases and merge keys: positions stay inside the file', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  template:
    spec:
      containers:
      - &c
        name: web
        image: web:1
        lifecycle: &life {preStop: {exec: {command: ["sleep", "40"]}}}
      - <<: *c
        name: second
      - name: third
        image: web:1
        lifecycle: *life
`;
    const r = lint([{ file: 'a.yaml', text }]);
    expect(r.findings.length).toBeGreaterThan(0);
    const lines = text.split('\n').length;
    for (const f of r.findings) expect(f.line).toBeLessThanOrEqual(lines);
  });
});
