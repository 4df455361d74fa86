/**
 * QA 7 F18: a pod that selects a hold from the patched injector's catalog (meshdrain.dev/wait-for) gets
 * exactly the hold the ConfigMap installed; lint reads it back (istio/injector-branch.ts
 * readAnnotationBranch) and judges it with the same budget rules as any hold (ADR 086).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { holdFromOptions } from '../../src/istio/holds.js';
import { patchInjectorConfigMap } from '../../src/istio/injector.js';
import { lint } from '../../src/lint/engine.js';
import { ROOT } from '../helpers/cli.js';

const CM = `${ROOT}fixtures/istio/injector/istio-sidecar-injector-configmap.yaml`;
const patched = patchInjectorConfigMap(readFileSync(CM, 'utf8'), CM, { mode: 'annotation', hold: holdFromOptions({}) }).text;
const pod = (waitFor: string, grace = '') =>
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n      annotations: {meshdrain.dev/wait-for: ${JSON.stringify(waitFor)}}\n    spec:\n${grace}      containers:\n      - name: web\n        image: web:1\n        lifecycle: {preStop: {sleep: {seconds: 5}}}\n`;
const run = (text: string, mesh = [{ file: 'patched.yaml', text: patched }]) =>
  lint([{ file: 'wf.yaml', text }], mesh, { appShutdownSeconds: 10, istioVersion: { major: 1, minor: 24 }, kubeVersion: { major: 1, minor: 30 } }).findings.filter((f) => f.rule !== 'app-delay-guessed');

describe("lint judges the patched injector's catalog hold a pod selects (F18)", () => {
  it('sleep=30s under the default 30 s grace: an error naming the hold beyond the app and the drain', () => {
    const f = run(pod('sleep=30s'));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ rule: 'grace-period-too-short', severity: 'error' });
    expect(f[0]!.message).toMatch(/15 \(proxy hold beyond the app\) \+ 5 \(Istio drain\) \+ 2 \(margin\) = 37s/);
    // With the grace period the catalog note names, it fits.
    expect(run(pod('sleep=30s', '      terminationGracePeriodSeconds: 37\n'))).toEqual([]);
  });

  it('sleep=5s: the proxy leaves before the app; sleep=20s, app-listeners and an unknown value (the default hold) fit', () => {
    const f = run(pod('sleep=5s'));
    expect(f.map((x) => x.rule)).toEqual(['proxy-exits-before-app']);
    expect(f[0]!.message).toMatch(/ends after its fixed 5s \(sleep\) \+ 5s drain = 10s/);
    for (const v of ['sleep=20s', 'app-listeners', 'not-in-catalog']) expect(run(pod(v)), v).toEqual([]);
  });

  it('with sidecar.istio.io/preStopCommand set too, the wait-for hold is judged: the patched template checks wait-for first', () => {
    // A raw command that would be fine (a 20 s sleep); the template renders the wait-for catalog hold.
    const both = pod('sleep=30s').replace('annotations: {', 'annotations: {sidecar.istio.io/preStopCommand: "sleep 20", ');
    const f = run(both);
    expect(f.map((x) => x.rule)).toEqual(['grace-period-too-short']);
    expect(f[0]!.message).toMatch(/= 37s/);
  });

  it('without the ConfigMap, the hold stays unknown (no guess): no finding from it', () => {
    expect(run(pod('sleep=30s'), []).filter((f) => f.rule === 'grace-period-too-short' && f.severity === 'error')).toEqual([]);
  });
});
