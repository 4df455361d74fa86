/**
 * `meshdrain istio injector-patch`: edit the `istio-sidecar-injector` ConfigMap so injected
 * istio-proxy containers get the meshdrain hold as preStop.
 *
 *  - global: set `global.proxy.lifecycle` in the JSON under `data.values` (every pod gets it;
 *    injector-values.ts).
 *  - annotation: add a branch to the template's lifecycle conditional, so a pod annotation selects a
 *    preStop (injector-branch.ts).
 *
 * Finding the ConfigMap and its template: injector-find.ts. Edits are byte-preserving splices
 * (scalar-edit.ts): every line outside the edit stays as it was.
 */
import { parseDocument } from 'yaml';
import { INJECTOR_BEGIN_MARK as BEGIN_MARK, INJECTOR_END_MARK as END_MARK } from '../constants.js';
import { InputError } from '../errors.js';
import { isRecord } from '../model/workload.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';
import { loadDocuments, nodeAt, posAt } from '../yaml/load.js';
import { ANNOTATIONS } from './facts.js';
import { buildCatalog, holdCommand } from './holds.js';
import { nativeDrainCommand } from '../hooks/native-drain.js';
import { templateNativeDrain } from '../plan/facts.js';
import { patchTemplateText, stripMeshdrainBlock, templateReadsGlobalLifecycle } from './injector-branch.js';
import { findInjectors, posInScalar, stringNode, templateNode } from './injector-find.js';
import { setGlobalLifecycle } from './injector-values.js';
import { replaceScalarSource } from './scalar-edit.js';

export { BEGIN_MARK, END_MARK, patchTemplateText, setGlobalLifecycle };

export type InjectorMode = 'global' | 'annotation';

export interface InjectorPatchOptions {
  mode: InjectorMode;
  /** The hold for global mode, and the default of the annotation catalog. */
  hold: HoldSpec;
  shell?: ShellSource;
  /** The raw-command annotation the annotation branch accepts (default sidecar.istio.io/preStopCommand). */
  commandAnnotation?: string;
  /** The wait-strategy annotation (default meshdrain.dev/wait-for). */
  waitForAnnotation?: string;
  /** Extra catalog entries ("strategy[;strategy]") besides the built-ins. */
  catalog?: string[];
  /** `hold`'s timeout was named (--timeout): every catalog entry gets it; else each its own default. */
  timeoutNamed?: boolean;
  /**
   * The native drain native pods that ask get (annotation mode): from plan/facts.ts
   * templateNativeDrain, as inject and the custom template. null: Istio's drain stays. Default: the
   * default policy's.
   */
  nativeDrain?: { delaySeconds: number } | null;
}

export interface InjectorPatchResult {
  text: string;
  changed: boolean;
  /** What was patched, for stderr. */
  notes: string[];
  warnings: string[];
}

export const UPGRADE_WARNING =
  'a hand-patched istio-sidecar-injector ConfigMap is overwritten by the next `helm upgrade` / `istioctl install`; ' +
  'for a durable setup use a custom injection template: `meshdrain istio template` (see docs/istio.md)';

const isObj = isRecord;

export function patchInjectorConfigMap(text: string, file: string, o: InjectorPatchOptions): InjectorPatchResult {
  const loaded = loadDocuments(text, file);
  const injectors = findInjectors(loaded);
  const notes: string[] = [];
  const warnings: string[] = [];
  const commandAnnotation = o.commandAnnotation ?? ANNOTATIONS.legacyPreStop;
  const waitForAnnotation = o.waitForAnnotation ?? ANNOTATIONS.waitFor;
  for (const a of [commandAnnotation, waitForAnnotation]) {
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(a) || a.length > 316) {
      throw new InputError(`--annotation: ${JSON.stringify(a)} is not a valid Kubernetes annotation name`);
    }
  }
  const catalog = buildCatalog(o.hold, o.catalog ?? [], true, o.timeoutNamed === true);
  let out = text;
  // Later documents first: earlier offsets stay valid while we splice.
  for (const inj of [...injectors].sort((a, b) => b.start - a.start)) {
    const { doc } = loaded.docs[inj.index]!;
    const configNode = stringNode(doc, [...inj.base, 'data', 'config'], loaded, `${inj.name}: data.config`);
    const configText = configNode.value;
    const cfg = parseDocument(configText, { prettyErrors: false });
    if (cfg.errors[0]) {
      const lp = cfg.errors[0].linePos?.[0];
      throw new InputError(`${inj.name}: data.config is not valid YAML: ${cfg.errors[0].message.split('\n')[0]}`, posInScalar(loaded, configNode, (lp?.line ?? 1) - 1));
    }
    const t = templateNode(cfg);
    if (!t) throw new InputError(`${inj.name}: data.config has no injection template (templates.sidecar or template)`, posAt(loaded.file, loaded.lines, configNode.range![0]));
    const tmpl = t.node.value;
    const tmplLine = cfg.range ? configText.slice(0, t.node.range![0]).split('\n').length : 0;
    const wherePos = posInScalar(loaded, configNode, tmplLine);
    const err = (e: unknown): never => {
      if (e instanceof InputError && !e.pos) throw new InputError(`${inj.name} (${t.path.join('.')}): ${e.message}`, wherePos);
      throw e;
    };

    if (o.mode === 'annotation') {
      let patched: string;
      try {
        const drain = o.nativeDrain === undefined ? templateNativeDrain(null) : o.nativeDrain;
        const nativeDrain = drain ? nativeDrainCommand(drain, o.shell) : undefined;
        patched = patchTemplateText(tmpl, { catalog, defaultHold: o.hold, shell: o.shell, commandAnnotation, waitForAnnotation, ...(nativeDrain ? { nativeDrain } : {}) });
      } catch (e) {
        return err(e);
      }
      const foreign = stripMeshdrainBlock(tmpl);
      for (const a of [commandAnnotation, waitForAnnotation]) {
        if (foreign.includes(a)) warnings.push(`${inj.name}: the template already mentions ${a} outside meshdrain's block (an older hand patch?); meshdrain's branch is checked first`);
      }
      if (patched !== tmpl) {
        const newConfig = replaceScalarSource(configText, t.node, patched);
        out = replaceScalarSource(out, configNode, newConfig);
        notes.push(`${inj.name}: added the ${waitForAnnotation} / ${commandAnnotation} branch to ${t.path.join('.')}`);
      } else {
        notes.push(`${inj.name}: already patched; nothing to change`);
      }
      if (doc.getIn([...inj.base, 'data', 'values']) !== undefined) {
        const values = String(doc.getIn([...inj.base, 'data', 'values']));
        if (/"lifecycle"\s*:\s*\{\s*"/.test(values)) {
          warnings.push(`${inj.name}: values set global.proxy.lifecycle, which wins over the annotation branch; pods get the global lifecycle`);
        }
      }
      continue;
    }

    // global
    if (!templateReadsGlobalLifecycle(tmpl)) {
      err(new InputError('this injection template never reads global.proxy.lifecycle (Istio 1.3 has no such hook), so setting it would change nothing; on such meshes use `meshdrain inject` on the manifests (on `istioctl kube-inject` output it sets the istio-proxy preStop directly)'));
    }
    const valuesNode = nodeAt(doc, [...inj.base, 'data', 'values']);
    if (valuesNode === undefined) {
      throw new InputError(
        `${inj.name}: no data.values: this injector (older Istio) had its Helm values rendered into the template at install time, so there is no global.proxy.lifecycle to set here; ` +
          'use --mode annotation, or set global.proxy.lifecycle in your Helm values and re-install',
        posAt(loaded.file, loaded.lines, doc.range[0]),
      );
    }
    const vNode = stringNode(doc, [...inj.base, 'data', 'values'], loaded, `${inj.name}: data.values`);
    const cmd = holdCommand(o.hold, o.shell);
    const lifecycle = { preStop: { exec: { command: cmd } } };
    const { text: newValues, previous } = setGlobalLifecycle(vNode.value, lifecycle, posAt(loaded.file, loaded.lines, vNode.range![0]));
    if (newValues !== vNode.value) {
      // Sanity: still JSON, and only global.proxy.lifecycle differs.
      const a = JSON.parse(vNode.value) as Record<string, unknown>;
      const b = JSON.parse(newValues) as Record<string, unknown>;
      const strip = (x: Record<string, unknown>) => {
        const g = x.global as Record<string, unknown> | undefined;
        const p = g?.proxy as Record<string, unknown> | undefined;
        if (p) delete p.lifecycle;
        return JSON.stringify(x);
      };
      if (strip(a) !== strip(b)) throw new Error('internal: values edit changed more than global.proxy.lifecycle');
      out = replaceScalarSource(out, vNode, newValues);
      notes.push(`${inj.name}: set global.proxy.lifecycle (preStop: meshdrain hold) in data.values`);
      if (previous !== undefined && isObj(previous) && Object.keys(previous).length > 0) {
        warnings.push(`${inj.name}: replaced an existing global.proxy.lifecycle: ${JSON.stringify(previous).slice(0, 200)}`);
      }
    } else {
      notes.push(`${inj.name}: global.proxy.lifecycle already holds this hold; nothing to change`);
    }
    warnings.push(
      `${inj.name}: global.proxy.lifecycle replaces Istio's own lifecycle for every pod (istio/istio#47373): the holdApplicationUntilProxyStarts postStart and the native-sidecar drain preStop are not injected while it is set, and native sidecars get this classic hold at termination start instead of meshdrain's native drain; --mode annotation keeps them apart`,
    );
  }
  warnings.push(UPGRADE_WARNING);
  return { text: out, changed: out !== text, notes, warnings };
}
