/**
 * `meshdrain istio injector-patch`: edit the `istio-sidecar-injector` ConfigMap so injected
 * istio-proxy containers get the meshdrain hold as preStop.
 *
 *  - global: set `global.proxy.lifecycle` in the JSON under `data.values` (every pod gets it).
 *  - annotation: add a branch to the template's lifecycle conditional, so a pod annotation selects a
 *    preStop (`sidecar.istio.io/preStopCommand` raw shell, `meshdrain.dev/wait-for` a catalog hold).
 *
 * Edits are byte-preserving splices (scalar-edit.ts): every line outside the edit stays as it was.
 * The inserted template lines sit between meshdrain:begin/end comments so a re-run replaces them
 * (idempotent, and updatable when options change).
 */
import { isMap, isScalar, parseDocument, Scalar, type Document } from 'yaml';
import { INJECTOR_BEGIN_MARK as BEGIN_MARK, INJECTOR_END_MARK as END_MARK } from '../constants.js';
import { InputError, type SourcePos } from '../errors.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';
import { loadDocuments, nodeAt, posAt, type LoadedFile } from '../yaml/load.js';
import { ANNOTATIONS } from './facts.js';
import { actionBalance, branchActions, goTemplateLiteral, scanActions, TemplateSyntaxError, type Action } from './gotemplate.js';
import { buildCatalog, holdCommand, type CatalogEntry } from './holds.js';
import { replaceScalarSource } from './scalar-edit.js';
import { isRecord } from '../model/workload.js';

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
}

export interface InjectorPatchResult {
  text: string;
  changed: boolean;
  /** What was patched, for stderr. */
  notes: string[];
  warnings: string[];
}

export { BEGIN_MARK, END_MARK };
/** Newer Istio puts this placeholder in `template` when the real ones live under `templates`. */
const MISMATCH_PLACEHOLDER = 'Template_Version_And_Istio_Version_Mismatched_Check_Installation';
const LIFECYCLE_IF = /^if\s+\.Values\.global\.proxy\.lifecycle$/;

export const UPGRADE_WARNING =
  'a hand-patched istio-sidecar-injector ConfigMap is overwritten by the next `helm upgrade` / `istioctl install`; ' +
  'for a durable setup use a custom injection template: `meshdrain istio template` (see docs/istio.md)';

const isObj = isRecord;

export interface InjectorDoc {
  index: number;
  name: string;
  /** Path of the ConfigMap inside its document: [] or ['items', i] in a `kind: List`. */
  base: (string | number)[];
  /** Start offset of the ConfigMap in the file (for splicing from the end). */
  start: number;
}

/** The injector ConfigMaps in a file (also inside `kind: List`). Errors clearly when there is none. */
export function findInjectors(loaded: LoadedFile): InjectorDoc[] {
  const out: InjectorDoc[] = [];
  const others: string[] = [];
  const visit = (value: unknown, index: number, base: (string | number)[]) => {
    if (!isObj(value)) return;
    const meta = isObj(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
    const kind = String(value.kind ?? '');
    if (kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, i) => visit(item, index, [...base, 'items', i]));
      return;
    }
    if (kind !== 'ConfigMap') {
      others.push(`${kind || 'a document without kind'} ${name}`);
      return;
    }
    const data = isObj(value.data) ? value.data : {};
    if (typeof data.config === 'string' && (/^istio-sidecar-injector/.test(name) || /(^|\n)\s*templates?:/.test(data.config))) {
      const node = nodeAt(loaded.docs[index]!.doc, base);
      out.push({ index, name, base, start: node?.range?.[0] ?? loaded.docs[index]!.doc.range[0] });
    } else {
      others.push(`ConfigMap ${name}`);
    }
  };
  loaded.docs.forEach(({ value }, index) => visit(value, index, []));
  if (out.length === 0) {
    const what = others.length ? `found ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}` : 'the input is empty';
    throw new InputError(
      `not the Istio sidecar injector ConfigMap: expected kind ConfigMap named istio-sidecar-injector[-<rev>] with data.config holding the injection template (kubectl -n istio-system get cm istio-sidecar-injector -o yaml); ${what}`,
      { file: loaded.file, line: 1, col: 1 },
    );
  }
  return out;
}

export function stringNode(doc: Document.Parsed, path: (string | number)[], loaded: LoadedFile, what: string): Scalar<string> {
  const node = nodeAt(doc, path);
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    const pos = node?.range ? posAt(loaded.file, loaded.lines, node.range[0]) : posAt(loaded.file, loaded.lines, doc.range[0]);
    throw new InputError(`${what}: expected a string`, pos);
  }
  return node as Scalar<string>;
}

/** file:line:col of a line inside a block scalar (best effort: the scalar's first body line + n). */
function posInScalar(loaded: LoadedFile, node: Scalar, lineInValue: number): SourcePos {
  const p = posAt(loaded.file, loaded.lines, node.range![0]);
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  return block ? { file: loaded.file, line: p.line + 1 + lineInValue, col: 1 } : p;
}

/** Locate the injection template inside `config`: `templates.sidecar` (newer Istio) or `template`. */
function templateNode(cfg: Document.Parsed): { node: Scalar<string>; path: string[] } | undefined {
  const sidecar = cfg.getIn(['templates', 'sidecar'], true);
  if (isScalar(sidecar) && typeof sidecar.value === 'string') return { node: sidecar as Scalar<string>, path: ['templates', 'sidecar'] };
  const legacy = cfg.get('template', true);
  if (isScalar(legacy) && typeof legacy.value === 'string' && !legacy.value.includes(MISMATCH_PLACEHOLDER)) {
    return { node: legacy as Scalar<string>, path: ['template'] };
  }
  return undefined;
}

function lineOf(text: string, at: number): { start: number; end: number; indent: string; before: string } {
  const start = text.lastIndexOf('\n', at - 1) + 1;
  const nl = text.indexOf('\n', at);
  const end = nl < 0 ? text.length : nl + 1;
  const before = text.slice(start, at);
  return { start, end, indent: /^[ \t]*/.exec(before)![0], before };
}

/** Remove a previous meshdrain block (whole lines between the markers). */
export function stripMeshdrainBlock(tmpl: string): string {
  const b = tmpl.indexOf(BEGIN_MARK);
  if (b < 0) return tmpl;
  const e = tmpl.indexOf(END_MARK, lineOf(tmpl, b).end);
  if (e < 0) throw new InputError(`the injection template has a ${BEGIN_MARK} comment without ${END_MARK}; restore the original template or remove the partial meshdrain block by hand`);
  const from = lineOf(tmpl, b).start;
  const to = lineOf(tmpl, e).end;
  return tmpl.slice(0, from) + tmpl.slice(to);
}

interface LifecycleSite {
  /** Offset (line start) where the new branch goes: just before the conditional's first else/end. */
  insertAt: number;
  /** Indentation of action lines and of the `lifecycle:` key. */
  actionIndent: string;
  keyIndent: string;
  hasHoldProxy: boolean;
  hasNativeSidecar: boolean;
}

/** Variables declared at top level (depth 0) before `before`. */
function topLevelVar(acts: Action[], name: string, before: number): boolean {
  const re = new RegExp(`^\\$${name}\\s*:=`);
  return acts.some((a) => a.start < before && a.kind === 'other' && a.depth === 0 && re.test(a.body));
}

function depthAt(acts: Action[], at: number): number {
  let d = 0;
  for (const a of acts) {
    if (a.start >= at) break;
    if (['if', 'range', 'with', 'define', 'block'].includes(a.kind)) d = a.depth + 1;
    else if (a.kind === 'end') d = a.depth;
  }
  return d;
}

const NO_LIFECYCLE =
  'cannot find the lifecycle block in the injection template (`{{- if .Values.global.proxy.lifecycle }}` in the istio-proxy container); ' +
  'Istio 1.3 has none (1.5 and current templates do); on such meshes use `meshdrain inject` on the manifests (on `istioctl kube-inject` output it sets the istio-proxy preStop directly)';

export function findLifecycleSite(tmpl: string): LifecycleSite {
  let acts: Action[];
  try {
    acts = scanActions(tmpl);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) {
      const line = tmpl.slice(0, e.offset).split('\n').length;
      throw new InputError(`injection template, line ${line}: ${e.message}`);
    }
    throw e;
  }
  const idx = acts.findIndex((a) => a.kind === 'if' && LIFECYCLE_IF.test(a.body));
  if (idx < 0) throw new InputError(NO_LIFECYCLE);
  const open = acts[idx]!;
  const branches = branchActions(acts, idx);
  const first = acts[branches[0]!];
  if (!first) throw new InputError(NO_LIFECYCLE);
  const fl = lineOf(tmpl, first.start);
  if (fl.before.trim() !== '') {
    throw new InputError(`injection template, line ${first.line + 1}: expected the lifecycle conditional's {{ else }}/{{ end }} at the start of its line; meshdrain will not guess where to insert`);
  }
  // The YAML key the original branch writes, for its indentation.
  const body = tmpl.slice(open.end, first.start);
  const key = /\n([ \t]*)lifecycle:/.exec(body);
  if (!key) throw new InputError(`${NO_LIFECYCLE} (found the conditional but no \`lifecycle:\` key in its first branch)`);
  if (depthAt(acts, open.start) !== open.depth) throw new InputError(NO_LIFECYCLE);
  return {
    insertAt: fl.start,
    actionIndent: fl.indent,
    keyIndent: key[1]!,
    hasHoldProxy: topLevelVar(acts, 'holdProxy', open.start),
    hasNativeSidecar: topLevelVar(acts, 'nativeSidecar', open.start),
  };
}

/** A YAML flow string for a template (JSON quoting; `{{` escaped so Go prints it literally). */
function yamlString(s: string): string {
  return goTemplateLiteral(JSON.stringify(s));
}

export interface BranchOptions {
  catalog: CatalogEntry[];
  defaultHold: HoldSpec;
  shell?: ShellSource;
  commandAnnotation: string;
  waitForAnnotation: string;
}

/** The lines of the annotation branch for a lifecycle site. */
export function renderAnnotationBranch(site: LifecycleSite, o: BranchOptions): string[] {
  const A = site.actionIndent;
  const K = site.keyIndent;
  const L: string[] = [];
  const postStart = () => {
    if (!site.hasHoldProxy) return;
    L.push(`${A}{{- if $holdProxy }}`, `${K}  postStart:`, `${K}    exec:`, `${K}      command:`, `${K}      - pilot-agent`, `${K}      - wait`, `${A}{{- end }}`);
  };
  const cmdLines = (cmd: string[]) => cmd.map((c) => `${K}      - ${yamlString(c)}`);
  const wf = '`' + o.waitForAnnotation + '`';
  const rc = '`' + o.commandAnnotation + '`';
  L.push(
    `${A}{{- /* ${BEGIN_MARK}: added by \`meshdrain istio injector-patch --mode annotation\`. Re-run it to update; to remove, delete the lines through the matching end comment. ${o.waitForAnnotation} selects a hold from this catalog; ${o.commandAnnotation} runs its value with /bin/sh -c. */}}`,
  );
  const notNative = site.hasNativeSidecar ? ` (not $nativeSidecar)` : '';
  L.push(site.hasNativeSidecar ? `${A}{{- else if and${notNative} (isset .ObjectMeta.Annotations ${wf}) }}` : `${A}{{- else if isset .ObjectMeta.Annotations ${wf} }}`);
  L.push(`${K}lifecycle:`);
  postStart();
  L.push(`${K}  preStop:`, `${K}    exec:`, `${K}      command:`);
  L.push(`${A}{{- $meshdrainWaitFor := index .ObjectMeta.Annotations ${wf} }}`);
  o.catalog.forEach((entry, i) => {
    const cond = entry.keys.map((k) => `(eq $meshdrainWaitFor ${JSON.stringify(k)})`);
    const test = cond.length === 1 ? cond[0]!.slice(1, -1) : `or ${cond.join(' ')}`;
    L.push(`${A}{{- ${i === 0 ? 'if' : 'else if'} ${test} }}`);
    L.push(...cmdLines(holdCommand(entry.hold, o.shell, `${o.waitForAnnotation}=${entry.keys[0]}`)));
  });
  L.push(o.catalog.length ? `${A}{{- else }}` : `${A}{{- if true }}`);
  L.push(...cmdLines(holdCommand(o.defaultHold, o.shell, `${o.waitForAnnotation}: value not in the injector catalog (or empty); default hold`)));
  L.push(`${A}{{- end }}`);
  L.push(`${A}{{- else if isset .ObjectMeta.Annotations ${rc} }}`);
  L.push(`${K}lifecycle:`);
  postStart();
  L.push(`${K}  preStop:`, `${K}    exec:`, `${K}      command:`, `${K}      - /bin/sh`, `${K}      - -c`);
  L.push(`${K}      - {{ printf "%q" (index .ObjectMeta.Annotations ${rc}) }}`);
  L.push(`${A}{{- /* ${END_MARK} */}}`);
  return L;
}

/** Patch a template string (annotation mode). Returns the new template. */
export function patchTemplateText(tmpl: string, o: BranchOptions): string {
  const clean = stripMeshdrainBlock(tmpl);
  const site = findLifecycleSite(clean);
  const lines = renderAnnotationBranch(site, o);
  const out = clean.slice(0, site.insertAt) + lines.join('\n') + '\n' + clean.slice(site.insertAt);
  // Guard: what we produce must still be a well-formed template.
  const before = actionBalance(clean);
  const after = actionBalance(out);
  if (before.openers - before.ends !== after.openers - after.ends) throw new Error('internal: unbalanced template after patch');
  return out;
}

/** Does the template read global.proxy.lifecycle at all? (Istio ≤1.3 does not.) */
export function templateReadsGlobalLifecycle(tmpl: string): boolean {
  return /\.Values\.global\.proxy\.lifecycle\b/.test(tmpl);
}

// ---- values JSON -------------------------------------------------------------------------------

/** Set global.proxy.lifecycle in the `values` JSON text, keeping its formatting elsewhere. */
export function setGlobalLifecycle(json: string, lifecycle: unknown, where: SourcePos): { text: string; previous: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new InputError(`data.values: not valid JSON: ${(e as Error).message}`, where);
  }
  if (!isObj(parsed)) throw new InputError('data.values: expected a JSON object', where);
  const global = parsed.global;
  if (global !== undefined && !isObj(global)) throw new InputError('data.values: global must be an object', where);
  const proxy = isObj(global) ? global.proxy : undefined;
  if (proxy !== undefined && !isObj(proxy)) throw new InputError('data.values: global.proxy must be an object', where);
  const previous = isObj(proxy) ? proxy.lifecycle : undefined;
  if (JSON.stringify(previous) === JSON.stringify(lifecycle)) return { text: json, previous };

  // Find the node with source ranges (JSON is YAML flow syntax) to splice only what changes.
  const doc = parseDocument(json, { keepSourceTokens: false });
  const oneLine = !json.trim().includes('\n');
  const indentUnit = /\n([ \t]+)"/.exec(json)?.[1] ?? '  ';
  const render = (v: unknown, depth: number) =>
    oneLine ? JSON.stringify(v) : JSON.stringify(v, null, indentUnit).replace(/\n/g, '\n' + indentUnit.repeat(depth));
  const existing = doc.getIn(['global', 'proxy', 'lifecycle'], true) as { range?: [number, number, number] } | undefined;
  if (existing?.range) {
    const [s, e] = existing.range;
    const text = json.slice(0, s) + render(lifecycle, 3) + json.slice(e);
    return { text, previous };
  }
  // Insert as the first key of the deepest existing object on the path.
  const path = ['global', 'proxy'];
  let depth = path.length;
  let node = doc.getIn(path, true);
  while (!isMap(node) && depth > 0) {
    depth--;
    node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
  }
  if (!isMap(node) || !node.range) throw new InputError('data.values: cannot place global.proxy.lifecycle', where);
  const rest = path.slice(depth);
  const value = rest.reduceRight<unknown>((v, k) => ({ [k]: v }), { lifecycle })
  const entries = Object.entries(value as Record<string, unknown>);
  const [k, v] = entries[0]!;
  const open = json.indexOf('{', node.range[0]);
  const empty = node.items.length === 0;
  let insert: string;
  if (oneLine) insert = `${JSON.stringify(k)}:${JSON.stringify(v)}${empty ? '' : ','}`;
  else {
    const pad = '\n' + indentUnit.repeat(depth + 1);
    insert = `${pad}${JSON.stringify(k)}: ${render(v, depth + 1)}${empty ? '\n' + indentUnit.repeat(depth) : ','}`;
  }
  const text = json.slice(0, open + 1) + insert + json.slice(empty ? json.indexOf('}', open) : open + 1);
  return { text, previous };
}

// ---- the whole ConfigMap -------------------------------------------------------------------------

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
  const catalog = buildCatalog(o.hold, o.catalog ?? []);
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
        patched = patchTemplateText(tmpl, { catalog, defaultHold: o.hold, shell: o.shell, commandAnnotation, waitForAnnotation });
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
      `${inj.name}: global.proxy.lifecycle replaces Istio's own lifecycle for every pod: the holdApplicationUntilProxyStarts postStart and the native-sidecar drain preStop are not injected while it is set`,
    );
  }
  warnings.push(UPGRADE_WARNING);
  return { text: out, changed: out !== text, notes, warnings };
}
