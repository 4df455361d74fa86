/**
 * A custom Istio injection template (`sidecarInjectorWebhook.templates.<name>`) that adds the
 * meshdrain hold to istio-proxy. Pods select it with `inject.istio.io/templates: sidecar,<name>`;
 * Istio renders `sidecar` first and strategic-merges ours over it, so istio-proxy keeps everything
 * the default template injected and gains the preStop. Unlike a patched ConfigMap it survives Helm
 * and istioctl upgrades because it lives in the install's own values (ADR 031).
 */
import { isMap, isScalar, parseDocument, type Scalar } from 'yaml';
import { InputError } from '../errors.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';
import type { PodShutdownFacts } from '../plan/facts.js';
import { ANNOTATIONS, DEFAULT_INJECT_TEMPLATES, ISTIO_TEMPLATES, NATIVE_DRAIN_PRESTOP, PROXY_CONTAINER, PROXY_UID, TEMPLATE_NATIVE_SIDECARS } from './facts.js';
import { atLeast, formatVersion, type Version } from '../model/version.js';
import { goTemplateLiteral } from './gotemplate.js';
import { checkImageRef, shellInitCommand } from '../hooks/hold.js';
import { nativeDrainCommand } from '../hooks/native-drain.js';
import { templateNativeDrain } from '../plan/facts.js';
import { DEFAULT_TEMPLATE_NAME, SHELL_INIT_CONTAINER, SHELL_MOUNT_PATH, SHELL_VOLUME } from '../constants.js';
import { holdCommand } from './holds.js';

export { DEFAULT_TEMPLATE_NAME } from '../constants.js';

/**
 * How the template tells native-sidecar pods apart (they get no hold: Kubernetes stops the app
 * first; their istio-proxy init container gets meshdrain's native drain instead of Istio's immediate
 * one, ADR 062):
 *  - field: the pod annotation, else istiod's `.NativeSidecars` (same test as Istio's own template;
 *    needs Istio 1.27 or later, whose template data has that field: templateDataHasNativeSidecars);
 *  - annotation: only `sidecar.istio.io/nativeSidecar: "true"` (older Istio, 1.19 until the field);
 *  - off: always add the hold (Istio without native sidecars).
 */
export type NativeCheck = 'field' | 'annotation' | 'off';

export interface InjectionTemplateOptions {
  name?: string;
  hold: HoldSpec;
  /**
   * Distroless proxies have no shell: with an image, the template also adds an init container that
   * copies busybox (sh, sleep, …) into an emptyDir mounted into istio-proxy, and the hold runs with it.
   */
  shellImage?: string;
  nativeCheck?: NativeCheck;
  /**
   * The native drain the template gives native pods: `sleep <delay>; exec pilot-agent request … POST
   * drain`, the one inject writes (plan/facts.ts templateNativeDrain, from the policy). null: Istio's
   * own drain stays (policy proxy.nativeDrain: istio). Default: the default policy's.
   */
  nativeDrain?: PodShutdownFacts['nativeDrain'];
}

/** The ShellSource a template's hold runs with. */
export function templateShell(o: Pick<InjectionTemplateOptions, 'shellImage'>): ShellSource {
  if (!o.shellImage) return { kind: 'image' };
  return { kind: 'init-container', image: checkImageRef(o.shellImage, '--shell-image'), mountPath: SHELL_MOUNT_PATH };
}

export type TemplateFormat = 'helm-values' | 'istio-operator' | 'configmap' | 'raw';


/** Template names are keys in Istio's config and values in a comma list: keep them simple. */
export function checkTemplateName(name: string, label = '--name'): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    throw new InputError(`${label}: expected a lowercase name of letters, digits and - (like meshdrain), got ${JSON.stringify(name)}`);
  }
  if (ISTIO_TEMPLATES.includes(name)) throw new InputError(`${label}: "${name}" is one of Istio's own templates (${ISTIO_TEMPLATES.join(', ')}); choose another name`);
  return name;
}

/**
 * The `inject.istio.io/templates` value selecting the template after the ones the pod gets now. With an
 * existing value, the name is appended once (its other templates kept, in order). Without one, the pod
 * gets the injector's `defaultTemplates` (`[sidecar]` unless the mesh config says otherwise), and the
 * annotation replaces that list for the pod (inject.go selectTemplates), so the value is that list
 * plus the name; undefined = the defaults already run the template, so no annotation is needed.
 */
export function templateAnnotationValue(name: string = DEFAULT_TEMPLATE_NAME, existing?: string, defaultTemplates: readonly string[] = DEFAULT_INJECT_TEMPLATES): string | undefined {
  checkTemplateName(name);
  if (existing === undefined || existing.trim() === '') return defaultTemplates.includes(name) ? undefined : [...defaultTemplates, name].join(',');
  const parts = existing
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.includes(name)) return existing;
  return [...parts, name].join(',');
}

/**
 * The `inject.istio.io/templates` value without the template `name` (its other templates kept, in
 * order), as meshdrain wrote it or the user did; undefined = the name is not there (no edit); null =
 * what is left is the injector's `defaultTemplates`, what the pod gets without the annotation, so the
 * annotation goes (undoing templateAnnotationValue exactly, and leaving a later change of the cluster's
 * defaults in force for the pod). A value left with no template keeps `sidecar`: the pod is still injected.
 */
export function templateAnnotationWithout(name: string, existing: string | undefined, defaultTemplates: readonly string[] = DEFAULT_INJECT_TEMPLATES): string | null | undefined {
  if (existing === undefined) return undefined;
  const parts = existing
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.includes(name)) return undefined;
  const rest = parts.filter((p) => p !== name);
  if (rest.join(',') === defaultTemplates.join(',')) return null;
  return (rest.length ? rest : ['sidecar']).join(',');
}

const NATIVE_EXPR: Record<Exclude<NativeCheck, 'off'>, string> = {
  field: `ne (index .ObjectMeta.Annotations \`${ANNOTATIONS.nativeSidecar}\` | default (printf "%t" ${TEMPLATE_NATIVE_SIDECARS.field})) "false"`,
  annotation: `eq (index .ObjectMeta.Annotations \`${ANNOTATIONS.nativeSidecar}\`) "true"`,
};

/**
 * Can `--native-check field` run on this injector (facts.ts TEMPLATE_NATIVE_SIDECARS)? Its own sidecar
 * template decides where istio-proxy goes (containers, or initContainers for a native sidecar), so
 * ours must decide as it does: `field` is that test only where the sidecar template reads
 * `.NativeSidecars` (Istio 1.27 on). An injector without a sidecar template: by its Istio version
 * (global.tag) when known. undefined: nothing to tell by.
 */
export function templateDataHasNativeSidecars(i: { sidecarTemplate?: string; istioVersion?: Version }): boolean | undefined {
  if (i.sidecarTemplate !== undefined) return i.sidecarTemplate.includes(TEMPLATE_NATIVE_SIDECARS.field);
  const { major, minor } = TEMPLATE_NATIVE_SIDECARS.version;
  return i.istioVersion ? atLeast(i.istioVersion, major, minor) === true : undefined;
}

/**
 * `--native-check field` on an injector that does not decide native sidecars by `.NativeSidecars`: the
 * one-line refusal (ADR 093), or null when `field` is right there.
 */
export function nativeCheckProblem(check: NativeCheck, i: { sidecarTemplate?: string; istioVersion?: Version }): string | null {
  if (check !== 'field' || templateDataHasNativeSidecars(i) !== false) return null;
  const { major, minor } = TEMPLATE_NATIVE_SIDECARS.version;
  const by = i.sidecarTemplate !== undefined ? `its sidecar template does not read ${TEMPLATE_NATIVE_SIDECARS.field}, as Istio's does from ${major}.${minor}` : `Istio ${formatVersion(i.istioVersion!)} by its global.tag; the field came in ${major}.${minor}`;
  return (
    `--native-check field reads istiod's ${TEMPLATE_NATIVE_SIDECARS.field}, which this injector does not use (${by}): ` +
    `before ${major}.${minor} the template would fail to execute and istiod would refuse every pod that selects it; give --native-check annotation (native only with ${ANNOTATIONS.nativeSidecar}: "true") or off (no native sidecars)`
  );
}

/** The container fragment the template merges into istio-proxy (also what tests strategic-merge). */
export function proxyContainerPatch(o: InjectionTemplateOptions): {
  name: string;
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle: { preStop: { exec: { command: string[] } } };
} {
  const shell = templateShell(o);
  const c: ReturnType<typeof proxyContainerPatch> = { name: PROXY_CONTAINER, lifecycle: { preStop: { exec: { command: holdCommand(o.hold, shell) } } } };
  if (shell.kind === 'init-container') c.volumeMounts = [{ name: SHELL_VOLUME, mountPath: shell.mountPath }];
  return c;
}

/** The native drain the template carries (undefined option = the default policy's), or null. */
export function templateNativeDrainOf(o: Partial<InjectionTemplateOptions>): { delaySeconds: number } | null {
  return o.nativeDrain === undefined ? templateNativeDrain(null) : o.nativeDrain;
}

/**
 * The istio-proxy preStop command the template gives a native sidecar, exactly as inject renders it
 * (plan/plan.ts): exec only, no curl; a shell only when it sleeps first. undefined = Istio's stays.
 */
export function templateNativeDrainCommand(o: Partial<InjectionTemplateOptions>): string[] | undefined {
  const d = templateNativeDrainOf(o);
  if (!d) return undefined;
  return nativeDrainCommand(d, templateShell(o));
}

/** The shell init container (distroless proxies), as the template writes it. */
function shellInitContainer(shell: ShellSource & { kind: 'init-container' }): Record<string, unknown> {
  return {
    name: SHELL_INIT_CONTAINER,
    image: shell.image,
    command: shellInitCommand(shell),
    volumeMounts: [{ name: SHELL_VOLUME, mountPath: shell.mountPath }],
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_UID,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

/**
 * What the template merges into the pod spec for a native sidecar: istio-proxy is an init container
 * there (restartPolicy: Always), and its preStop becomes meshdrain's native drain. {} when Istio's
 * own drain stays.
 */
export function templateNativePodSpecPatch(o: InjectionTemplateOptions): Record<string, unknown> {
  const command = templateNativeDrainCommand(o);
  if (!command) return {};
  const shell = templateShell(o);
  const usesShell = shell.kind === 'init-container' && command[0] !== NATIVE_DRAIN_PRESTOP[0];
  const proxy: Record<string, unknown> = { name: PROXY_CONTAINER, lifecycle: { preStop: { exec: { command } } } };
  if (!usesShell) return { initContainers: [proxy] };
  proxy.volumeMounts = [{ name: SHELL_VOLUME, mountPath: shell.mountPath }];
  return { initContainers: [proxy, shellInitContainer(shell)], volumes: [{ name: SHELL_VOLUME, emptyDir: {} }] };
}

/** What the template merges into the pod spec for a classic (non-native) sidecar. */
export function templatePodSpecPatch(o: InjectionTemplateOptions): Record<string, unknown> {
  const shell = templateShell(o);
  const spec: Record<string, unknown> = { containers: [proxyContainerPatch(o)] };
  if (shell.kind === 'init-container') {
    spec.initContainers = [shellInitContainer(shell)];
    spec.volumes = [{ name: SHELL_VOLUME, emptyDir: {} }];
  }
  return spec;
}

/** A scalar as YAML: strings JSON-quoted unless plainly safe, `{{` escaped so Go prints it literally. */
function scalarYaml(v: unknown): string {
  if (typeof v === 'string') return goTemplateLiteral(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|[0-9.]+)$/i.test(v) ? v : JSON.stringify(v));
  return JSON.stringify(v);
}

/** Block YAML for plain data (objects, arrays, scalars), sequences at their key's indentation. */
function templateYaml(value: unknown, indent: string): string[] {
  const out: string[] = [];
  const isColl = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length > 0;
  const emit = (v: unknown, ind: string, firstPrefix: string | null): void => {
    if (Array.isArray(v)) {
      for (const item of v) {
        if (isColl(item) && !Array.isArray(item)) emit(item, ind + '  ', `${ind}- `);
        else out.push(`${ind}- ${isColl(item) ? JSON.stringify(item) : scalarYaml(item)}`);
      }
      return;
    }
    let first = firstPrefix;
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      const lead = first ?? ind;
      first = null;
      if (!isColl(val)) out.push(`${lead}${k}: ${typeof val === 'object' && val !== null ? (Array.isArray(val) ? '[]' : '{}') : scalarYaml(val)}`);
      else {
        out.push(`${lead}${k}:`);
        emit(val, Array.isArray(val) ? ind : ind + '  ', null);
      }
    }
  };
  emit(value, indent, null);
  return out;
}

/** The native branch: meshdrain's drain on istio-proxy's init container, or Istio's kept. */
function nativeBody(o: InjectionTemplateOptions): string[] {
  const patch = templateNativePodSpecPatch(o);
  if (Object.keys(patch).length === 0) {
    return ["{{- /* native sidecar: Kubernetes stops the app first; Istio's own drain preStop stays (policy proxy.nativeDrain: istio, or no app delay) */}}", 'spec: {}'];
  }
  const d = templateNativeDrainOf(o)!;
  return [
    `{{- /* native sidecar: Kubernetes stops the app first; Istio's drain starts ${d.delaySeconds}s after termination starts, when the app's delay ends, not at once (ADR 062) */}}`,
    'spec:',
    ...templateYaml(patch, '  '),
  ];
}

/** The Go template text (what goes under `templates.<name>`). */
export function renderInjectionTemplate(o: InjectionTemplateOptions): string {
  const name = checkTemplateName(o.name ?? DEFAULT_TEMPLATE_NAME);
  const check = o.nativeCheck ?? 'field';
  const body = ['spec:', ...templateYaml(templatePodSpecPatch(o), '  ')];
  const head = `{{- /* meshdrain: the istio-proxy preStop waits for the app (generated by \`meshdrain istio template --name ${name}\`). Select per pod: ${ANNOTATIONS.templates}: "sidecar,${name}". */}}`;
  if (check === 'off') return [head, ...body].join('\n') + '\n';
  return (
    [
      head,
      `{{- if ${NATIVE_EXPR[check]} }}`,
      ...nativeBody(o),
      '{{- else }}',
      ...body,
      '{{- end }}',
    ].join('\n') + '\n'
  );
}

function literalBlock(key: string, text: string, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  return `${' '.repeat(indent)}${key}: |\n${text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l ? pad + l : ''))
    .join('\n')}\n`;
}

/** The template wrapped for where it is installed. */
export function renderTemplateOutput(format: Exclude<TemplateFormat, 'configmap'>, o: InjectionTemplateOptions): string {
  const name = checkTemplateName(o.name ?? DEFAULT_TEMPLATE_NAME);
  const tmpl = renderInjectionTemplate(o);
  const usage = `# Pods opt in with the annotation ${ANNOTATIONS.templates}: "sidecar,${name}"\n# (meshdrain inject --via template writes it).\n`;
  switch (format) {
    case 'raw':
      return tmpl;
    case 'helm-values':
      return (
        `# Helm values for the istiod chart (helm upgrade istiod istio/istiod -f this-file ...).\n${usage}` +
        'sidecarInjectorWebhook:\n  templates:\n' +
        literalBlock(name, tmpl, 4)
      );
    case 'istio-operator':
      return (
        `# IstioOperator overlay (istioctl install -f this-file, merged with your other overlays).\n${usage}` +
        'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  values:\n    sidecarInjectorWebhook:\n      templates:\n' +
        literalBlock(name, tmpl, 8)
      );
  }
}

/**
 * Add (or update) `templates.<name>` inside the injector ConfigMap's `data.config` text. Returns the
 * new config text; the caller splices it into the ConfigMap.
 */
export function addTemplateToConfig(configText: string, name: string, tmpl: string): string {
  const cfg = parseDocument(configText);
  if (cfg.errors[0]) throw new InputError(`data.config is not valid YAML: ${cfg.errors[0].message.split('\n')[0]}`);
  const templates = cfg.get('templates', true);
  if (templates === undefined) {
    // Older injector configs (e.g. 1.5) have only `template`: no custom templates exist there.
    throw new InputError('data.config has no `templates` map: this Istio version (only `template`, as in 1.5) does not support custom injection templates; use `meshdrain istio injector-patch` or `meshdrain inject`');
  }
  if (!isMap(templates) || !templates.range) throw new InputError('data.config: templates is not a mapping');
  const existing = templates.get(name, true) as Scalar | undefined;
  if (isScalar(existing) && existing.range) {
    if (existing.value === tmpl) return configText;
    // Replace the whole value: re-render as a literal block at the same key.
    const [s, , e] = existing.range;
    const keyIndent = configText.slice(configText.lastIndexOf('\n', s) + 1).match(/^ */)![0].length;
    const lineStart = configText.lastIndexOf('\n', s) + 1;
    const keyLine = configText.slice(lineStart, s);
    const rendered = literalBlock(name, tmpl, keyLine.match(/^ */)![0].length).slice(keyIndent);
    return configText.slice(0, lineStart) + ' '.repeat(keyIndent) + rendered + configText.slice(e).replace(/^\n/, '');
  }
  if (templates.flow) {
    if (templates.items.length) throw new InputError('data.config: templates is a non-empty flow mapping; add the template by hand');
    // `templates: {}` → block map with our entry.
    const [s, e] = templates.range;
    const lineStart = configText.lastIndexOf('\n', s) + 1;
    const indent = configText.slice(lineStart).match(/^ */)![0].length;
    return configText.slice(0, s).replace(/ *$/, '') + '\n' + literalBlock(name, tmpl, indent + 2) + configText.slice(e).replace(/^\n/, '');
  }
  const first = templates.items[0]?.key as Scalar | undefined;
  if (!first?.range) throw new InputError('data.config: cannot place a new template');
  const keyStart = first.range[0];
  const indent = keyStart - (configText.lastIndexOf('\n', keyStart) + 1);
  const end = templates.range[2];
  const insertAt = configText.lastIndexOf('\n', end - 1) + 1 === end ? end : configText.indexOf('\n', end - 1) + 1 || configText.length;
  const sep = insertAt === configText.length && !configText.endsWith('\n') ? '\n' : '';
  return configText.slice(0, insertAt) + sep + literalBlock(name, tmpl, indent) + configText.slice(insertAt);
}
