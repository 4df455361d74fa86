/** `meshdrain lint` as a KRM validator function: the items pass through, findings become results. */
import { InputError } from '../errors.js';
import { splitNote } from '../inject/inject.js';
import type { Finding, Severity } from '../lint/types.js';
import { isRecord } from '../model/workload.js';
import { posOfPath } from '../yaml/load.js';
import { configMapSettings } from './function-config.js';
import { resultAt, type ResourceList, type Result } from './resource-list.js';

/** The lint flags a ConfigMap functionConfig may set (kpt: `-- kube-version=1.30 fail-on=warning`). */
export const LINT_CONFIG_KEYS = ['kube-version', 'istio-version', 'app-shutdown', 'fail-on'] as const;
export type LintConfigKey = (typeof LINT_CONFIG_KEYS)[number];

/** Settings from the functionConfig: none, or a ConfigMap with LINT_CONFIG_KEYS in data. */
export function lintSettings(rl: ResourceList): Partial<Record<LintConfigKey, string>> {
  const fc = rl.functionConfig;
  if (fc === undefined || fc === null) return {};
  const settings = configMapSettings(rl, LINT_CONFIG_KEYS);
  if (!settings) {
    throw new InputError(
      `functionConfig for meshdrain lint must be a ConfigMap with ${LINT_CONFIG_KEYS.join(', ')} in data, got ${isRecord(fc) ? String(fc.kind ?? '(no kind)') : typeof fc}`,
      posOfPath(rl.loaded, rl.doc, ['functionConfig']),
    );
  }
  return settings;
}

/** Every finding as a result at its item and field, with the rule id as a tag. */
export function findingResults(rl: ResourceList, findings: readonly Finding[]): Result[] {
  return findings.map((f) => {
    const tags = { 'meshdrain.dev/rule': f.rule };
    const message = `${f.message} (fix: ${f.fix})`;
    return f.file === rl.loaded.file ? resultAt(rl, f.line, f.column, message, f.severity as Severity, tags) : { message: `${f.file}:${f.line}:${f.column}: ${message}`, severity: f.severity, tags };
  });
}

/** lint's notes (a patch fragment left unjudged, ADR 083) as warnings at their item, as inject's are. */
export function noteResults(rl: ResourceList, notes: readonly string[]): Result[] {
  return notes.map((n) => {
    const s = splitNote(n, rl.loaded.file);
    return s ? resultAt(rl, s.line, s.col, s.workload ? `${s.workload}: ${s.message}` : s.message, 'warning') : { message: n, severity: 'warning' };
  });
}
