/**
 * `lab --manifest` decisions that are pure (no root, no netns), from qa9 F4, F5, F9: --proxy-variant
 * reaches the --compare-inject run as the mesh's variant; a hook that cannot start for lack of a shell
 * names the fix; a pod that selects a custom injection template runs the template's hold as lint
 * reads it, or is refused when the mesh config does not have it; positions in inject's output say so.
 * ADR 096.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { labModeContext } from '../../src/cli/mode-context.js';
import { manifestScenarios } from '../../src/lab/scenarios.js';

const dir = new URL('../../fixtures/lab/manifests/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');

describe('--proxy-variant reaches the --compare-inject run (qa9 F4)', () => {
  it('distroless: inject brings the hold its shell, and the injected row runs it from the busybox', () => {
    const m = manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true, proxyVariant: 'distroless' });
    const injected = m.scenarios.find((s) => s.name === 'manifest-injected')!;
    expect(injected.spec.proxyVariant).toBe('distroless');
    expect(injected.manifest).toContain('meshdrain-shell');
    expect(injected.spec.proxyBusyboxDirs?.length).toBe(1);
    // The proxy's hold runs from the copied busybox, not /bin/sh.
    const hold = injected.spec.proxyPreStop;
    expect(hold && 'exec' in hold ? hold.exec[0] : '').toBe(`${injected.spec.proxyBusyboxDirs![0]!.mountPath}/sh`);
    expect(m.injectChanges.map((c) => c.what)).toContain('set initContainers');
  });

  it('default, or no flag: inject is told nothing more than the run context', () => {
    for (const proxyVariant of [undefined, 'default'] as const) {
      const m = manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true, ...(proxyVariant ? { proxyVariant } : {}) });
      expect(m.scenarios.find((s) => s.name === 'manifest-injected')!.manifest).not.toContain('meshdrain-shell');
    }
  });
});

describe('a distroless istio-proxy hook without a shell names the fix (qa9 F4)', () => {
  const injectedOnce = manifestScenarios(read('plain.yaml'), 'plain.yaml', { compareInject: true }).scenarios.find((s) => s.name === 'manifest-injected')!.manifest;

  it('on a file inject already edited: the row says the hook cannot start and how to give it a shell', () => {
    const m = manifestScenarios(injectedOnce, 'plain.injected.yaml', { compareInject: true, proxyVariant: 'distroless' });
    const asWritten = m.scenarios[0]!.manifestPod!;
    expect(asWritten.proxyHookMissing).toBe('/bin/sh');
    expect(asWritten.notes.join('\n')).toContain('sidecar.istio.io/proxyImageType: distroless');
    // Told of the variant, inject now brings the shell to the file it edited before.
    const injected = m.scenarios.find((s) => s.name === 'manifest-injected')!.manifestPod!;
    expect(injected.proxyHookMissing).toBeUndefined();
    expect(m.injectChanges.map((c) => c.what)).toContain('set initContainers');
  });

  it('when inject still changes nothing (the pod says its image is not distroless), the inject notes name the fix', () => {
    const pinned = injectedOnce.replace(/\n( +)annotations:\n/, '\n$1annotations:\n$1  sidecar.istio.io/proxyImageType: default\n');
    expect(pinned).not.toBe(injectedOnce);
    const m = manifestScenarios(pinned, 'pinned.yaml', { compareInject: true, proxyVariant: 'distroless' });
    expect(m.injectChanges).toEqual([]);
    expect(m.injectNotes.join('\n')).toMatch(/preStop still starts \/bin\/sh.*proxy\.shell: init-container.*--mesh-config with global\.variant: distroless/);
  });

  it('the default image, or a hold from the busybox: no such note', () => {
    const m = manifestScenarios(read('plain-distroless.yaml'), 'plain-distroless.yaml', { compareInject: true });
    expect(m.scenarios.map((s) => s.manifestPod!.proxyHookMissing)).toEqual([undefined, undefined]);
    const d = manifestScenarios(injectedOnce, 'plain.injected.yaml', {});
    expect(d.scenarios[0]!.manifestPod!.proxyHookMissing).toBeUndefined();
  });
});

describe('a pod that selects a custom injection template (qa9 F5)', () => {
  const values = { file: 'meshdrain-template-values.yaml', text: read('meshdrain-template-values.yaml') };
  const tmpl = read('plain.yaml').replace('      labels: {app: web}\n', '      labels: {app: web}\n      annotations: {inject.istio.io/templates: "sidecar,meshdrain"}\n');
  const ctx = (flags: Parameters<typeof labModeContext>[0], inputs = [values]) => labModeContext(flags, inputs);

  it("runs the template's istio-proxy preStop from --mesh-config, as lint reads it", () => {
    expect(tmpl).not.toBe(read('plain.yaml'));
    const m = manifestScenarios(tmpl, 'tmpl.yaml', { compareInject: true, context: ctx({ meshConfig: [values.file] }) });
    // After inject (the same route, --via template's annotation kept), the same hold.
    const after = m.scenarios.find((s) => s.name === 'manifest-injected')!.manifestPod!;
    expect(after.hooks.find((x) => x.container === 'istio-proxy')?.why).toContain('templates.meshdrain');
    const pod = m.scenarios[0]!.manifestPod!;
    const hold = pod.spec.proxyPreStop;
    expect(hold && 'exec' in hold ? hold.exec.slice(0, 2) : []).toEqual(['/bin/sh', '-c']);
    expect(hold && 'exec' in hold ? hold.exec[2] : '').toContain('meshdrain hold for istio-proxy');
    const h = pod.hooks.find((x) => x.container === 'istio-proxy')!;
    expect(h.action).toBe('run');
    expect(h.at).toMatch(/^meshdrain-template-values\.yaml:\d+:\d+$/);
    expect(h.why).toContain('sidecarInjectorWebhook.templates.meshdrain');
    expect(pod.templates).toEqual(['sidecar', 'meshdrain']);
    expect(pod.notes.join('\n')).not.toContain('injection templates');
  });

  it("the mesh's defaultTemplates select it for a pod without the annotation (podTemplates)", () => {
    const withDefaults = { file: 'defaults.yaml', text: `${values.text}\n`.replace('sidecarInjectorWebhook:\n', 'sidecarInjectorWebhook:\n  defaultTemplates: [sidecar, meshdrain]\n') };
    expect(withDefaults.text).not.toBe(`${values.text}\n`);
    const pod = manifestScenarios(read('plain.yaml'), 'plain.yaml', { context: ctx({ meshConfig: [withDefaults.file] }, [withDefaults]) }).scenarios[0]!.manifestPod!;
    expect(pod.templates).toEqual(['sidecar', 'meshdrain']);
    expect(pod.hooks.find((x) => x.container === 'istio-proxy')?.action).toBe('run');
  });

  it('without the template in the mesh config: refused (exit 2), naming --mesh-config, not judged NOT safe', () => {
    let err: unknown;
    try {
      manifestScenarios(tmpl, 'tmpl.yaml', { compareInject: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/injection template meshdrain \(not in the mesh config given\): the lab cannot judge .*--mesh-config/);
    expect((err as InputError).pos).toMatchObject({ file: 'tmpl.yaml', line: 12 });
  });

  it("the pod's own istio-proxy preStop wins over the template's, as in Istio; the note says the template's does not apply", () => {
    const seed = read('seed-port-20000.yaml').replace('      labels: {app: orders}\n', '      labels: {app: orders}\n      annotations: {inject.istio.io/templates: "sidecar,meshdrain"}\n');
    expect(seed).not.toBe(read('seed-port-20000.yaml'));
    const pod = manifestScenarios(seed, 'seed.yaml', { context: ctx({ meshConfig: [values.file] }) }).scenarios[0]!.manifestPod!;
    expect(pod.hooks.find((x) => x.container === 'istio-proxy')!.at).toMatch(/^seed\.yaml:/);
    expect(pod.notes.join('\n')).toContain('injection templates meshdrain: no istio-proxy preStop of theirs applies here');
  });

  it("a native sidecar: refused, since the template's native branch is not read", () => {
    expect(() => manifestScenarios(tmpl, 'tmpl.yaml', { context: ctx({ meshConfig: [values.file], kubeVersion: '1.33', istioVersion: '1.27' }) })).toThrow(/native sidecar/);
  });
});

describe("positions in inject's output (qa9 F9)", () => {
  it("the injected rows' hooks and notes name inject's output, not the file on disk; the row as written names the file", () => {
    const m = manifestScenarios(read('plain-distroless.yaml'), 'plain-distroless.yaml', { compareInject: true });
    const [asWritten, injected] = m.scenarios.map((s) => s.manifestPod!);
    const at = (p: typeof injected) => [...p!.hooks.map((h) => h.at), ...p!.notes.flatMap((n) => n.match(/[\w.-]+\.yaml(?: \(as inject writes it\))?:\d+:\d+/g) ?? [])];
    expect(at(injected).length).toBeGreaterThan(1); // the hold and the shell init container's note
    for (const a of at(injected)) expect(a).toMatch(/^plain-distroless\.yaml \(as inject writes it\):\d+:\d+$/);
    for (const a of at(asWritten)) expect(a).not.toContain('as inject writes it');
  });
});
