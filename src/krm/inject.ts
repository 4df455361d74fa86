/** `meshdrain inject` as a KRM function: ResourceList in, ResourceList out (see resource-list.ts). */
import { InputError } from '../errors.js';
import { injectText, splitNote } from '../inject/inject.js';
import { readText } from '../io/files.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import type { PlanOptions } from '../plan/plan.js';
import { configMapPolicyPos, policySource, where } from './function-config.js';
import { parseKubeVersion, parseVersion, type Version } from '../model/version.js';
import { pathAt, resultAt, type ResourceList, type Result } from './resource-list.js';

export interface KrmInjectOptions extends PlanOptions {
  /** -c: a policy file, used when the functionConfig carries none. */
  policyFile?: string;
  cwd: string;
}

export interface KrmInjected {
  /** The ResourceList text with the items edited (results not yet added). */
  text: string;
  results: Result[];
  /** For stderr, as inject prints them. */
  notes: string[];
}

async function policyFor(rl: ResourceList, opts: KrmInjectOptions): Promise<Policy> {
  const src = policySource(rl);
  const inList = src.kind === 'inline' || (src.kind === 'configmap' && src.text !== undefined);
  if (inList && opts.policyFile) throw new InputError('the policy comes from the ResourceList functionConfig; drop -c, or drop the functionConfig');
  if (!inList && !opts.policyFile) return DEFAULT_POLICY;
  // zod is loaded only when there is a policy to validate.
  const { loadPolicy, loadPolicyFile } = await import('../policy/load.js');
  if (src.kind === 'inline') return loadPolicy(src.text, rl.loaded.file);
  if (src.kind === 'configmap' && src.text !== undefined) {
    const label = `${rl.loaded.file} functionConfig data.policy`;
    try {
      return loadPolicy(src.text, label);
    } catch (e) {
      // Point at the ResourceList line, so the error result names the functionConfig field.
      if (e instanceof InputError && e.pos?.file === label) throw new InputError(e.message, configMapPolicyPos(rl, e.pos.line, e.pos.col), e.exitCode);
      throw e;
    }
  }
  return loadPolicyFile(opts.policyFile!, opts.cwd);
}

/**
 * --kube-version / --istio-version from a ConfigMap functionConfig (kpt: `-- kube-version=1.33`),
 * parsed as the flags are; they win over the flags, as lint's functionConfig keys do.
 */
function functionConfigVersions(rl: ResourceList): { kubeVersion?: Version; istioVersion?: Version } {
  const src = policySource(rl);
  if (src.kind !== 'configmap') return {};
  const out: { kubeVersion?: Version; istioVersion?: Version } = {};
  for (const [key, field] of [['kube-version', 'kubeVersion'], ['istio-version', 'istioVersion']] as const) {
    const v = src.settings[key];
    if (v === undefined) continue;
    try {
      out[field] = (key === 'kube-version' ? parseKubeVersion : parseVersion)(v, `functionConfig data.${key}`);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(e.message, where(rl, key), e.exitCode);
      throw e;
    }
  }
  return out;
}

/** Edit the items as inject edits manifests; what changed and inject's notes become results. Throws InputError. */
export async function injectResourceList(rl: ResourceList, opts: KrmInjectOptions): Promise<KrmInjected> {
  const { file, text } = rl.loaded;
  const policy = await policyFor(rl, opts);
  const { policyFile: _p, cwd: _c, ...run } = opts;
  const r = injectText(text, file, { ...run, ...functionConfigVersions(rl), policy });
  const results: Result[] = [];
  // One result per workload: what inject changed in it, at its pod template.
  const byWorkload = new Map<string, { at: { line: number; col: number }; what: string[] }>();
  for (const c of r.changes) {
    const item = resultAt(rl, c.line, c.col, '', 'info');
    const key = `${JSON.stringify(item.resourceRef)}\u0000${c.workload}`;
    const entry = byWorkload.get(key) ?? byWorkload.set(key, { at: c, what: [] }).get(key)!;
    entry.what.push(c.what);
  }
  for (const [key, { at, what }] of byWorkload) {
    const workload = key.slice(key.indexOf('\u0000') + 1);
    const res = resultAt(rl, at.line, at.col, `${workload}: ${what.join('; ')}`, 'info', { 'meshdrain.dev/change': 'true' });
    // The field is the pod template (spec.template, spec.jobTemplate.spec.template; none for a Pod).
    const path = res.field?.path ?? '';
    const t = path.lastIndexOf('template');
    const { field: _first, ...rest } = res;
    results.push(t >= 0 ? { ...rest, field: { path: path.slice(0, t + 'template'.length) } } : rest);
  }
  // Notes for stderr name the item's own file (kustomize's and kpt's path annotation), not a line of
  // the ResourceList the user never sees.
  const notes: string[] = [];
  for (const n of r.notes) {
    const s = splitNote(n, file);
    // A workload left unchanged (an edit through a YAML alias, a patch fragment) is a warning; decisions are info.
    const severity: Result['severity'] = /: not changed: |: a patch fragment /.test(n) ? 'warning' : 'info';
    const message = s ? (s.workload ? `${s.workload}: ${s.message}` : s.message) : n;
    const res: Result = s ? resultAt(rl, s.line, s.col, message, severity) : { message: n, severity };
    results.push(res);
    const where = res.file ? `${res.file.path}${res.file.index ? ` (document ${res.file.index + 1})` : ''}: ` : res.resourceRef ? '' : `${file}: `;
    notes.push(s ? `${where}${message}` : n);
  }
  // A workload whose data-plane mode the input cannot decide (docs/modes.md, ADR 061): what was
  // written for istio-proxy is inert where no injection happens. inject says so once on stderr; here
  // each changed workload carries it. Unchanged ones (a second run) have nothing new to say.
  const changedItems = new Set(r.changes.map((c) => pathAt(rl, c.line, c.col)[1]));
  for (const m of r.modes) {
    if (m.mode !== 'unknown' || !changedItems.has(pathAt(rl, m.line, m.col)[1])) continue;
    // The words of `inject --explain`, and what that means for what was written.
    const message = `${m.workload}: ${m.mode}: ${m.reason}; wrote: ${m.wrote}; the istio-proxy part does nothing where no injection happens`;
    results.push(resultAt(rl, m.line, m.col, message, 'info', { 'meshdrain.dev/mode': m.mode }));
  }
  return { text: r.output, results, notes };
}
