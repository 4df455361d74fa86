/**
 * Property: lint finds no error on anything `meshdrain inject` produced (default policy, default lint
 * options). fast-check generates workloads of every kind with the settings that matter at shutdown:
 * grace periods, app preStop delays (sleep handler, exec sleep, custom scripts), proxy.istio.io/config
 * drains and EXIT_ON_ZERO, native-sidecar annotations, opt-outs, multi-document files.
 *
 * Excluded by design: a Job/CronJob whose author wrote sidecar.istio.io/nativeSidecar: "false" — inject
 * respects it and says so on stderr; lint rightly reports the Job will never complete.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { injectText } from '../../src/inject/inject.js';
import { lint } from '../../src/lint/engine.js';
import { renderTemplateOutput } from '../../src/istio/template.js';
import { templateHold, templateNativeDrain } from '../../src/plan/facts.js';

const KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Rollout'] as const;
const API: Record<(typeof KINDS)[number], string> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Rollout: 'argoproj.io/v1alpha1',
};

/** App preStops of every shape inject must count: the sleep handler, an exec sleep, sleep inside sh -c, and scripts it cannot read. */
const preStop = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 45 }).map((s) => ({ sleep: { seconds: s } })),
  fc.integer({ min: 1, max: 45 }).map((s) => ({ exec: { command: ['sleep', String(s)] } })),
  fc.integer({ min: 1, max: 45 }).map((s) => ({ exec: { command: ['/bin/sh', '-c', `sleep ${s}; kill -TERM 1`] } })),
  fc.constant({ exec: { command: ['/bin/graceful_termination.sh'] } }),
  fc.constant({ exec: { command: ['/bin/sh', '-c', 'kill -TERM 1; wait'] } }),
);

const container = (i: number) =>
  fc.record({
    name: fc.constant(`app${i}`),
    image: fc.constantFrom('web:1', 'registry.example/app@sha256:0123'),
    ports: fc.option(fc.array(fc.integer({ min: 1, max: 14999 }).map((p) => ({ containerPort: p })), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    lifecycle: preStop.map((p) => (p ? { preStop: p } : undefined)),
  });

const proxyConfig = fc.option(
  fc.record({
    terminationDrainDuration: fc.option(fc.integer({ min: 1, max: 90 }).map((s) => `${s}s`), { nil: undefined }),
    proxyMetadata: fc.option(
      fc.record({
        EXIT_ON_ZERO_ACTIVE_CONNECTIONS: fc.constantFrom('true', 'false'),
        MINIMUM_DRAIN_DURATION: fc.option(fc.integer({ min: 1, max: 60 }).map((s) => `${s}s`), { nil: undefined }),
      }),
      { nil: undefined },
    ),
  }),
  { nil: undefined },
);

const workload = fc
  .record({
    kind: fc.constantFrom(...KINDS),
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
    containers: fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => container(i)))),
    grace: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
    proxyConfig,
    proxyConfigJson: fc.boolean(),
    native: fc.constantFrom(undefined, 'true', 'false'),
    optOut: fc.nat(19).map((n) => n < 3), // ~15 %: mostly meshed pods, some opted out (reproducible from the seed)
  })
  .filter((w) => !((w.kind === 'Job' || w.kind === 'CronJob') && w.native === 'false'))
  .map((w) => {
    const clean = (o: unknown) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
    const annotations: Record<string, string> = {};
    if (w.proxyConfig) {
      const pc = clean(w.proxyConfig);
      if (Object.keys(pc).length) annotations['proxy.istio.io/config'] = w.proxyConfigJson ? JSON.stringify(pc) : stringify(pc);
    }
    if (w.native) annotations['sidecar.istio.io/nativeSidecar'] = w.native;
    const labels: Record<string, string> = { app: w.name };
    if (w.optOut) labels['sidecar.istio.io/inject'] = 'false';
    const podSpec: Record<string, unknown> = clean({
      terminationGracePeriodSeconds: w.grace,
      restartPolicy: w.kind === 'Job' || w.kind === 'CronJob' ? 'Never' : undefined,
      containers: w.containers,
    });
    const template = { metadata: clean({ labels, annotations: Object.keys(annotations).length ? annotations : undefined }), spec: podSpec };
    const meta = { name: w.name };
    switch (w.kind) {
      case 'Pod':
        return { apiVersion: API.Pod, kind: 'Pod', metadata: { ...meta, ...template.metadata }, spec: podSpec };
      case 'Job':
        return { apiVersion: API.Job, kind: 'Job', metadata: meta, spec: { template } };
      case 'CronJob':
        return { apiVersion: API.CronJob, kind: 'CronJob', metadata: meta, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } };
      default:
        return { apiVersion: API[w.kind], kind: w.kind, metadata: meta, spec: { selector: { matchLabels: { app: w.name } }, template } };
    }
  });

const manifest = fc.array(workload, { minLength: 1, maxLength: 3 }).map((ws) => ws.map((w) => stringify(w)).join('---\n'));

describe('lint ∘ inject', () => {
  it('lint reports no error on inject output (fast-check)', () => {
    fc.assert(
      fc.property(manifest, (text) => {
        const injected = injectText(text, 'gen.yaml').output;
        const errors = lint([{ file: 'gen.yaml', text: injected }]).findings.filter((f) => f.severity === 'error');
        expect(errors, `input:\n${text}\noutput:\n${injected}`).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("with the app's traffic-gone wait (app.shell, quiet, maxDelay; ADR 015): no error, no grace finding, and inject is idempotent", async () => {
    const { loadPolicy } = await import('../../src/policy/load.js');
    const appPolicy = fc
      .record({
        shell: fc.constantFrom('true', 'image', 'init-container', undefined),
        quiet: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
        maxDelay: fc.option(fc.integer({ min: 5, max: 120 }), { nil: undefined }),
      })
      .map((a) =>
        [
          'apiVersion: meshdrain.dev/v1alpha1',
          'kind: ShutdownPolicy',
          'defaults:',
          '  app:',
          `    shutdown: 20s`,
          ...(a.shell !== undefined ? [`    shell: ${a.shell}`] : []),
          ...(a.quiet !== undefined ? [`    quiet: ${a.quiet}ms`] : []),
          ...(a.maxDelay !== undefined ? [`    maxDelay: ${a.maxDelay}s`] : []),
          '',
        ].join('\n'),
      );
    fc.assert(
      fc.property(manifest, appPolicy, (text, policyText) => {
        const policy = loadPolicy(policyText, 'p.yaml');
        const injected = injectText(text, 'gen.yaml', { policy }).output;
        const bad = lint([{ file: 'gen.yaml', text: injected }]).findings.filter((f) => f.severity === 'error' || f.rule === 'grace-period-too-short');
        expect(bad, `policy:\n${policyText}\ninput:\n${text}\noutput:\n${injected}`).toEqual([]);
        expect(injectText(injected, 'gen.yaml', { policy }).output).toBe(injected);
      }),
      { numRuns: 100 },
    );
  });

  it('also with --via template (the hold comes from a custom injection template)', () => {
    fc.assert(
      fc.property(manifest, (text) => {
        const injected = injectText(text, 'gen.yaml', { via: 'template' }).output;
        const errors = lint([{ file: 'gen.yaml', text: injected }]).findings.filter((f) => f.severity === 'error');
        expect(errors, `input:\n${text}\noutput:\n${injected}`).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('with --via template and the template itself in the mesh config (lint reads the hold out of it)', () => {
    // The template `meshdrain istio template` renders today with its defaults: the one inject assumes (ADR 086).
    const values = renderTemplateOutput('helm-values', { hold: templateHold(null), nativeDrain: templateNativeDrain(null) });
    fc.assert(
      fc.property(manifest, (text) => {
        const injected = injectText(text, 'gen.yaml', { via: 'template' }).output;
        const errors = lint([{ file: 'gen.yaml', text: injected }], [{ file: 'values.yaml', text: values }]).findings.filter((f) => f.severity === 'error');
        expect(errors, `input:\n${text}\noutput:\n${injected}`).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it("inject --via template sizes the grace period for the template's fixed hold timeout (23s + 5s drain + 2s)", () => {
    const values = readFileSync(new URL('../../fixtures/lint/mesh/meshdrain-template-values.yaml', import.meta.url), 'utf8');
    const text = stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'a' }] } });
    const injected = injectText(text, 'gen.yaml', { via: 'template' }).output;
    const errors = lint([{ file: 'gen.yaml', text: injected }], [{ file: 'values.yaml', text: values }]).findings.filter((f) => f.severity === 'error');
    expect(errors).toEqual([]);
  });

  it('an exec `sleep 40` app preStop is counted by inject, so lint finds the grace period long enough', () => {
    const text = stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'app', image: 'a', lifecycle: { preStop: { exec: { command: ['sleep', '40'] } } } }] },
    });
    const injected = injectText(text, 'gen.yaml').output;
    const findings = lint([{ file: 'gen.yaml', text: injected }]).findings.filter((f) => f.rule === 'grace-period-too-short' || f.severity === 'error');
    expect(findings).toEqual([]);
  });

  it('reads EXIT_ON_ZERO_ACTIVE_CONNECTIONS as pilot-agent does (Go ParseBool: "1" is true), like inject', () => {
    const text = stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      // terminationDrainDuration is ignored in EXIT_ON_ZERO mode; read as "not true", lint would count 60s.
      metadata: { name: 'p', annotations: { 'proxy.istio.io/config': JSON.stringify({ terminationDrainDuration: '60s', proxyMetadata: { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: '1', MINIMUM_DRAIN_DURATION: '20s' } }) } },
      spec: { containers: [{ name: 'app', image: 'a' }] },
    });
    const injected = injectText(text, 'gen.yaml').output;
    expect(injected).toContain('terminationGracePeriodSeconds: 48'); // 5 + 20 + 0.5 (hold linger) + 20 (minimum drain) + 2
    expect(lint([{ file: 'gen.yaml', text: injected }]).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('and inject output is not trivially clean: lint does fire on the same inputs before inject', () => {
    // Guards against a property that passes because lint never reports anything.
    let before = 0;
    fc.assert(
      fc.property(manifest, (text) => {
        before += lint([{ file: 'gen.yaml', text }]).findings.filter((f) => f.severity === 'error').length;
      }),
      { numRuns: 100, seed: 42 },
    );
    expect(before).toBeGreaterThan(0);
  });
});
