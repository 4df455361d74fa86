/**
 * The annotation branch meshdrain adds to the injection template's lifecycle conditional, so a pod
 * annotation selects a preStop (`sidecar.istio.io/preStopCommand` raw shell, `meshdrain.dev/wait-for`
 * a catalog hold). The inserted lines sit between the begin/end comments (constants.ts) so a re-run
 * replaces them. Text in, text out: the ConfigMap around it is injector.ts's business.
 */
import { INJECTOR_BEGIN_MARK as BEGIN_MARK, INJECTOR_END_MARK as END_MARK } from '../constants.js';
import { InputError } from '../errors.js';
import type { HoldSpec, ShellSource } from '../plan/types.js';
import { actionBalance, branchActions, goTemplateLiteral, scanActions, TemplateSyntaxError, type Action } from './gotemplate.js';
import { holdCommand, type CatalogEntry } from './holds.js';

const LIFECYCLE_IF = /^if\s+\.Values\.global\.proxy\.lifecycle$/;

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

export interface LifecycleSite {
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
  /**
   * A native sidecar that asks (the wait-for annotation) gets meshdrain's native drain instead of
   * Istio's immediate one: the command inject writes (hooks/hold.ts nativeDrainCommand). Absent:
   * Istio's drain stays (policy proxy.nativeDrain: istio).
   */
  nativeDrain?: string[];
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
  if (site.hasNativeSidecar && o.nativeDrain) {
    // Native sidecar: the preStop runs when termination starts (KEP-753); Istio's drain would start
    // there while the app still waits (#60649). meshdrain's starts when the app's delay ends.
    L.push(`${A}{{- else if and $nativeSidecar (isset .ObjectMeta.Annotations ${wf}) }}`);
    L.push(`${K}lifecycle:`, `${K}  preStop:`, `${K}    exec:`, `${K}      command:`);
    L.push(...cmdLines(o.nativeDrain));
  }
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

/** What a patched template's catalog holds: the exact preStop each annotation value selects. */
export interface InstalledCatalog {
  /** The wait-strategy annotation the branch reads (`--wait-for-annotation`). */
  annotation: string;
  entries: { keys: string[]; command: string[] }[];
  /** The hold for a value outside the catalog (or empty). */
  defaultCommand: string[];
}

/** One `- "…"` command line as renderAnnotationBranch writes it (yamlString), decoded; undefined if not one. */
function commandItem(line: string): string | undefined {
  const m = /^\s*- (".*")\s*$/.exec(line);
  if (!m) return undefined;
  try {
    const v = JSON.parse(m[1]!.split('{{ "{{" }}').join('{{')) as unknown;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The catalog meshdrain's annotation branch installed in an injection template (the inverse of
 * renderAnnotationBranch, read from the text istiod runs): each entry's keys and its pre-rendered
 * command, and the default one. null when the template has no meshdrain branch, or one this reader
 * does not recognise (then nothing is guessed).
 */
export function readAnnotationBranch(tmpl: string): InstalledCatalog | null {
  const b = tmpl.indexOf(BEGIN_MARK);
  const e = b < 0 ? -1 : tmpl.indexOf(END_MARK, b);
  if (b < 0 || e < 0) return null;
  const lines = tmpl.slice(b, e).split('\n');
  const head = lines.findIndex((l) => /\{\{-? \$meshdrainWaitFor := index \.ObjectMeta\.Annotations `[^`]+` \}\}/.test(l));
  if (head < 0) return null;
  const annotation = /`([^`]+)`/.exec(lines[head]!)![1]!;
  const entries: InstalledCatalog['entries'] = [];
  let current: { keys: string[]; command: string[] } | null = null;
  let defaultCommand: string[] | null = null;
  for (const line of lines.slice(head + 1)) {
    const action = /^\s*\{\{-? (.*?) -?\}\}\s*$/.exec(line)?.[1];
    if (action !== undefined) {
      if (/^end$/.test(action)) break;
      if (/^(?:if|else if) /.test(action) && action.includes('$meshdrainWaitFor')) {
        const keys = [...action.matchAll(/eq \$meshdrainWaitFor ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
        if (!keys.length) return null;
        current = { keys, command: [] };
        entries.push(current);
        continue;
      }
      if (action === 'else' || action === 'if true') {
        current = { keys: [], command: [] };
        defaultCommand = current.command;
        continue;
      }
      return null;
    }
    const item = commandItem(line);
    if (item === undefined || !current) return null;
    current.command.push(item);
  }
  if (!defaultCommand?.length || entries.some((x) => x.command.length === 0)) return null;
  return { annotation, entries, defaultCommand };
}
