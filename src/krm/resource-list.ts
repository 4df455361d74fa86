/**
 * The KRM function contract (kustomize's and kpt's "functions spec"): a `config.kubernetes.io/v1`
 * `ResourceList` on stdin — `items`, an optional `functionConfig`, maybe earlier `results` — and the
 * same ResourceList on stdout with edited items and our `results` appended.
 *
 * Items are edited in the ResourceList's own text (the same byte-preserving splices as any manifest),
 * so comments, order and the index/path annotations kustomize and kpt put on items are kept.
 * Result fields follow kyaml's fn/framework Result (message, severity, resourceRef, field.path,
 * file.path/index, tags); see docs/adr/080-krm-function.md.
 */
import { isMap, isSeq, type Document, type Node } from 'yaml';
import { InputError } from '../errors.js';
import { isRecord } from '../model/workload.js';
import { loadDocuments, posOfPath, type LoadedFile } from '../yaml/load.js';
import { applyEdits, detectIndentSeq, diffValues, type Path } from '../yaml/splice.js';

export const RESOURCE_LIST_KIND = 'ResourceList';
/** The apiVersions of the wire format (v1 today; kpt and kustomize accepted v1alpha1/v1beta1 before). */
export const RESOURCE_LIST_API = /^config\.kubernetes\.io\/v1(?:alpha1|beta1)?$/;

/** Annotations kustomize and kpt set on items: where the item came from (current and legacy names). */
export const ITEM_ANNOTATIONS = {
  path: 'internal.config.kubernetes.io/path',
  index: 'internal.config.kubernetes.io/index',
  legacyPath: 'config.kubernetes.io/path',
  legacyIndex: 'config.kubernetes.io/index',
} as const;

export type Severity = 'error' | 'warning' | 'info';

/** One entry of `results` (kyaml fn/framework Result). */
export interface Result {
  message: string;
  severity: Severity;
  resourceRef?: { apiVersion: string; kind: string; name: string; namespace?: string };
  field?: { path: string };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}

export interface ResourceList {
  loaded: LoadedFile;
  doc: Document.Parsed;
  value: Record<string, unknown>;
  items: unknown[];
  functionConfig: unknown;
}

/** Parse a ResourceList; undefined when the text is something else (a List, several documents). */
export function parseResourceList(text: string, file: string): ResourceList | undefined {
  const loaded = loadDocuments(text, file);
  const present = loaded.docs.filter((d) => d.value !== null && d.value !== undefined);
  if (present.length !== 1) return undefined;
  const { doc, value } = present[0]!;
  if (!isRecord(value) || value.kind !== RESOURCE_LIST_KIND || typeof value.apiVersion !== 'string' || !RESOURCE_LIST_API.test(value.apiVersion)) return undefined;
  const items = value.items ?? [];
  if (!Array.isArray(items)) throw new InputError('ResourceList items must be a list', posOfPath(loaded, doc, ['items']));
  return { loaded, doc, value, items, functionConfig: value.functionConfig ?? undefined };
}

/** The path of the deepest node at a 1-based line:col of the ResourceList text. */
export function pathAt(rl: ResourceList, line: number, col: number): Path {
  const starts = rl.loaded.lines.lineStarts;
  const offset = (starts[line - 1] ?? 0) + col - 1;
  const path: Path = [];
  let node: unknown = rl.doc.contents;
  for (;;) {
    let next: { key: string | number; node: unknown } | undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        const v = pair.value as Node | null;
        const start = k?.range?.[0] ?? v?.range?.[0];
        const end = v?.range?.[2] ?? k?.range?.[2];
        if (start !== undefined && end !== undefined && offset >= start && offset < Math.max(end, start + 1)) {
          next = { key: String((k as { value?: unknown } | null)?.value ?? ''), node: v };
          break;
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const r = (item as Node | null)?.range;
        if (!next && r && offset >= r[0] && offset < Math.max(r[2], r[0] + 1)) next = { key: i, node: item };
      });
    }
    if (!next) return path;
    path.push(next.key);
    node = next.node;
  }
}

/** `spec.template.spec.containers[1].lifecycle`; keys with dots or slashes are bracketed. */
export function fieldPath(path: Path): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z0-9_-]+$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`))
    .join('');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** resourceRef and file of an item, from its own fields and the annotations the orchestrator set. */
export function itemIdentity(item: unknown): Pick<Result, 'resourceRef' | 'file'> {
  if (!isRecord(item)) return {};
  const meta = isRecord(item.metadata) ? item.metadata : {};
  const ann = isRecord(meta.annotations) ? meta.annotations : {};
  const resourceRef = {
    apiVersion: str(item.apiVersion) ?? '',
    kind: str(item.kind) ?? '',
    name: str(meta.name) ?? '',
    ...(str(meta.namespace) ? { namespace: str(meta.namespace)! } : {}),
  };
  const path = str(ann[ITEM_ANNOTATIONS.path]) ?? str(ann[ITEM_ANNOTATIONS.legacyPath]);
  const index = str(ann[ITEM_ANNOTATIONS.index]) ?? str(ann[ITEM_ANNOTATIONS.legacyIndex]);
  const file = path !== undefined ? { path, ...(index !== undefined && /^\d+$/.test(index) ? { index: Number(index) } : {}) } : undefined;
  return { resourceRef, ...(file ? { file } : {}) };
}

/**
 * A result for a position in the ResourceList text: in an item → that item's resourceRef, file and
 * the field path inside it; in the functionConfig → its field path.
 */
export function resultAt(rl: ResourceList, line: number, col: number, message: string, severity: Severity, tags?: Record<string, string>): Result {
  const path = pathAt(rl, line, col);
  const base: Result = { message, severity, ...(tags ? { tags } : {}) };
  if (path[0] === 'items' && typeof path[1] === 'number') {
    const rest = path.slice(2);
    return { ...base, ...itemIdentity(rl.items[path[1]]), ...(rest.length ? { field: { path: fieldPath(rest) } } : {}) };
  }
  return path.length ? { ...base, field: { path: fieldPath(path) } } : base;
}

/** The ResourceList text (after edits) with `results` appended to any earlier ones, by the same splices. */
export function withResults(text: string, file: string, results: Result[]): string {
  if (results.length === 0) return text;
  const loaded = loadDocuments(text, file);
  const { doc, value } = loaded.docs.find((d) => isRecord(d.value))!;
  const before = value as Record<string, unknown>;
  const earlier = Array.isArray(before.results) ? before.results : [];
  const ops = diffValues(before, { ...before, results: [...earlier, ...results] });
  return applyEdits(text, [{ doc, ops }], loaded.lines, { indentSeq: detectIndentSeq(text), json: loaded.format === 'json' });
}
