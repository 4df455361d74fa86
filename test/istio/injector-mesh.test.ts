/**
 * What the istio commands read from the injector ConfigMap they are given (QA 9 F7, F8): whether its
 * template data has `.NativeSidecars` (Istio 1.27+, ADR 093), and a distroless mesh, where a /bin/sh
 * hold cannot start (lint's shell-hook-distroless).
 */
import { describe, expect, it } from 'vitest';
import { lint } from '../../src/lint/engine.js';
import { templateDataHasNativeSidecars } from '../../src/istio/template.js';
import { INJECTOR, read, runCli } from './helpers.js';

const MODERN = read(INJECTOR.modern);
// Istio 1.27.0's line (injection-template.yaml:29) and 1.26.8's (injection-template.yaml:27), as istiod has them.
const FIELD_LINE = '{{ $nativeSidecar := ne (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false" }}';
const LINE_126 =
  '{{ $nativeSidecar := (or (and (not (isset .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar`)) (eq (env "ENABLE_NATIVE_SIDECARS" "false") "true")) (eq (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar`) "true")) }}';

function cm126(tag = '1.26.8'): string {
  expect(MODERN).toContain(FIELD_LINE);
  expect(MODERN).toContain('"tag": "1.30.3"');
  return MODERN.replace(FIELD_LINE, LINE_126).replace('"tag": "1.30.3"', `"tag": "${tag}"`);
}
const distroless = (text = MODERN) => {
  expect(text).toContain('"variant": ""');
  return text.replace('"variant": ""', '"variant": "distroless"');
};
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('istio template --format configmap on an Istio before 1.27 (QA 9 F7, ADR 093)', () => {
  it('refuses --native-check field (the default) in one line, at the sidecar template, and writes nothing', async () => {
    for (const args of [[], ['--native-check', 'field']]) {
      const r = await runCli(['istio', 'template', '--format', 'configmap', ...args, '-'], cm126());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^meshdrain: <stdin>:\d+:\d+: --native-check field reads istiod's \.NativeSidecars, which this injector does not use \(its sidecar template does not read \.NativeSidecars, as Istio's does from 1\.27\): .*--native-check annotation .* or off/);
    }
    // The same refusal when only the template says it (QA's repro: a 1.26 template under a newer tag).
    const r = await runCli(['istio', 'template', '--format', 'configmap', '-'], cm126('1.30.3'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^meshdrain: <stdin>:/);
  });

  it('annotation and off still work there; the current fixture keeps field', async () => {
    for (const check of ['annotation', 'off']) {
      const r = await runCli(['istio', 'template', '--format', 'configmap', '--native-check', check, '-'], cm126());
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('templates:');
      expect(r.stdout).toContain('meshdrain: |');
    }
    const ok = await runCli(['istio', 'template', '--format', 'configmap', '-'], MODERN);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('.NativeSidecars').length).toBeGreaterThan(2);
  });

  it('tells it from the sidecar template, else from the version', () => {
    expect(templateDataHasNativeSidecars({ sidecarTemplate: FIELD_LINE })).toBe(true);
    expect(templateDataHasNativeSidecars({ sidecarTemplate: LINE_126, istioVersion: { major: 1, minor: 30 } })).toBe(false);
    expect(templateDataHasNativeSidecars({ istioVersion: { major: 1, minor: 26 } })).toBe(false);
    expect(templateDataHasNativeSidecars({ istioVersion: { major: 1, minor: 27 } })).toBe(true);
    expect(templateDataHasNativeSidecars({})).toBeUndefined();
  });
});

describe('a distroless mesh (global.variant: distroless): the /bin/sh hold is named, as lint names it (QA 9 F8)', () => {
  const text = distroless();
  const at = `<stdin>:${lineOf(text, '"variant": "distroless"')}:`;

  it('injector-patch, both modes: a warning with where the variant is and what brings a shell', async () => {
    for (const mode of ['annotation', 'global']) {
      const r = await runCli(['istio', 'injector-patch', '--mode', mode, '-'], text);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`meshdrain: warning: ${at}`);
      expect(r.stderr).toMatch(/uses the distroless image \(global\.variant: distroless\), which has no shell: this hold's preStop \(\/bin\/sh\) cannot start.*shell-hook-distroless.*--shell-image busybox:/);
      // And lint, given the patched ConfigMap, errors on a pod that takes the hold (what the warning foretells).
      if (mode === 'global') {
        const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {sidecar.istio.io/inject: "true"}}\nspec:\n  containers:\n  - {name: web, image: web:1}\n';
        expect(lint([{ file: 'p.yaml', text: pod }], [{ file: 'cm.yaml', text: r.stdout }]).findings.map((f) => f.rule)).toContain('shell-hook-distroless');
      }
    }
    const plain = await runCli(['istio', 'injector-patch', '-'], MODERN);
    expect(plain.stderr).not.toMatch(/distroless/);
  });

  it('istio template --format configmap: suggests --shell-image, and says nothing once it is given', async () => {
    const r = await runCli(['istio', 'template', '--format', 'configmap', '-'], text);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`meshdrain: warning: ${at}`);
    expect(r.stderr).toMatch(/which has no shell: .*add --shell-image busybox:/);
    const shell = await runCli(['istio', 'template', '--format', 'configmap', '--shell-image', 'busybox:1.37.0-musl', '-'], text);
    expect(shell.code).toBe(0);
    expect(shell.stderr).not.toMatch(/distroless/);
    const plain = await runCli(['istio', 'template', '--format', 'configmap', '-'], MODERN);
    expect(plain.stderr).not.toMatch(/distroless/);
  });
});
