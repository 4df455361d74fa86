import { spawnSync } from 'node:child_process';
import { nativeDrainCommand } from '../../src/hooks/native-drain.js';
import { NATIVE_DRAIN_PRESTOP } from '../../src/istio/facts.js';
import { templateNativeDrain } from '../../src/plan/facts.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, parseDocument, Scalar, stringify } from 'yaml';
import { InputError } from '../../src/errors.js';
import { formatStrategy, parseStrategy } from '../../src/hooks/strategy.js';
import { branchActions, scanActions } from '../../src/istio/gotemplate.js';
import { buildCatalog, clusterHoldGraceSeconds, holdCommand, holdFromOptions } from '../../src/istio/holds.js';
import { readAnnotationBranch } from '../../src/istio/injector-branch.js';
import { BEGIN_MARK, END_MARK, patchInjectorConfigMap, patchTemplateText, setGlobalLifecycle } from '../../src/istio/injector.js';
import { replaceScalarSource } from '../../src/istio/scalar-edit.js';
import { goExecute, goParses } from './gorender.js';
import { INJECTOR, read, regexBalance, runCli, shellcheck, templateOf, valuesOf } from './helpers.js';
import { needTools } from '../helpers/tools.js';

const hold = holdFromOptions({});
const patchable = [
  ['Istio 1.5.10 (config.template)', INJECTOR.v15],
  ['current Istio (config.templates.sidecar)', INJECTOR.modern],
] as const;

/** Output = original with exactly one contiguous block of lines inserted; returns that block. */
function insertedBlock(original: string, output: string): string[] {
  const a = original.split('\n');
  const b = output.split('\n');
  let p = 0;
  while (p < a.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  expect(p + s, 'every original line is kept, in order, around one inserted block').toBe(a.length);
  return b.slice(p, b.length - s);
}

/**
 * What Go would print for the meshdrain branch when the pod's wait-for annotation is `value`
 * (and $holdProxy is `holdProxy`): the text lines of the taken branches, action lines removed.
 */
function simulateWaitFor(block: string[], value: string, holdProxy: boolean): string {
  const out: string[] = [];
  let i = 0;
  for (; !block[i]!.includes('$meshdrainWaitFor :='); i++) {
    const l = block[i]!;
    // The native branch (a native sidecar that asks) is not the classic pod simulated here.
    if (l.includes('and $nativeSidecar (isset')) {
      while (!block[i + 1]!.includes('{{- else if')) i++;
      continue;
    }
    if (l.includes('{{- if $holdProxy }}')) {
      if (!holdProxy) while (!block[i]!.includes('{{- end }}')) i++;
      continue;
    }
    if (!l.includes('{{') && !l.includes('}}')) out.push(l);
  }
  const start = block.findIndex((l) => l.includes(`eq $meshdrainWaitFor ${JSON.stringify(value)}`));
  expect(start).toBeGreaterThan(0);
  for (let j = start + 1; !block[j]!.includes('{{-'); j++) out.push(block[j]!);
  return out.join('\n') + '\n';
}

/** shellcheck findings as "SCxxxx: message" (line numbers dropped, so scripts can be compared). */
function findings(script: string): string[] {
  const r = shellcheck(`#!/bin/sh\n${script}`, ['-f', 'gcc']);
  return r.out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^[^:]*:\d+:\d+: /, ''));
}

/** Offsets [start,end) of the {{ if .Values.global.proxy.lifecycle }} … {{ end }} conditional. */
function lifecycleConditional(t: string): { start: number; end: number; depth: number } {
  const acts = scanActions(t);
  const i = acts.findIndex((a) => a.kind === 'if' && /^if\s+\.Values\.global\.proxy\.lifecycle$/.test(a.body));
  expect(i).toBeGreaterThanOrEqual(0);
  const br = branchActions(acts, i);
  return { start: acts[i]!.start, end: acts[br[br.length - 1]!]!.end, depth: acts[i]!.depth };
}

describe('injector-patch --mode annotation on real templates', () => {
  needTools('shellcheck', 'dash');
  for (const [label, file] of patchable) {
    describe(label, () => {
      const src = read(file);
      const out = patchInjectorConfigMap(src, file, { mode: 'annotation', hold });
      const t0 = templateOf(src);
      const t1 = templateOf(out.text);

      it('keeps every original line of the ConfigMap and of the template', () => {
        const block = insertedBlock(src, out.text);
        expect(block.some((l) => l.includes(BEGIN_MARK))).toBe(true);
        expect(block.some((l) => l.includes(END_MARK))).toBe(true);
        insertedBlock(t0, t1);
        expect(out.changed).toBe(true);
      });

      it('keeps template actions balanced (counted independently)', () => {
        const b0 = regexBalance(t0);
        const b1 = regexBalance(t1);
        expect(b0.openers).toBe(b0.ends);
        expect(b1.openers).toBe(b1.ends);
        expect(b1.openers).toBeGreaterThan(b0.openers);
        expect(() => scanActions(t1)).not.toThrow();
      });

      it('puts the branch inside the lifecycle conditional, as branches of it', () => {
        const c = lifecycleConditional(t1);
        const b = t1.indexOf(BEGIN_MARK);
        const e = t1.indexOf(END_MARK);
        expect(b).toBeGreaterThan(c.start);
        expect(e).toBeLessThan(c.end);
        const acts = scanActions(t1);
        const mine = acts.filter((a) => a.start > b && a.start < e && a.kind === 'else-if');
        const top = mine.filter((a) => a.depth === c.depth);
        const native = t0.includes('$nativeSidecar :=');
        expect(top).toHaveLength(native ? 3 : 2);
        if (native) expect(top.shift()!.body).toBe('else if and $nativeSidecar (isset .ObjectMeta.Annotations `meshdrain.dev/wait-for`)');
        expect(top[0]!.body).toContain('meshdrain.dev/wait-for');
        expect(top[1]!.body).toContain('sidecar.istio.io/preStopCommand');
      });

      it('keeps the JSON under values valid and unchanged', () => {
        expect(valuesOf(out.text)).toEqual(valuesOf(src));
      });

      it('is idempotent, and a re-run with other options replaces its own block', () => {
        const again = patchInjectorConfigMap(out.text, file, { mode: 'annotation', hold });
        expect(again.text).toBe(out.text);
        expect(again.changed).toBe(false);
        const other = patchInjectorConfigMap(out.text, file, { mode: 'annotation', hold: holdFromOptions({ timeout: '9s' }) });
        expect(other.text).not.toBe(out.text);
        expect(templateOf(other.text).split(BEGIN_MARK).length).toBe(2);
        expect(patchInjectorConfigMap(other.text, file, { mode: 'annotation', hold }).text).toBe(out.text);
      });

      it('renders YAML that parses to the expected lifecycle for a catalog value', () => {
        const block = t1.slice(t1.indexOf(BEGIN_MARK), t1.indexOf(END_MARK)).split('\n');
        const expected = (key: string) =>
          holdCommand(buildCatalog(hold).find((x) => x.keys.includes(key))!.hold, undefined, `meshdrain.dev/wait-for=${key}`);
        for (const key of ['app-listeners', 'sleep=10s']) {
          expect(parseYaml(simulateWaitFor(block, key, false))).toEqual({ lifecycle: { preStop: { exec: { command: expected(key) } } } });
        }
        if (t1.includes('{{- if $holdProxy }}')) {
          expect(parseYaml(simulateWaitFor(block, 'app-listeners', true))).toEqual({
            lifecycle: { postStart: { exec: { command: ['pilot-agent', 'wait'] } }, preStop: { exec: { command: expected('app-listeners') } } },
          });
        }
      });

      it('quotes the raw command with printf %q and keeps native sidecars out where the template knows them', () => {
        expect(t1).toContain('- {{ printf "%q" (index .ObjectMeta.Annotations `sidecar.istio.io/preStopCommand`) }}');
        const native = t1.includes('$nativeSidecar :=');
        expect(t1.includes('(not $nativeSidecar) (isset .ObjectMeta.Annotations `meshdrain.dev/wait-for`)')).toBe(native);
        expect(t1.includes('{{- if $holdProxy }}')).toBe(t0.includes('$holdProxy :='));
      });

      it("Go's own text/template parses the whole patched template", async () => {
        await goParses(t1);
      });

      it('Go executes the lifecycle conditional: each annotation gets its preStop, others are unchanged', async () => {
        const c = lifecycleConditional(t1);
        const region = t1.slice(t1.lastIndexOf('\n', c.start) + 1, c.end);
        const harness = `{{- $holdProxy := .holdProxy }}{{- $nativeSidecar := .native }}\ncontainer:\n${region}\n`;
        const render = async (annotations: Record<string, string>, flags: { holdProxy?: boolean; native?: boolean } = {}) => {
          const out = await goExecute(harness, {
            Values: { global: { proxy: { lifecycle: null, statusPort: 15020 } } },
            ObjectMeta: { Annotations: annotations },
            holdProxy: Boolean(flags.holdProxy),
            native: Boolean(flags.native),
          });
          return (parseYaml(out) as { container: { lifecycle?: any } | null }).container?.lifecycle;
        };
        const expected = (key: string) =>
          holdCommand(buildCatalog(hold).find((x) => x.keys.includes(key))!.hold, undefined, `meshdrain.dev/wait-for=${key}`);
        const hasHoldProxy = t0.includes('$holdProxy :=');
        const hasNative = t0.includes('$nativeSidecar :=');

        expect(await render({})).toBeUndefined();
        expect(await render({ 'meshdrain.dev/wait-for': 'app-listeners' })).toEqual({ preStop: { exec: { command: expected('app-listeners') } } });
        expect(await render({ 'meshdrain.dev/wait-for': 'sleep=10s' })).toEqual({ preStop: { exec: { command: expected('sleep=10s') } } });
        const unknown = (await render({ 'meshdrain.dev/wait-for': 'ports=1234' })).preStop.exec.command as string[];
        expect(unknown[2]).toContain('value not in the injector catalog');
        expect(unknown[2]).toContain(holdCommand(hold)[2]!.replace(/^#!.*\n/, ''));
        // A hostile raw command arrives byte for byte as the -c argument (printf %q → YAML double quotes).
        const raw = `echo "a'b" \\ $(id) {{ .x }} \t\nsleep 5 # ünï ✓ \u0001`;
        expect(await render({ 'sidecar.istio.io/preStopCommand': raw })).toEqual({ preStop: { exec: { command: ['/bin/sh', '-c', raw] } } });
        // wait-for wins over a raw command on the same pod
        expect((await render({ 'sidecar.istio.io/preStopCommand': 'x', 'meshdrain.dev/wait-for': 'app-listeners' })).preStop.exec.command).toEqual(expected('app-listeners'));
        if (hasHoldProxy) {
          expect(await render({ 'meshdrain.dev/wait-for': 'app-listeners' }, { holdProxy: true })).toEqual({
            postStart: { exec: { command: ['pilot-agent', 'wait'] } },
            preStop: { exec: { command: expected('app-listeners') } },
          });
          expect(await render({}, { holdProxy: true })).toEqual({ postStart: { exec: { command: ['pilot-agent', 'wait'] } } });
        }
        if (hasNative) {
          // A native sidecar that asks gets no hold but inject's native drain (exec only, no curl);
          // one that does not ask keeps Istio's immediate drain.
          const n = await render({ 'meshdrain.dev/wait-for': 'app-listeners' }, { native: true });
          expect(n).toEqual({ preStop: { exec: { command: nativeDrainCommand(templateNativeDrain(null)!) } } });
          expect(n.preStop.exec.command[2]).toContain('sleep 4\nexec pilot-agent request --debug-port=15020 POST drain');
          const istios = (await render({}, { native: true })).preStop.exec.command as string[];
          // Istio's own (its port comes from an annotation function the harness prints verbatim).
          expect([istios[0], istios[1], istios[3], istios[4]]).toEqual([NATIVE_DRAIN_PRESTOP[0], NATIVE_DRAIN_PRESTOP[1], NATIVE_DRAIN_PRESTOP[3], NATIVE_DRAIN_PRESTOP[4]]);
          expect(istios.join(' ')).not.toContain('sleep');
        }
      });

      it('every generated hold passes shellcheck', () => {
        const cmds = new Set<string>();
        for (const m of t1.matchAll(/^\s*- ("(?:[^"\\]|\\.)*")$/gm)) {
          const s = JSON.parse(m[1]!) as string;
          if (s.includes('\n')) cmds.add(s);
        }
        expect(cmds.size).toBeGreaterThanOrEqual(7);
        // The native drain (no note line: it is not a hold) is clean as it stands.
        const natives = [...cmds].filter((c) => c.includes('meshdrain native drain'));
        expect(natives).toHaveLength(t1.includes('$nativeSidecar :=') ? 1 : 0);
        for (const n of natives) {
          expect(findings(n.split('\n').slice(1).join('\n'))).toEqual([]);
          cmds.delete(n);
        }
        // Findings in the generator's own script are the hook module's business; what the injector adds
        // (the note line, the catalog selection) must add none.
        for (const s of cmds) {
          expect(s.split('\n')[0]).toMatch(/^\{ printf '%s\\n' 'meshdrain-hold: [^']*' >\/proc\/1\/fd\/1; \} 2>\/dev\/null \|\| printf /);
          const base = new Set(findings(s.split('\n').slice(1).join('\n')));
          const extra = findings(s).filter((f) => !base.has(f));
          expect(extra, s.slice(0, 200)).toEqual([]);
        }
      });
    });
  }

  it('--allow adds catalog entries (several strategies with ;) and they match as written and normalized', () => {
    const file = INJECTOR.modern;
    const out = patchInjectorConfigMap(read(file), file, { mode: 'annotation', hold, catalog: ['ports=8080;file=/tmp/busy', 'sleep=45s'] });
    const t = templateOf(out.text);
    expect(t).toContain('{{- else if eq $meshdrainWaitFor "ports=8080;file=/tmp/busy" }}');
    const norm = formatStrategy(parseStrategy('sleep=45s'));
    expect(t).toContain(norm === 'sleep=45s' ? '{{- else if eq $meshdrainWaitFor "sleep=45s" }}' : `{{- else if or (eq $meshdrainWaitFor "sleep=45s") (eq $meshdrainWaitFor "${norm}") }}`);
  });

  it('a catalog sleep longer than the timeout gets a timeout that lets it finish', () => {
    const cat = buildCatalog(holdFromOptions({ timeout: '20s' }), [], true, true);
    expect(cat.find((e) => e.keys.includes('sleep=30s'))!.hold.timeoutMs).toBe(30_000);
    expect(cat.find((e) => e.keys.includes('sleep=5s'))!.hold.timeoutMs).toBe(20_000);
    expect(cat.find((e) => e.keys.includes('app-listeners'))!.hold.timeoutMs).toBe(20_000);
  });

  it("without a named timeout each entry has its own shape and default (ADR 086): only sleep=30s needs more than the default grace", () => {
    const cat = buildCatalog(holdFromOptions({}));
    const of = (k: string) => cat.find((e) => e.keys.includes(k))!.hold;
    // holdShape decides, as at every door: no entry waits on app-connections, so none lingers or drains at start.
    for (const e of cat) expect(e.hold.drainAtStart, e.keys[0]).toBeUndefined();
    expect(of('app-listeners').timeoutMs).toBe(23_000); // 30 - 5 drain after it - 2 margin
    expect(of('sleep=20s').timeoutMs).toBe(23_000);
    expect(of('sleep=30s').timeoutMs).toBe(30_000);
    const need = cat.map((e) => [e.keys[0]!, clusterHoldGraceSeconds(e.hold)] as const);
    expect(need.filter(([, n]) => n > 30)).toEqual([['sleep=30s', 37]]);
  });

  it('injector-patch names the catalog entries that need more than the default grace period', async () => {
    const r = await runCli(['istio', 'injector-patch', INJECTOR.modern]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^meshdrain: note: meshdrain\.dev\/wait-for: sleep=30s needs terminationGracePeriodSeconds ≥ 37s: Kubernetes' default 30s SIGKILLs/m);
    expect(r.stderr).not.toMatch(/sleep=20s needs/);
  });

  it('readAnnotationBranch reads back exactly the catalog the branch installed (what lint judges)', () => {
    const out = patchInjectorConfigMap(read(INJECTOR.modern), INJECTOR.modern, { mode: 'annotation', hold, catalog: ['ports=8080;file=/tmp/busy'] });
    const tmpl = templateOf(out.text);
    const installed = readAnnotationBranch(tmpl)!;
    expect(installed.annotation).toBe('meshdrain.dev/wait-for');
    const cat = buildCatalog(hold, ['ports=8080;file=/tmp/busy']);
    expect(installed.entries.map((e) => e.keys)).toEqual(cat.map((e) => e.keys));
    cat.forEach((e, i) => expect(installed.entries[i]!.command).toEqual(holdCommand(e.hold, undefined, `meshdrain.dev/wait-for=${e.keys[0]}`)));
    expect(installed.defaultCommand).toEqual(holdCommand(hold, undefined, 'meshdrain.dev/wait-for: value not in the injector catalog (or empty); default hold'));
    expect(readAnnotationBranch(templateOf(read(INJECTOR.modern)))).toBeNull();
  });

  it('a note line says which hold was chosen, and the script runs under dash', () => {
    const h = holdFromOptions({ waitFor: ['sleep=100ms'], timeout: '2s', interval: '50ms' });
    const cmd = holdCommand(h, undefined, 'meshdrain.dev/wait-for=sleep=100ms');
    const r = spawnSync('dash', ['-c', cmd[2]!], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain('meshdrain-hold: meshdrain.dev/wait-for=sleep=100ms');
  });
});

describe('injector-patch --mode global', () => {
  for (const [label, file] of patchable) {
    it(`${label}: sets global.proxy.lifecycle to the hold, changes nothing else, idempotent`, () => {
      const src = read(file);
      const out = patchInjectorConfigMap(src, file, { mode: 'global', hold });
      const v0 = valuesOf(src) as { global: { proxy: Record<string, unknown> } };
      const v1 = valuesOf(out.text) as { global: { proxy: Record<string, unknown> } };
      expect(v1.global.proxy.lifecycle).toEqual({ preStop: { exec: { command: holdCommand(hold) } } });
      delete v0.global.proxy.lifecycle;
      delete v1.global.proxy.lifecycle;
      expect(v1).toEqual(v0);
      expect(templateOf(out.text)).toBe(templateOf(src));
      // Lines outside data.values are untouched: the config block is byte-identical.
      const cfg = (t: string) => t.slice(t.indexOf('  config: |'), t.indexOf('\n  values: |'));
      if (src.indexOf('  config: |') < src.indexOf('  values: |')) expect(cfg(out.text)).toBe(cfg(src));
      expect(patchInjectorConfigMap(out.text, file, { mode: 'global', hold }).text).toBe(out.text);
      expect(out.warnings.join('\n')).toMatch(/helm upgrade.*meshdrain istio template/);
    });
  }

  for (const [label, file] of patchable) {
    it(`${label}: Go renders the template's lifecycle block with the patched values into the hold preStop`, async () => {
      const out = patchInjectorConfigMap(read(file), file, { mode: 'global', hold });
      const values = valuesOf(out.text) as { global: { proxy: { lifecycle: unknown } } };
      const t = templateOf(out.text);
      const c = lifecycleConditional(t);
      const region = t.slice(t.lastIndexOf('\n', c.start) + 1, c.end);
      // istiod: toYaml = sigs.k8s.io/yaml, indent N = pad every line but the first (pkg/kube/inject/template.go).
      const m = /\{\{ toYaml \.Values\.global\.proxy\.lifecycle \| indent (\d+) \}\}/.exec(region);
      expect(m).not.toBeNull();
      const pad = ' '.repeat(Number(m![1]));
      const asYaml = stringify(values.global.proxy.lifecycle, { lineWidth: 0 }).replace(/\n$/, '').split('\n').map((l, i) => (i ? pad + l : l)).join('\n');
      const harness = `{{- $holdProxy := false }}{{- $nativeSidecar := false }}\ncontainer:\n${region.replace(m![0], '{{ .lifecycleYaml }}')}\n`;
      const rendered = await goExecute(harness, { Values: values, lifecycleYaml: asYaml, ObjectMeta: { Annotations: {} } });
      expect((parseYaml(rendered) as any).container.lifecycle).toEqual({ preStop: { exec: { command: holdCommand(hold) } } });
    });
  }

  it('inserts lifecycle where values has no global.proxy (one-line JSON too)', () => {
    const where = { file: 'x' };
    const lc = { preStop: { exec: { command: ['a'] } } };
    expect(JSON.parse(setGlobalLifecycle('{"global":{"hub":"x"}}', lc, where).text)).toEqual({ global: { proxy: { lifecycle: lc }, hub: 'x' } });
    expect(JSON.parse(setGlobalLifecycle('{}', lc, where).text)).toEqual({ global: { proxy: { lifecycle: lc } } });
    const pretty = '{\n  "global": {\n    "proxy": {}\n  }\n}';
    const r = setGlobalLifecycle(pretty, lc, where).text;
    expect(JSON.parse(r)).toEqual({ global: { proxy: { lifecycle: lc } } });
    expect(r).toContain('\n      "lifecycle": {\n        "preStop"');
    expect(() => setGlobalLifecycle('{"global": [}', lc, where)).toThrow(InputError);
  });

  it('Istio 1.3.1 (values one-line single-quoted JSON, template without lifecycle): refused, exit 2, nothing on stdout', async () => {
    for (const mode of ['global', 'annotation']) {
      const r = await runCli(['istio', 'injector-patch', '--mode', mode, INJECTOR.v13]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/istio-1\.3\.1-sidecar-injector-configmap-kubectl-dump\.yaml:\d+:\d+: .*(lifecycle)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('injector-patch: bad input → one line, exit 2, nothing written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshdrain-istio-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string, RegExp][] = [
    ['a Deployment', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n', /not the Istio sidecar injector ConfigMap.*Deployment web/],
    ['another ConfigMap', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\ndata:\n  mesh: "{}"\n', /not the Istio sidecar injector.*ConfigMap istio/],
    ['YAML syntax error', 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n', /:\d+:\d+: YAML syntax error/],
    [
      'template without lifecycle',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\ndata:\n  config: |\n    templates:\n      sidecar: |\n        spec:\n          containers:\n          - name: istio-proxy\n',
      /cannot find the lifecycle block/,
    ],
    [
      'unbalanced template',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\ndata:\n  config: |\n    templates:\n      sidecar: |\n        {{- if .Values.global.proxy.lifecycle }}\n          lifecycle: {}\n',
      /not closed with \{\{ end \}\}/,
    ],
    [
      'config that is not YAML',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\ndata:\n  config: "templates: [\\n"\n',
      /data\.config is not valid YAML/,
    ],
  ];
  for (const [what, text, re] of cases) {
    it(what, async () => {
      const f = join(dir, `${what.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(f, text);
      const r = await runCli(['istio', 'injector-patch', f]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toMatch(/^meshdrain: .+:\d+:\d+: /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('global mode: values that are not JSON', async () => {
    const src = read(INJECTOR.modern).replace('  values: |-\n    {\n', '  values: |-\n    {{\n');
    const r = await runCli(['istio', 'injector-patch', '--mode', 'global', '-'], src);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/<stdin>:\d+:\d+: data\.values: not valid JSON/);
  });

  it('global mode: a ConfigMap without values (Istio < 1.5 layout) is explained', async () => {
    const src = read(INJECTOR.v15).replace(/\n {2}values: \|-\n(?: {4}.*\n|\n)*/, '\n');
    expect(src).not.toContain('values:');
    const r = await runCli(['istio', 'injector-patch', '--mode', 'global', '-'], src);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no data\.values.*--mode annotation/);
    // annotation mode still works there
    const a = await runCli(['istio', 'injector-patch', '--mode', 'annotation', '-'], src);
    expect(a.code).toBe(0);
  });

  it('bad --wait-for and annotation names are usage errors', async () => {
    expect((await runCli(['istio', 'injector-patch', INJECTOR.modern, '--wait-for', 'ports=x'])).code).toBe(2);
    expect((await runCli(['istio', 'injector-patch', INJECTOR.modern, '--annotation', 'bad name"'])).code).toBe(2);
    expect((await runCli(['istio', 'injector-patch', INJECTOR.modern, '--allow', 'file=/tmp/$(reboot)'])).code).toBe(2);
    // The flag is named first, as hook names --wait-for (QA 9 F15).
    const ports = await runCli(['istio', 'injector-patch', INJECTOR.modern, '--allow', 'ports=abc']);
    expect(ports.code).toBe(2);
    expect(ports.stdout).toBe('');
    expect(ports.stderr).toBe('meshdrain: --allow: ports: expected port numbers 1-65535 separated by commas (ports=8080,9090), got "abc"\n');
    expect((await runCli(['istio', 'injector-patch', INJECTOR.modern, '--allow', ' ; '])).stderr).toMatch(/^meshdrain: --allow: empty wait strategy list/);
  });
});

describe('CLI', () => {
  it("-c POLICY: native pods that ask get the drain inject writes under that policy (app.delay 10s → sleep 9; proxy.nativeDrain: istio → Istio's), as istio template -c", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-patch-native-'));
    try {
      const file = join(dir, 'policy.yaml');
      const src = read(INJECTOR.modern);
      // The native drain line of the patched sidecar template, as the string the pod gets.
      const drainOf = (out: string): string[] => {
        const cm = parseYaml(out) as { data: { config: string } };
        const tmpl = (parseYaml(cm.data.config) as { templates: { sidecar: string } }).templates.sidecar;
        return tmpl.split('\n').filter((l) => l.includes('meshdrain native drain')).map((l) => parseYaml(l.trim().replace(/^- /, '')) as string);
      };
      expect(drainOf((await runCli(['istio', 'injector-patch', '-'], src)).stdout)[0]).toContain('sleep 4\nexec pilot-agent request --debug-port=15020 POST drain');
      writeFileSync(file, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 10s}\n');
      const r = await runCli(['istio', 'injector-patch', '-c', file, '-'], src);
      expect(r.code).toBe(0);
      const drains = drainOf(r.stdout);
      expect(drains).toHaveLength(1);
      expect(drains[0]).toContain('sleep 9\nexec pilot-agent request --debug-port=15020 POST drain');
      // The very script inject writes for a native pod under that policy.
      const inj = await runCli(['inject', '-c', file, '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {sidecar.istio.io/nativeSidecar: "true"}, labels: {sidecar.istio.io/inject: "true"}}\nspec:\n  containers: [{name: app, image: a}]\n');
      const o = JSON.parse(parseYaml(inj.stdout).metadata.annotations['proxy.istio.io/overrides']);
      expect(drains[0]).toBe(o.initContainers[0].lifecycle.preStop.exec.command[2]);
      // proxy.nativeDrain: istio keeps Istio's immediate drain: no meshdrain native branch.
      writeFileSync(file, 'apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  proxy: {nativeDrain: istio}\n');
      const kept = await runCli(['istio', 'injector-patch', '-c', file, '-'], src);
      expect(kept.code).toBe(0);
      expect(drainOf(kept.stdout)).toEqual([]);
      // global mode has no native branch: -c there is a usage error, one line.
      const g = await runCli(['istio', 'injector-patch', '--mode', 'global', '-c', file, '-'], src);
      expect(g.code).toBe(2);
      expect(g.stdout).toBe('');
      expect(g.stderr.trim().split('\n')).toHaveLength(1);
      expect(g.stderr).toMatch(/-c\/--config .*--mode global/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the whole patched ConfigMap on stdout and the Helm warning on stderr', async () => {
    const src = read(INJECTOR.modern);
    const r = await runCli(['istio', 'injector-patch', '-'], src);
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout);
    expect(Array.isArray(docs) && docs.length).toBe(1);
    expect(r.stdout).toBe(patchInjectorConfigMap(src, '<stdin>', { mode: 'annotation', hold }).text);
    expect(r.stderr).toMatch(/warning: .*overwritten by the next `helm upgrade` \/ `istioctl install`.*meshdrain istio template/);
  });

  it('accepts `kubectl get cm -o json` and answers in JSON', () => {
    const json = JSON.stringify(parseYaml(read(INJECTOR.modern)), null, 4) + '\n';
    for (const mode of ['annotation', 'global'] as const) {
      const out = patchInjectorConfigMap(json, 'cm.json', { mode, hold });
      const v = JSON.parse(out.text);
      const y = parseYaml(patchInjectorConfigMap(read(INJECTOR.modern), 'cm.yaml', { mode, hold }).text);
      expect(v).toEqual(y);
      expect(out.text.split('\n').length).toBe(json.split('\n').length);
    }
  });

  it('patches every injector revision in a multi-document file, leaving other documents alone', () => {
    const modern = read(INJECTOR.modern);
    const canary = modern.replace('name: istio-sidecar-injector\n', 'name: istio-sidecar-injector-canary\n');
    const svc = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: istiod # untouched\n';
    const src = `${modern}---\n${svc}---\n${canary}`;
    const out = patchInjectorConfigMap(src, 'multi.yaml', { mode: 'annotation', hold });
    const docs = parseAllDocuments(out.text) as any[];
    expect(docs).toHaveLength(3);
    expect(out.text).toContain(`---\n${svc}---\n`);
    const one = patchInjectorConfigMap(modern, 'x', { mode: 'annotation', hold }).text;
    expect(docs[0].toJS()).toEqual(parseYaml(one));
    expect(docs[2].toJS().data).toEqual(parseYaml(one).data);
    expect(out.notes.filter((n) => n.includes('added'))).toHaveLength(2);
  });

  it('patches an injector inside a kind: List (kubectl get cm -o yaml without a name)', () => {
    const modern = read(INJECTOR.modern);
    const item = modern.replace(/^/gm, '  ').replace(/^ {2}apiVersion/, '- apiVersion').replace(/\n {2}$/, '\n');
    const list = `apiVersion: v1\nkind: List\nitems:\n${item}- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: istio\n  data:\n    mesh: "{}"\n`;
    const parsed = parseYaml(list);
    expect(parsed.items[0]).toEqual(parseYaml(modern));
    const out = patchInjectorConfigMap(list, 'list.yaml', { mode: 'annotation', hold });
    const v = parseYaml(out.text);
    expect(v.items[0]).toEqual(parseYaml(patchInjectorConfigMap(modern, 'x', { mode: 'annotation', hold }).text));
    expect(v.items[1]).toEqual(parsed.items[1]);
    insertedBlock(list, out.text);
    const g = parseYaml(patchInjectorConfigMap(list, 'list.yaml', { mode: 'global', hold }).text);
    expect(JSON.parse(g.items[0].data.values).global.proxy.lifecycle.preStop.exec.command).toEqual(holdCommand(hold));
  });

  it('warns when the template already handles the annotation (an older hand patch)', () => {
    const src = read(INJECTOR.modern).replace(
      '          {{- else if $holdProxy }}',
      '          {{- else if isset .ObjectMeta.Annotations `sidecar.istio.io/preStopCommand` }}\n            lifecycle: {}\n          {{- else if $holdProxy }}',
    );
    const out = patchInjectorConfigMap(src, 'x', { mode: 'annotation', hold });
    expect(out.warnings.join('\n')).toMatch(/already mentions sidecar\.istio\.io\/preStopCommand outside meshdrain's block/);
    expect(patchInjectorConfigMap(read(INJECTOR.modern), 'x', { mode: 'annotation', hold }).warnings.join('\n')).not.toMatch(/already mentions/);
  });

  it('--help shows an example', async () => {
    for (const sub of ['injector-patch', 'template']) {
      const r = await runCli(['istio', sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Examples:\n {2}/);
    }
  });

  it('patches a kubectl dump whose config is a double-quoted string (kubectl quotes strings with trailing spaces)', () => {
    const src = read(INJECTOR.modern);
    const doc = parseDocument(src);
    const node = doc.getIn(['data', 'config'], true) as Scalar;
    node.type = Scalar.QUOTE_DOUBLE;
    const quoted = doc.toString({ lineWidth: 0 });
    expect(quoted).toMatch(/config: "/);
    const out = patchInjectorConfigMap(quoted, 'q.yaml', { mode: 'annotation', hold });
    expect(templateOf(out.text)).toBe(templateOf(patchInjectorConfigMap(src, 'x', { mode: 'annotation', hold }).text));
    // everything after the config scalar is byte-identical
    expect(out.text.slice(out.text.indexOf('\n  values: |-'))).toBe(quoted.slice(quoted.indexOf('\n  values: |-')));
  });
});

describe('replaceScalarSource (property)', () => {
  it('sets the value exactly and keeps every byte outside the changed lines', () => {
    const line = fc.stringMatching(/^[a-z{}$ .:"'-]{0,20}$/).map((s) => s.replace(/^ +/, ''));
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 8 }),
        fc.array(line, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        fc.constantFrom(0, 2, 4),
        (lines, ins, at, strip, extra) => {
          const value = lines.join('\n') + (strip ? '' : '\n');
          if (!/\S/.test(lines[0]!) || lines.some((l) => l !== l.trimEnd())) return;
          const pad = ' '.repeat(extra);
          const src = `a: 1\n${pad}b: ${strip ? '|-' : '|'}\n${lines.map((l) => (l ? `${pad}  ${l}` : '')).join('\n')}\n${pad}c: 2\n`;
          const d = parseDocument(src);
          if (d.errors.length || d.getIn(['b']) !== value) return;
          const k = at % (lines.length + 1);
          const cleanIns = ins.map((l) => l.trimEnd());
          const nv = [...lines.slice(0, k), ...cleanIns, ...lines.slice(k)].join('\n') + (strip ? '' : '\n');
          const out = replaceScalarSource(src, d.get('b', true) as Scalar, nv);
          const d2 = parseDocument(out);
          expect(d2.errors).toEqual([]);
          expect(d2.getIn(['b'])).toBe(nv);
          expect(d2.getIn(['a'])).toBe(1);
          expect(d2.getIn(['c'])).toBe(2);
          const firstLine = nv.split('\n').find((l) => l.length > 0) ?? '';
          const fits = !firstLine.startsWith(' ') && (strip ? !nv.endsWith('\n') : nv.endsWith('\n') && !nv.endsWith('\n\n'));
          if (fits) insertedBlock(src, out);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('re-quotes a double-quoted scalar with JSON string syntax', () => {
    const src = 'x: "a\\nb"\ny: 1\n';
    const d = parseDocument(src);
    const out = replaceScalarSource(src, d.get('x', true) as Scalar, 'a\nb\nc "q"');
    expect(parseYaml(out)).toEqual({ x: 'a\nb\nc "q"', y: 1 });
    expect(out.endsWith('\ny: 1\n')).toBe(true);
  });
});

describe('patchTemplateText', () => {
  it('escapes {{ in generated strings so Go prints them literally', () => {
    const t = '{{- if .Values.global.proxy.lifecycle }}\n  lifecycle:\n    x: 1\n{{- end }}\n';
    const out = patchTemplateText(t, {
      catalog: [],
      defaultHold: hold,
      commandAnnotation: 'sidecar.istio.io/preStopCommand',
      waitForAnnotation: 'meshdrain.dev/wait-for',
    });
    expect(regexBalance(out).openers).toBe(regexBalance(out).ends);
    expect(out.startsWith('{{- if .Values.global.proxy.lifecycle }}\n  lifecycle:\n    x: 1\n')).toBe(true);
    expect(stringify(out).length).toBeGreaterThan(0);
  });
});
