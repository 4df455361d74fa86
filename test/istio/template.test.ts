import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { InputError } from '../../src/errors.js';
import { holdFromOptions } from '../../src/istio/holds.js';
import {
  addTemplateToConfig,
  checkTemplateName,
  proxyContainerPatch,
  renderInjectionTemplate,
  renderTemplateOutput,
  templateAnnotationValue,
  templateNativeDrainCommand,
  templateNativePodSpecPatch,
  templatePodSpecPatch,
} from '../../src/istio/template.js';
import { templateNativeDrain } from '../../src/plan/facts.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { NATIVE_DRAIN_PRESTOP } from '../../src/istio/facts.js';
import { goExecute, goParses } from './gorender.js';
import { FIX, INJECTOR, kubectlPatch, read, regexBalance, runCli, templateOf } from './helpers.js';
import { needTools } from '../helpers/tools.js';

const hold = holdFromOptions({});
const opts = { hold };

type Obj = Record<string, any>;

/** Where the pod spec lives in a workload. */
function podPath(kind: string): string[] {
  if (kind === 'Pod') return [];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template'];
  return ['spec', 'template'];
}

function getIn(o: Obj, path: string[]): Obj {
  return path.reduce<Obj>((x, k) => x[k], o);
}

function nest(path: string[], v: unknown): Obj {
  return path.reduceRight<Obj>((acc, k) => ({ [k]: acc }), v as Obj);
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x));
}

const WORKLOADS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

/**
 * Render our template with Go's text/template for a pod (sprig's `default` written as the builtin
 * `or`, which is the same for strings).
 */
async function goRenderTemplate(tmpl: string, annotations: Record<string, string>, nativeSidecars: boolean): Promise<Obj> {
  const src = tmpl.replace(
    'index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)',
    'or (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar`) (printf "%t" .NativeSidecars)',
  );
  return parseYaml(await goExecute(src, { ObjectMeta: { Annotations: annotations }, NativeSidecars: nativeSidecars })) as Obj;
}

/** Every workload with an injected istio-proxy in the real Istio outputs. */
function injectedWorkloads(): { file: string; obj: Obj }[] {
  const out: { file: string; obj: Obj }[] = [];
  for (const f of readdirSync(`${FIX}injected`).filter((n) => n.endsWith('.injected'))) {
    const docs = parseAllDocuments(read(`${FIX}injected/${f}`));
    for (const d of Array.isArray(docs) ? docs : []) {
      const v = d.toJS() as Obj | null;
      if (!v?.kind) continue;
      for (const obj of v.kind === 'List' ? (v.items as Obj[]) : [v]) if (WORKLOADS.has(obj.kind)) out.push({ file: f, obj });
    }
  }
  return out;
}

function proxyIn(spec: Obj): { list: 'containers' | 'initContainers'; index: number } {
  for (const list of ['containers', 'initContainers'] as const) {
    const i = ((spec[list] ?? []) as Obj[]).findIndex((c) => c.name === 'istio-proxy');
    if (i >= 0) return { list, index: i };
  }
  throw new Error('no istio-proxy');
}

/**
 * What Istio renders from our template for a pod, for the static branches of the template: the
 * native branch (`spec: {}`) or the classic one. The classic body holds no Go action at all, so its
 * text is the rendered output (checked here).
 */
function renderFor(native: boolean, tmpl: string): Obj {
  const lines = tmpl.split('\n');
  const els = lines.indexOf('{{- else }}');
  const end = lines.lastIndexOf('{{- end }}');
  expect(els).toBeGreaterThan(0);
  const classic = lines.slice(els + 1, end).join('\n');
  const nativeBody = lines.slice(lines.findIndex((l) => l.startsWith('{{- if ')) + 1, els).filter((l) => !l.startsWith('{{')).join('\n');
  expect(classic).not.toContain('{{');
  return parseYaml(native ? nativeBody : classic) as Obj;
}

describe('templateAnnotationValue', () => {
  it('selects Istio\'s sidecar template, then ours', () => {
    expect(templateAnnotationValue()).toBe('sidecar,meshdrain');
    expect(templateAnnotationValue('drain')).toBe('sidecar,drain');
    expect(templateAnnotationValue('meshdrain', 'sidecar,custom')).toBe('sidecar,custom,meshdrain');
    expect(templateAnnotationValue('meshdrain', 'sidecar, meshdrain')).toBe('sidecar, meshdrain');
  });
  it('refuses names Istio cannot use', () => {
    for (const bad of ['Mesh', 'a,b', 'sidecar', '', 'x y', '-a']) expect(() => checkTemplateName(bad), bad).toThrow(InputError);
  });
});

describe('the custom injection template', () => {
  needTools('kubectl');
  const tmpl = renderInjectionTemplate(opts);

  it('is a balanced Go template whose classic branch is exactly the istio-proxy hold', () => {
    const b = regexBalance(tmpl);
    expect(b.openers).toBe(b.ends);
    expect(renderFor(false, tmpl)).toEqual({ spec: { containers: [proxyContainerPatch(opts)] } });
    // Native: istio-proxy's init container gets inject's native drain (default policy: app delay 5s → drain at 4s), exec only, no curl.
    const nativeCmd = ['/bin/sh', '-c', "#!/bin/sh\n# meshdrain native drain for istio-proxy's preStop: drain inbound 4s after termination starts\nsleep 4\nexec pilot-agent request --debug-port=15020 POST drain\n"];
    expect(renderFor(true, tmpl)).toEqual({ spec: { initContainers: [{ name: 'istio-proxy', lifecycle: { preStop: { exec: { command: nativeCmd } } } }] } });
    expect(tmpl).not.toContain('curl');
    expect(tmpl).not.toContain('httpGet');
    // proxy.nativeDrain: istio keeps Istio's own drain: the native branch writes nothing.
    const istioDrain = renderInjectionTemplate({ ...opts, nativeDrain: null });
    expect(renderFor(true, istioDrain)).toEqual({ spec: {} });
    // Native detection mirrors Istio's own template expression.
    const istio = read(`${FIX}injected/injection-template.yaml`);
    expect(istio).toContain('(index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false"');
    expect(tmpl).toContain('(index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false"');
    expect(renderInjectionTemplate({ hold, nativeCheck: 'off' })).not.toContain('NativeSidecars');
    expect(renderInjectionTemplate({ hold, nativeCheck: 'annotation' })).not.toContain('NativeSidecars');
  });

  it("Go parses and executes every variant; the annotation decides over istiod's default", async () => {
    for (const nativeCheck of ['field', 'annotation', 'off'] as const) {
      const t = renderInjectionTemplate({ hold, nativeCheck });
      await goParses(t);
      const classic = { spec: { containers: [proxyContainerPatch(opts)] } };
      const native = { spec: templateNativePodSpecPatch(opts) };
      const r = (a: Record<string, string>, n: boolean) => goRenderTemplate(t, a, n);
      if (nativeCheck === 'off') {
        expect(await r({ 'sidecar.istio.io/nativeSidecar': 'true' }, true)).toEqual(classic);
        continue;
      }
      expect(await r({}, false)).toEqual(classic);
      expect(await r({ 'sidecar.istio.io/nativeSidecar': 'true' }, false)).toEqual(native);
      expect(await r({ 'sidecar.istio.io/nativeSidecar': 'false' }, true)).toEqual(classic);
      expect(await r({}, true)).toEqual(nativeCheck === 'field' ? native : classic);
    }
  });

  it('helm-values and istio-operator formats carry the same template under templates.<name>', () => {
    const h = parseYaml(renderTemplateOutput('helm-values', { ...opts, name: 'drain' }));
    expect(h.sidecarInjectorWebhook.templates.drain).toBe(renderInjectionTemplate({ ...opts, name: 'drain' }));
    const op = parseYaml(renderTemplateOutput('istio-operator', opts));
    expect(op.kind).toBe('IstioOperator');
    expect(op.spec.values.sidecarInjectorWebhook.templates.meshdrain).toBe(tmpl);
  });

  it('the stub override drops `image: auto` in Istio (real output), which the merge test mirrors', () => {
    const injected = read(`${FIX}injected/proxy-override.yaml.injected`);
    const overrides = JSON.parse(/proxy\.istio\.io\/overrides: '(.*)'/.exec(injected)![1]!) as Obj;
    const proxy = (overrides.initContainers as Obj[]).find((c) => c.name === 'istio-proxy')!;
    expect(proxy.image).toBeUndefined();
    expect(injected).toContain('image: registry.istio.io/testing/proxyv2:latest');
  });

  const workloads = injectedWorkloads();
  it('the fixtures hold classic and native injected pods', () => {
    const lists = workloads.map((w) => proxyIn(getIn(w.obj, [...podPath(w.obj.kind), 'spec'])).list);
    expect(lists).toContain('containers');
    expect(lists).toContain('initContainers');
    expect(workloads.length).toBeGreaterThanOrEqual(15);
  });

  for (const { file, obj } of workloads) {
    const pp = podPath(obj.kind);
    const label = `${file}: ${obj.kind} ${obj.metadata?.name ?? ''}`;
    it(`strategic merge (kubectl) onto ${label}: istio-proxy keeps every injected field and gains exactly the hold`, async () => {
      const base = kubectlPatch(JSON.stringify(obj), {}) as Obj;
      const spec = getIn(base, [...pp, 'spec']);
      const where = proxyIn(spec);
      const native = where.list === 'initContainers';
      const before = clone(spec[where.list][where.index]) as Obj;
      const expectProxy = clone(before);
      expectProxy.lifecycle = { ...(before.lifecycle ?? {}), preStop: proxyContainerPatch(opts).lifecycle.preStop };
      // A native sidecar: Istio's immediate drain (as injected) becomes inject's native drain, and nothing else.
      const expectNative = clone(before);
      expectNative.lifecycle = { ...(before.lifecycle ?? {}), preStop: { exec: { command: templateNativeDrainCommand(opts) } } };

      const check = (after: Obj, wantProxy: Obj) => {
        const s = getIn(after, [...pp, 'spec']);
        expect(s[where.list][where.index]).toEqual(wantProxy);
        // Nothing else in the object moved.
        const a = clone(after);
        const b = clone(base);
        getIn(a, [...pp, 'spec'])[where.list].splice(where.index, 1);
        getIn(b, [...pp, 'spec'])[where.list].splice(where.index, 1);
        expect(a).toEqual(b);
      };

      // 1. The istio-proxy override stub as inject writes it; Istio drops `image: auto` and, for native
      //    sidecars, merges it into the initContainers entry.
      const stub: Obj = { name: 'istio-proxy', image: 'auto', lifecycle: proxyContainerPatch(opts).lifecycle };
      const { image: _auto, ...stubAsIstioMergesIt } = stub;
      check(kubectlPatch(JSON.stringify(base), nest([...pp, 'spec', where.list], [stubAsIstioMergesIt])) as Obj, expectProxy);

      // 2. Our template's output, rendered by Go as istiod would (it strategic-merges each template's
      //    output over the pod). istiod's NativeSidecars setting is what put istio-proxy where it is.
      const annotations = (getIn(obj, pp).metadata?.annotations ?? {}) as Record<string, string>;
      const out = await goRenderTemplate(renderInjectionTemplate(opts), annotations, native);
      expect(out).toEqual(renderFor(native, renderInjectionTemplate(opts)));
      const merged = kubectlPatch(JSON.stringify(base), nest(pp, out)) as Obj;
      if (native) {
        // Istio injected its immediate drain; the template replaces exactly that preStop (exec only).
        // (proxy-override.yaml carries the user's own preStop in proxy.istio.io/overrides: istiod
        // reapplies that after the templates, webhook.go injectPod, so there the user's stays.)
        const users = getIn(obj, pp).metadata?.annotations?.['proxy.istio.io/overrides'] !== undefined;
        if (!users) expect(before.lifecycle.preStop).toEqual({ exec: { command: [...NATIVE_DRAIN_PRESTOP] } });
        check(merged, expectNative);
        expect(Object.keys(getIn(merged, [...pp, 'spec'])[where.list][where.index].lifecycle.preStop)).toEqual(['exec']);
        // With proxy.nativeDrain: istio the template leaves Istio's drain alone.
        const kept = await goRenderTemplate(renderInjectionTemplate({ ...opts, nativeDrain: null }), annotations, native);
        expect(kubectlPatch(JSON.stringify(base), nest(pp, kept))).toEqual(base);
      } else {
        check(merged, expectProxy);
      }
    });
  }
});

describe('the template for distroless proxies (--shell-image)', () => {
  needTools('kubectl');
  const o = { hold, shellImage: 'busybox:1.36.1-musl' };
  const tmpl = renderInjectionTemplate(o);

  it('Go renders the init container, the volume and the mount with the hold', async () => {
    await goParses(tmpl);
    const out = await goRenderTemplate(tmpl, {}, false);
    expect(out).toEqual({ spec: templatePodSpecPatch(o) });
    const spec = out.spec as Obj;
    expect(spec.containers[0].lifecycle.preStop.exec.command[0]).toBe('/meshdrain/bin/sh');
    expect(spec.initContainers[0].command.join(' ')).toContain('/meshdrain/bin');
    expect(spec.volumes).toEqual([{ name: 'meshdrain-bin', emptyDir: {} }]);
    // Native: the drain sleeps first, so it runs in the brought-in shell, on istio-proxy's init container.
    const nat = (await goRenderTemplate(tmpl, {}, true)).spec as Obj;
    expect(nat).toEqual(templateNativePodSpecPatch(o));
    expect(nat.initContainers[0]).toMatchObject({ name: 'istio-proxy', volumeMounts: [{ name: 'meshdrain-bin', mountPath: '/meshdrain/bin' }] });
    expect(nat.initContainers[0].lifecycle.preStop.exec.command[0]).toBe('/meshdrain/bin/sh');
    expect(nat.initContainers[1].name).toBe('meshdrain-shell');
    expect(nat.volumes).toEqual([{ name: 'meshdrain-bin', emptyDir: {} }]);
  });

  it('strategic merge onto the real classic injected pod adds exactly that', async () => {
    const pod = parseAllDocuments(read(`${FIX}injected/native-sidecar-opt-out.yaml.injected`)) as any[];
    const base = kubectlPatch(JSON.stringify(pod[0].toJS()), {}) as Obj;
    const merged = kubectlPatch(JSON.stringify(base), await goRenderTemplate(tmpl, {}, false)) as Obj;
    const i = base.spec.containers.findIndex((c: Obj) => c.name === 'istio-proxy');
    const before = base.spec.containers[i];
    const after = merged.spec.containers[i];
    // Strategic merge keys lists by name/mountPath; where a new entry lands in the list is not part of the contract.
    const byKey = (l: Obj[], k: string) => [...l].sort((x, y) => String(x[k]).localeCompare(String(y[k])));
    expect({ ...after, volumeMounts: byKey(after.volumeMounts, 'mountPath') }).toEqual({
      ...before,
      lifecycle: { ...(before.lifecycle ?? {}), preStop: proxyContainerPatch(o).lifecycle.preStop },
      volumeMounts: byKey([...before.volumeMounts, { name: 'meshdrain-bin', mountPath: '/meshdrain/bin' }], 'mountPath'),
    });
    expect(byKey(merged.spec.initContainers, 'name')).toEqual(byKey([...base.spec.initContainers, (templatePodSpecPatch(o).initContainers as Obj[])[0]!], 'name'));
    expect(byKey(merged.spec.volumes, 'name')).toEqual(byKey([...base.spec.volumes, { name: 'meshdrain-bin', emptyDir: {} }], 'name'));
    const rest = (x: Obj) => ({ ...x, spec: { ...x.spec, containers: x.spec.containers.filter((c: Obj) => c.name !== 'istio-proxy'), initContainers: undefined, volumes: undefined } });
    expect(rest(merged)).toEqual(rest(base));
  });

  it('refuses an image reference with shell or YAML characters', () => {
    expect(() => renderInjectionTemplate({ hold, shellImage: 'busybox"; rm' })).toThrow(InputError);
    expect(() => renderInjectionTemplate({ hold, shellImage: 'x\ny: 1' })).toThrow(InputError);
  });
});

describe('addTemplateToConfig', () => {
  const t = '{{- if x }}\nspec: {}\n{{- end }}\n';
  const layouts: Record<string, string> = {
    'templates last': 'policy: enabled\ntemplates:\n  sidecar: |\n    a\n    b\n',
    'templates before another key, blank line inside a block': 'templates:\n  sidecar: |\n    a\n\n    b\npolicy: enabled\n',
    'empty flow map': 'templates: {}\npolicy: enabled\n',
    '4-space indentation, two templates': 'templates:\n    sidecar: |-\n      a\n    gateway: |\n      g\ninjectedAnnotations: {}\n',
  };
  for (const [what, cfg] of Object.entries(layouts)) {
    it(what, () => {
      const out = addTemplateToConfig(cfg, 'meshdrain', t);
      const before = parseYaml(cfg);
      const after = parseYaml(out);
      expect(after.templates.meshdrain).toBe(t);
      delete after.templates.meshdrain;
      expect(after).toEqual(before);
      expect(addTemplateToConfig(out, 'meshdrain', t)).toBe(out);
      const updated = parseYaml(addTemplateToConfig(out, 'meshdrain', t.replace('x', 'y')));
      expect(updated.templates.meshdrain).toBe(t.replace('x', 'y'));
      delete updated.templates.meshdrain;
      expect(updated).toEqual(before);
    });
  }
});

describe('istio template CLI', () => {
  it('prints Helm values by default', async () => {
    const r = await runCli(['istio', 'template']);
    expect(r.code).toBe(0);
    expect(parseYaml(r.stdout).sidecarInjectorWebhook.templates.meshdrain).toBe(renderInjectionTemplate(opts));
  });

  it('--wait-for and --timeout reach the hold', async () => {
    const r = await runCli(['istio', 'template', '--format', 'raw', '--wait-for', 'ports=8080', '--timeout', '40s']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(renderInjectionTemplate({ hold: holdFromOptions({ waitFor: ['ports=8080'], timeout: '40s' }) }));
  });

  it("-c POLICY renders the policy's template: section, the same hold inject --via template sizes grace periods for", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-tmpl-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ntemplate:\n  name: drain-wait\n  waitFor: [ports=8080]\n  timeout: 60s\ndefaults:\n  via: template\n');
      const r = await runCli(['istio', 'template', '--format', 'raw', '-c', file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(renderInjectionTemplate({ name: 'drain-wait', hold: holdFromOptions({ waitFor: ['ports=8080'], timeout: '60s' }) }));
      const both = await runCli(['istio', 'template', '-c', file, '--timeout', '30s']);
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/^meshdrain: --timeout with -c .*policy\.yaml: the template's settings come from the policy's template: section, .*; set template\.timeout there instead\n$/);
      expect(both.stdout).toBe('');
      // A flag for a field the policy leaves out is refused too (ADR 087): the template would get it, but
      // inject -c POLICY --via template never sees it, and would size grace periods for another hold.
      for (const [flag, value, field] of [['--interval', '1s', 'interval'], ['--wait-for', 'app-listeners', 'waitFor'], ['--shell-image', 'busybox:1.37.0-musl', 'shellImage']] as const) {
        const r2 = await runCli(['istio', 'template', '-c', file, flag, value]);
        expect(r2.code, flag).toBe(2);
        expect(r2.stdout).toBe('');
        expect(r2.stderr).toMatch(new RegExp(`^meshdrain: ${flag} with -c .*set template\\.${field} there instead\\n$`));
      }
      const bare = join(dir, 'bare.yaml');
      writeFileSync(bare, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {shutdown: 45s}\n');
      const noSection = await runCli(['istio', 'template', '-c', bare, '--timeout', '60s']);
      expect(noSection.code).toBe(2);
      expect(noSection.stderr).toMatch(/--timeout with -c .*bare\.yaml: .*set template\.timeout there instead/);
      // inject with the same policy sizes the grace period for that 60s hold: 60 + 5 drain + 2 margin.
      const inj = await runCli(['inject', '-c', file, '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: app, image: a}]\n');
      expect(inj.code).toBe(0);
      expect(parseYaml(inj.stdout).spec.terminationGracePeriodSeconds).toBe(67);
      expect(parseYaml(inj.stdout).metadata.annotations['inject.istio.io/templates']).toBe('sidecar,drain-wait');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("-c POLICY: native pods get the drain inject writes under that policy (app.delay 10s → 9s; proxy.nativeDrain: istio → Istio's)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-tmpl-native-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 10s}\n');
      const r = await runCli(['istio', 'template', '--format', 'raw', '-c', file]);
      expect(r.code).toBe(0);
      const native = renderFor(true, r.stdout) as Obj;
      expect(native.spec.initContainers[0].lifecycle.preStop.exec.command[2]).toContain('sleep 9\nexec pilot-agent request --debug-port=15020 POST drain');
      // The very command inject writes for a native pod under that policy.
      const inj = await runCli(['inject', '-c', file, '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {sidecar.istio.io/nativeSidecar: "true"}, labels: {sidecar.istio.io/inject: "true"}}\nspec:\n  containers: [{name: app, image: a}]\n');
      const o = JSON.parse(parseYaml(inj.stdout).metadata.annotations['proxy.istio.io/overrides']);
      expect(native.spec.initContainers[0].lifecycle.preStop).toEqual(o.initContainers[0].lifecycle.preStop);
      writeFileSync(file, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {nativeDrain: istio}\n');
      const kept = await runCli(['istio', 'template', '--format', 'raw', '-c', file]);
      expect(renderFor(true, kept.stdout)).toEqual({ spec: {} });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--format configmap adds the template to the real injector ConfigMap, idempotently', async () => {
    const src = read(INJECTOR.modern);
    const r = await runCli(['istio', 'template', '--format', 'configmap', '-'], src);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/overwritten by the next helm upgrade/);
    const docs = parseAllDocuments(r.stdout);
    const cm = (Array.isArray(docs) ? docs[0]! : docs).toJS() as Obj;
    const cfg = parseYaml(cm.data.config);
    expect(cfg.templates.meshdrain).toBe(renderInjectionTemplate(opts));
    expect(cfg.templates.sidecar).toBe(templateOf(src));
    expect(r.stdout.startsWith(src.slice(0, src.indexOf('\n  values: |-')))).toBe(true);
    const again = await runCli(['istio', 'template', '--format', 'configmap', '-'], r.stdout);
    expect(again.stdout).toBe(r.stdout);
    const updated = await runCli(['istio', 'template', '--format', 'configmap', '--timeout', '9s', '-'], r.stdout);
    expect(parseYaml((parseAllDocuments(updated.stdout) as any)[0].toJS().data.config).templates.meshdrain).toBe(
      renderInjectionTemplate({ hold: holdFromOptions({ timeout: '9s' }) }),
    );
  });

  it('--format configmap on Istio 1.5 (no templates map) is refused with exit 2', async () => {
    const r = await runCli(['istio', 'template', '--format', 'configmap', INJECTOR.v15]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/does not support custom injection templates/);
  });

  it('bad --name is exit 2', async () => {
    expect((await runCli(['istio', 'template', '--name', 'Bad Name'])).code).toBe(2);
  });
});

describe("the template's default hold is inject's (ADR 015)", () => {
  it('without --wait-for: app-listeners + app-connections, 1s linger, drain at start', () => {
    // 28 s: it drains at its start, so it may last until the margin of a 30 s grace period (ADR 086)
    expect(holdFromOptions({})).toEqual({ strategies: [{ kind: 'app-listeners' }, { kind: 'app-connections' }], lingerMs: 500, drainAtStart: true, timeoutMs: 28_000, intervalMs: 200 });
    // a --wait-for the user names is kept as written, without a linger or the drain at start: Istio's
    // 5 s drain follows it, so 30 - 5 - 2 = 23 s
    expect(holdFromOptions({ waitFor: ['app-listeners'] })).toEqual({ strategies: [{ kind: 'app-listeners' }], timeoutMs: 23_000, intervalMs: 200 });
  });
});
