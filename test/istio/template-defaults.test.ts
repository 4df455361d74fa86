/**
 * ADR 086: with every default, the cluster-wide template's hold, inject --via template and lint agree.
 * The template's hold drains at its start, so no Istio drain follows it: its default timeout is the
 * longest that ends before the margin of Kubernetes' default 30 s grace period (28 s), and it covers
 * inject's default estimate of the app (5 s delay + 20 s shutdown + the 500 ms linger).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { renderTemplateOutput } from '../../src/istio/template.js';
import { lint } from '../../src/lint/engine.js';
import { templateHold, templateNativeDrain } from '../../src/plan/facts.js';
import { proxyLifeSeconds, GRACE_MARGIN_SECONDS } from '../../src/plan/budget.js';
import { DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS } from '../../src/istio/facts.js';
import { INJECTOR, runCli } from './helpers.js';

const deployment = (extra = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web, sidecar.istio.io/inject: "true"}\n${extra}    spec:\n      containers:\n      - {name: web, image: web:1}\n`;
const values = () => renderTemplateOutput('helm-values', { hold: templateHold(null), nativeDrain: templateNativeDrain(null) });
const RULES = ['proxy-exits-before-app', 'grace-period-too-short'];

describe('the template default hold (ADR 086)', () => {
  it("covers the default app estimate and ends before the default grace period's SIGKILL", () => {
    const hold = templateHold(null);
    expect(hold.drainAtStart).toBe(true);
    const life = proxyLifeSeconds(hold.timeoutMs / 1000, DEFAULT_TERMINATION_DRAIN_SECONDS, true);
    expect(life).toBe(28);
    expect(life + GRACE_MARGIN_SECONDS).toBeLessThanOrEqual(DEFAULT_GRACE_SECONDS);
    expect(life).toBeGreaterThanOrEqual(5 + 20 + 0.5);
  });

  it('inject --via template: no short-hold note, the same 33 s grace as the annotation; lint finds nothing on the output', () => {
    const r = injectText(deployment(), 'd.yaml', { via: 'template' });
    expect(r.notes.join('\n')).not.toMatch(/hold gives up/);
    const grace = parse(r.output).spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBe(33);
    expect(grace).toBe(parse(injectText(deployment(), 'd.yaml').output).spec.template.spec.terminationGracePeriodSeconds);
    const found = lint([{ file: 'd.yaml', text: r.output }], [{ file: 'values.yaml', text: values() }]).findings.filter((f) => RULES.includes(f.rule));
    expect(found).toEqual([]);
  });

  it("a pod left at Kubernetes' default grace period that selects the template: the hold fits it (no SIGKILL-cuts finding)", () => {
    const pod = deployment('      annotations: {inject.istio.io/templates: "sidecar,meshdrain"}\n');
    const found = lint([{ file: 'd.yaml', text: pod }], [{ file: 'values.yaml', text: values() }], { appShutdownSeconds: 10 }).findings.filter((f) => RULES.includes(f.rule));
    expect(found).toEqual([]);
    // Before pilot-agent had /drain (Istio 1.21), Istio's 5 s drain follows the hold: 28 + 5 + 2 > 30.
    const old = lint([{ file: 'd.yaml', text: pod }], [{ file: 'values.yaml', text: values() }], { appShutdownSeconds: 10, istioVersion: { major: 1, minor: 20 } }).findings;
    expect(old.map((f) => f.message).join('\n')).toMatch(/28 \(hold timeout\) \+ 5 \(Istio drain\) \+ 2 \(margin\) = 35s; SIGKILL cuts the drain/);
  });

  it("a cluster whose injector runs the template by default (defaultTemplates): a pod without the annotation gets its hold, in lint and inject", () => {
    const withDefaults = values().replace(/^sidecarInjectorWebhook:\n/m, 'sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, meshdrain]\n');
    expect(withDefaults).toContain('defaultTemplates: [sidecar, meshdrain]');
    const lintWith = (mesh: string) => lint([{ file: 'd.yaml', text: deployment() }], [{ file: 'values.yaml', text: mesh }], { appShutdownSeconds: 10 }).findings.filter((f) => f.rule === 'proxy-exits-before-app');
    expect(lintWith(values()).map((f) => f.message).join('\n')).toMatch(/exits after 5s drain/);
    expect(lintWith(withDefaults)).toEqual([]);
    // inject with the same mesh config: the template carries the hold; nothing else is written for istio-proxy.
    const r = injectText(deployment(), 'd.yaml', { via: 'template', defaultTemplates: ['sidecar', 'meshdrain'] });
    const meta = parse(r.output).spec.template.metadata;
    expect(meta.annotations?.['inject.istio.io/templates']).toBeUndefined();
    expect(meta.annotations?.['proxy.istio.io/overrides']).toBeUndefined();
  });

  it('istio template: says when a hold does not fit the default grace period, and not for the default', async () => {
    const plain = await runCli(['istio', 'template', '--format', 'raw']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toContain('timeout 28s');
    const long = await runCli(['istio', 'template', '--format', 'raw', '--timeout', '40s']);
    expect(long.code).toBe(0);
    expect(long.stderr).toMatch(/^meshdrain: note: the template's hold \(timeout 40s\) needs terminationGracePeriodSeconds ≥ 42s; pods left at Kubernetes' default 30s/);
    const listeners = await runCli(['istio', 'template', '--format', 'raw', '--wait-for', 'app-listeners']);
    expect(listeners.stderr).toBe('');
    expect(listeners.stdout).toContain('timeout 23s');
  });

  it('a sleep= beyond the cluster default: the template renders it whole, as inject --via template budgets it and injector-patch renders it (QA 9 F3)', async () => {
    // Flags, and the policy's template: section (ADR 087): one rule, holds.ts clusterHold.
    const flags = await runCli(['istio', 'template', '--format', 'raw', '--wait-for', 'sleep=35s']);
    expect(flags.code).toBe(0);
    expect([...new Set(flags.stdout.match(/timeout [0-9]+s/g))]).toEqual(['timeout 35s']);
    expect(flags.stderr).toMatch(/^meshdrain: note: the template's hold \(timeout 35s, then Istio's drain\) needs terminationGracePeriodSeconds ≥ 42s;/);
    // -w is --wait-for, as in hook and image (QA 9 F15).
    const short = await runCli(['istio', 'template', '--format', 'raw', '-w', 'sleep=35s']);
    expect(short.code, short.stderr).toBe(0);
    expect(short.stdout).toBe(flags.stdout);
    const dir = mkdtempSync(join(tmpdir(), 'md-tpl-'));
    try {
      const pol = join(dir, 'p.yaml');
      writeFileSync(pol, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ntemplate:\n  waitFor: [sleep=35s]\n');
      const viaPolicy = await runCli(['istio', 'template', '-c', pol, '--format', 'raw']);
      expect(viaPolicy.code).toBe(0);
      expect(viaPolicy.stdout).toBe(flags.stdout);
      expect(viaPolicy.stderr).toContain('needs terminationGracePeriodSeconds ≥ 42s');
      const mf = join(dir, 'd.yaml');
      writeFileSync(mf, deployment());
      const inj = await runCli(['inject', '-c', pol, '--via', 'template', mf]);
      expect(parse(inj.stdout).spec.template.spec.terminationGracePeriodSeconds).toBe(42);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The injector patch's catalog entry for the same value: the same timeout.
    const patched = await runCli(['istio', 'injector-patch', '--allow', 'sleep=35s', INJECTOR.modern]);
    expect(patched.stderr).toContain('sleep=35s needs terminationGracePeriodSeconds ≥ 42s');
    expect(templateHold({ template: { waitFor: ['sleep=35s'] } } as never).timeoutMs).toBe(35_000);
    // A named timeout below the sleep: the sleep still runs whole, as the catalog gives it.
    expect(templateHold({ template: { waitFor: ['sleep=35s'], timeout: '20s' } } as never).timeoutMs).toBe(35_000);
  });
});
