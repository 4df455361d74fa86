/** meshdrain inject, as a pure function over one file's text. The CLI adds files, flags and writes. */
import type { Document } from 'yaml';
import { ANNOTATIONS, INJECTOR_ANNOTATIONS, PROXY_CONTAINER } from '../istio/facts.js';
import { mergeProxyConfigAnnotation } from '../istio/proxy-config.js';
import { getPath, injectionDisabled, isRecord, nearWorkloadKind, patchFragment, patchFragmentNote, podTemplateProblem, podTemplateSites, siteName, type PodTemplate } from '../model/workload.js';
import { InputError } from '../errors.js';
import { applyPlan, proxyPlacement, type ProxyCarrier, type ProxyWrite } from '../plan/apply.js';
import { planFor, type PlanOptions } from '../plan/plan.js';
import { isProxyStub, strandedStubWarning } from '../plan/facts.js';
import type { ShutdownPlan } from '../plan/types.js';
import type { DataPlaneMode } from '../model/data-plane.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { holdsSomething, pathCrossesAlias, posOfPath, streamOf } from '../yaml/load.js';
import { scanNamespaces } from '../mesh/namespaces.js';
import { applySplices, detectIndentSeq, diffValues, planSplices, type Path, type SetOp, type Splice } from '../yaml/splice.js';

export interface InjectOptions extends PlanOptions {
  policy?: Policy;
}

/** One thing inject changed (or would change), located in the input. */
export interface Change {
  file: string;
  line: number;
  col: number;
  workload: string;
  what: string;
}

export interface InjectResult {
  file: string;
  output: string;
  changed: boolean;
  /** Documents in the file that hold something (an input with none anywhere is refused). */
  documents: number;
  changes: Change[];
  /** For stderr: decisions a user should know about (native sidecars for Jobs, skipped pods). */
  notes: string[];
  /** For stderr with --verbose: what passed through untouched. */
  verbose: string[];
  /** Per workload: its data-plane mode and why, and what carried meshdrain's proxy settings (--explain). */
  modes: WorkloadMode[];
}

export interface WorkloadMode {
  file: string;
  line: number;
  col: number;
  workload: string;
  mode: DataPlaneMode;
  reason: string;
  /** What meshdrain wrote for the proxy, in words (docs/modes.md). */
  wrote: string;
  /** Where it wrote istio-proxy's settings (none: nothing istio-proxy-specific, e.g. a Job's nativeSidecar request only). */
  carriers: ProxyCarrier[];
}

/** Each carrier of istio-proxy settings, in words (docs/modes.md). */
const CARRIER_WORDS: Record<ProxyCarrier, string> = {
  own: `the pod's own ${PROXY_CONTAINER} entry`,
  stub: `an ${PROXY_CONTAINER} override stub`,
  annotation: `the ${INJECTOR_ANNOTATIONS.overrides} annotation`,
  template: 'the custom injection template',
};

/** What meshdrain wrote for istio-proxy, in words: from the placement applyPlan writes by. */
function proxyWrites(plan: ShutdownPlan, placed: readonly ProxyWrite[]): string {
  if (plan.leave) return 'nothing: left as written';
  const parts = placed.map((w) => {
    const where = CARRIER_WORDS[w.carrier] + (w.what === 'native' && w.carrier === 'annotation' && plan.via === 'template' ? ": the template's differs" : '');
    return `${w.what === 'classic' ? 'the classic hold' : 'the native drain'} (${where})`;
  });
  if (!parts.length) parts.push('no istio-proxy settings');
  const delayed = plan.apps.filter((a) => a.preStop).map((a) => a.name);
  if (delayed.length) parts.push(`app delay on ${delayed.join(', ')}`);
  parts.push(`grace ${plan.graceSeconds}s`);
  return parts.join('; ');
}

/** A short description of a set-op relative to the pod template. */
function describe(op: SetOp, templatePath: Path, pod: PodTemplate): string {
  const rel = op.path.slice(templatePath.length);
  const [a, b, c] = rel;
  const keys = (v: unknown): string => (isRecord(v) ? Object.keys(v).join(', ') : '');
  if (op.delete) {
    if (a === 'metadata' && b === 'annotations' && typeof c === 'string') return `remove annotation ${c}`;
    if (a === 'spec' && (b === 'containers' || b === 'initContainers') && typeof c === 'number' && rel.length === 3) {
      const name = ((b === 'containers' ? pod.spec?.containers : pod.spec?.initContainers) ?? [])[c]?.name ?? '?';
      return `remove ${b === 'initContainers' ? 'init container' : 'container'} ${name}${name === PROXY_CONTAINER ? " (meshdrain's override stub)" : ''}`;
    }
    return `remove ${rel.join('.')}`;
  }
  if (a === 'metadata' && b === 'annotations') return typeof c === 'string' ? `set annotation ${c}` : `add annotations ${keys(op.value)}`.trimEnd();
  if (a === 'metadata') return `add annotations ${isRecord(op.value) ? keys(op.value.annotations) : ''}`.trimEnd();
  if (a === 'spec' && b === 'terminationGracePeriodSeconds') return `raise terminationGracePeriodSeconds to ${String(op.value)}`;
  if (a === 'spec' && (b === 'containers' || b === 'initContainers') && typeof c === 'number') {
    const list = (b === 'containers' ? pod.spec?.containers : pod.spec?.initContainers) ?? [];
    const name = list[c]?.name ?? (isRecord(op.value) ? String(op.value.name) : '?');
    if (rel.length === 3) return `add ${b === 'initContainers' ? 'init container' : 'container'} ${name}${name === PROXY_CONTAINER ? ' (override stub with the preStop hold)' : ''}`;
    return `set ${name} ${rel.slice(3).join('.')}`;
  }
  if (a === 'spec') return `set ${rel.slice(1).join('.')}`;
  return `set ${rel.join('.')}`;
}

/** Does an edit at `path` reach *into* an alias (which would silently edit a shared anchor)? */
const reachesIntoAlias = (doc: Document, path: Path): boolean => pathCrossesAlias(doc, path.slice(0, -1));

/** Inject the shutdown plan into every pod template of a file. Throws InputError on bad input. */
export function injectText(text: string, file: string, opts: InjectOptions = {}): InjectResult {
  const policy = opts.policy ?? DEFAULT_POLICY;
  // Namespace objects are evidence of injection and ambient (ADR 060): the run's (the CLI scans every
  // input), else this file's own.
  const namespaces = opts.namespaces ?? scanNamespaces([{ file, text }]);
  const res: InjectResult = { file, output: text, changed: false, documents: 0, changes: [], notes: [], verbose: [], modes: [] };
  // Each document's edits become text splices as soon as it is parsed, and its syntax tree is let go:
  // a long stream (Helm output, 1,000 Deployments) never holds every tree at once.
  const loaded = streamOf(text, file);
  const spliceOpts = { indentSeq: detectIndentSeq(text), json: loaded.format === 'json' };
  const splices: Splice[] = [];
  let order = 0;

  for (const { doc, value } of loaded.docs) {
    if (holdsSomething({ doc, value })) res.documents++;
    const sites = podTemplateSites(value);
    if (sites.length === 0 && isRecord(value)) {
      const meta = isRecord(value.metadata) ? value.metadata : {};
      res.verbose.push(`${file}: ${String(value.kind ?? '(no kind)')}/${String(meta.name ?? '')}: not a workload, passed through`);
      const near = typeof value.kind === 'string' ? nearWorkloadKind(value.kind) : undefined;
      if (near) {
        const at = posOfPath(loaded, doc, ['kind']);
        res.notes.push(`${file}:${at.line}:${at.col}: ${value.kind}/${String(meta.name ?? '')}: kind "${value.kind}" is not a workload kind (did you mean ${near}?): passed through unchanged`);
      }
    }
    const ops: SetOp[] = [];
    for (const site of sites) {
      const pod = getPath(value, site.templatePath) as PodTemplate;
      const name = siteName(site);
      const pos = posOfPath(loaded, doc, site.templatePath);
      const problem = podTemplateProblem(pod);
      if (problem) throw new InputError(`${name}: ${problem.message}`, posOfPath(loaded, doc, [...site.templatePath, ...problem.path]));
      // A partial object (a kustomize patch named alone) is not edited as a whole one (ADR 083).
      const fragment = patchFragment(site.kind, pod);
      if (fragment) {
        const at = posOfPath(loaded, doc, [...site.templatePath, ...fragment.path]);
        res.notes.push(`${file}:${at.line}:${at.col}: ${name}: ${patchFragmentNote(fragment.why)}`);
        res.modes.push({ file, line: pos.line, col: pos.col, workload: name, mode: 'none', reason: fragment.why, wrote: 'nothing: a patch fragment', carriers: [] });
        continue;
      }
      if (injectionDisabled(pod)) {
        res.verbose.push(`${file}:${pos.line}:${pos.col}: ${name}: ${ANNOTATIONS.inject} is "false"; left alone`);
        if (pod.spec?.containers?.some(isProxyStub)) res.notes.push(`${file}:${pos.line}:${pos.col}: ${name}: ${strandedStubWarning(`${ANNOTATIONS.inject} is "false"`)}`);
        res.modes.push({ file, line: pos.line, col: pos.col, workload: name, mode: 'none', reason: `${ANNOTATIONS.inject} is "false"`, wrote: 'nothing: opted out', carriers: [] });
        continue;
      }
      // Errors about the pod's proxy config point at that annotation.
      const where = posOfPath(loaded, doc, [...site.templatePath, 'metadata', 'annotations', ANNOTATIONS.proxyConfig]);
      const plan = planFor(site, pod, policy, { ...opts, namespaces, where });
      res.notes.push(...plan.notes.map((n) => `${file}:${pos.line}:${pos.col}: ${n}`));
      const placed = proxyPlacement(pod, plan);
      res.modes.push({ file, line: pos.line, col: pos.col, workload: name, mode: plan.mode.mode, reason: plan.mode.reason, wrote: proxyWrites(plan, placed), carriers: [...new Set(placed.map((w) => w.carrier))] });
      const edited = applyPlan(pod, plan, {
        mergeProxyConfig: Object.keys(plan.proxyConfig).length ? (existing) => mergeProxyConfigAnnotation(existing, plan.proxyConfig, pos) : undefined,
      });
      const siteOps = diffValues(pod, edited, site.templatePath);
      const blocked = siteOps.find((op) => reachesIntoAlias(doc, op.path));
      if (blocked) {
        const at = posOfPath(loaded, doc, blocked.path);
        res.notes.push(`${file}:${at.line}:${at.col}: ${name}: not changed: the edit would go through a YAML alias and silently change its shared anchor; give this workload its own copy`);
        continue;
      }
      for (const op of siteOps) {
        const at = posOfPath(loaded, doc, op.path);
        res.changes.push({ file, line: at.line, col: at.col, workload: name, what: describe(op, site.templatePath, pod) });
      }
      ops.push(...siteOps);
    }
    if (ops.length) {
      splices.push(...planSplices(text, doc, loaded.lines, ops, spliceOpts, order));
      order += ops.length;
    }
  }

  if (order === 0) return res;
  res.changed = true;
  // JSON is flow YAML: the same splices keep its layout and every number as written.
  res.output = applySplices(text, splices);
  return res;
}


/** A note as inject writes it: `file:line:col: Kind/name: message` (the workload part when there is one). */
export interface SplitNote {
  line: number;
  col: number;
  workload?: string;
  message: string;
}

/** Take a note of `file` apart; undefined when it is not one of that file's positioned notes. */
export function splitNote(note: string, file: string): SplitNote | undefined {
  if (!note.startsWith(`${file}:`)) return undefined;
  const m = /^(\d+):(\d+): (.*)$/s.exec(note.slice(file.length + 1));
  if (!m) return undefined;
  const rest = m[3]!;
  const w = /^([A-Za-z][A-Za-z0-9]*\/[^\s:]+): (.*)$/s.exec(rest);
  return { line: Number(m[1]), col: Number(m[2]), ...(w ? { workload: w[1]!, message: w[2]! } : { message: rest }) };
}

/** How many workloads a grouped note names before "…". */
const GROUP_NAMES = 3;

/**
 * The notes of a run for stderr. The same note about more than two workloads (1,000 Deployments with
 * no app shell named) is printed once in full, for its first workload, and then one line names how many
 * more have it; `all` (--verbose) prints every one.
 */
export function noteLines(results: readonly InjectResult[], all = false): string[] {
  const notes = results.flatMap((r) => r.notes.map((n) => ({ n, s: splitNote(n, r.file) })));
  if (all) return notes.map(({ n }) => n);
  const groups = new Map<string, { first: string; names: string[] }>();
  const out: (string | { key: string })[] = [];
  for (const { n, s } of notes) {
    if (!s?.workload) {
      out.push(n);
      continue;
    }
    const g = groups.get(s.message);
    if (g) g.names.push(s.workload);
    else {
      groups.set(s.message, { first: n, names: [s.workload] });
      out.push({ key: s.message });
    }
  }
  return out.flatMap((o) => {
    if (typeof o === 'string') return [o];
    const { first, names } = groups.get(o.key)!;
    // Two stay as they are: a summary line would be no shorter.
    if (names.length <= 2) return notes.filter(({ s }) => s?.message === o.key).map(({ n }) => n);
    const more = names.slice(1);
    const shown = more.slice(0, GROUP_NAMES).join(', ') + (more.length > GROUP_NAMES ? ', …' : '');
    return [first, `the same for ${more.length} more workloads: ${shown} (--verbose lists each)`];
  });
}
