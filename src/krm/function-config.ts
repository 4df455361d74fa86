/**
 * The functionConfig of a ResourceList, for meshdrain's functions: the ShutdownPolicy itself, or a
 * ConfigMap whose `data` holds settings (kpt's `-- key=value` arguments arrive as such a ConfigMap).
 */
import { InputError } from '../errors.js';
import { isMap, isScalar, Scalar } from 'yaml';
import type { SourcePos } from '../errors.js';
import { isRecord } from '../model/workload.js';
import { posAt, posOfKey, posOfPath, scalarSource } from '../yaml/load.js';
import { numericVersionMessage } from '../model/version.js';
import type { ResourceList } from './resource-list.js';

/** functionConfig keys that hold a version (as the --kube-version / --istio-version flags). */
const VERSION_KEYS: readonly string[] = ['kube-version', 'istio-version'];

/**
 * The source text of the functionConfig, at its own line and column: everything before it is
 * blanked (newlines kept), so a loader's file:line:col errors point into the ResourceList as sent.
 */
export function functionConfigText(rl: ResourceList): string | undefined {
  const node = rl.doc.contents && 'get' in rl.doc.contents ? (rl.doc.contents as { get(k: string, keep: true): { range?: [number, number, number] } | undefined }).get('functionConfig', true) : undefined;
  if (!node?.range || rl.functionConfig === undefined || rl.functionConfig === null) return undefined;
  const [start, end] = node.range;
  const text = rl.loaded.text;
  return text.slice(0, start).replace(/[^\n]/g, ' ') + text.slice(start, end);
}

const configMapData = (rl: ResourceList): Record<string, unknown> | undefined => {
  const fc = rl.functionConfig;
  if (!isRecord(fc) || fc.kind !== 'ConfigMap') return undefined;
  return isRecord(fc.data) ? fc.data : {};
};

export const where = (rl: ResourceList, key?: string) =>
  key === undefined ? posOfPath(rl.loaded, rl.doc, ['functionConfig']) : posOfKey(rl.loaded, rl.doc, ['functionConfig', 'data'], key);

/** Settings from a ConfigMap functionConfig, limited to `allowed` keys; undefined when there is none. */
export function configMapSettings(rl: ResourceList, allowed: readonly string[]): Record<string, string> | undefined {
  const data = configMapData(rl);
  if (!data) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!allowed.includes(k)) throw new InputError(`functionConfig ConfigMap: unknown key ${JSON.stringify(k)}; allowed: ${allowed.join(', ')}`, where(rl, k));
    if (typeof v === 'number' && VERSION_KEYS.includes(k)) {
      // kpt's `-- istio-version=1.20` arrives quoted; a hand-written `istio-version: 1.20` is the number 1.2.
      const src = scalarSource(rl.loaded.text, rl.doc, ['functionConfig', 'data', k]);
      throw new InputError(numericVersionMessage(`functionConfig data.${k}`, src?.written ?? String(v), v), src ? posAt(rl.loaded.file, rl.loaded.lines, src.offset) : where(rl, k));
    }
    if (typeof v !== 'string') throw new InputError(`functionConfig ConfigMap: data.${k} must be a string`, where(rl, k));
    out[k] = v;
  }
  return out;
}

/** What kind of functionConfig this is, for inject: a policy in place, a ConfigMap, or none. */
/** The keys inject's ConfigMap functionConfig takes: the policy, and the run's versions (as the flags). */
export const INJECT_CONFIG_KEYS = ['policy', 'kube-version', 'istio-version'] as const;

export function policySource(rl: ResourceList): { kind: 'none' } | { kind: 'inline'; text: string } | { kind: 'configmap'; text: string | undefined; settings: Record<string, string> } {
  const fc = rl.functionConfig;
  if (fc === undefined || fc === null) return { kind: 'none' };
  if (isRecord(fc) && fc.kind === 'ConfigMap') {
    const data = configMapSettings(rl, INJECT_CONFIG_KEYS) ?? {};
    return { kind: 'configmap', text: data.policy, settings: data };
  }
  if (isRecord(fc) && fc.kind === 'ShutdownPolicy') return { kind: 'inline', text: functionConfigText(rl)! };
  throw new InputError(
    `functionConfig must be a meshdrain.dev/v1alpha1 ShutdownPolicy or a ConfigMap with the policy in data.policy, got ${isRecord(fc) ? `${String(fc.apiVersion ?? '')} ${String(fc.kind ?? '(no kind)')}` : typeof fc}`,
    where(rl),
  );
}

/**
 * Where line:col of the policy held in a ConfigMap's `data.policy` is in the ResourceList text: the
 * same place for a block scalar (`policy: |`, as kpt writes `-- policy=…`); the key for any other.
 */
export function configMapPolicyPos(rl: ResourceList, line: number | undefined, col: number | undefined): SourcePos {
  const key = posOfKey(rl.loaded, rl.doc, ['functionConfig', 'data'], 'policy');
  const fc = rl.doc.get('functionConfig', true);
  const data = isMap(fc) ? fc.get('data', true) : undefined;
  const node = isMap(data) ? data.get('policy', true) : undefined;
  if (line === undefined || !isScalar(node) || (node.type !== Scalar.BLOCK_LITERAL) || !node.range) return key;
  // The block's content starts on the line after its header; its indentation is the first content line's.
  const starts = rl.loaded.lines.lineStarts;
  const header = starts.findIndex((s, i) => s <= node.range![0] && (starts[i + 1] ?? Infinity) > node.range![0]);
  const first = rl.loaded.text.slice(starts[header + 1] ?? 0).match(/^ */)![0].length;
  const target = header + line; // 0-based index of the content line in the ResourceList
  if (starts[target] === undefined || starts[target]! >= node.range[1]) return key;
  return { file: rl.loaded.file, line: target + 1, col: first + (col ?? 1) };
}
