/**
 * Namespace objects in the input stream: evidence of injection and ambient labels (not proof — a
 * label added with `kubectl label` survives a later `kubectl apply` of the same Namespace).
 */
import { getPath, isRecord } from '../model/workload.js';
import { loadDocuments, posOfPath, type LoadedFile } from '../yaml/load.js';
import type { NamespaceEvidence } from './mode.js';

function walk(value: unknown, visit: (v: Record<string, unknown>, path: (string | number)[]) => void, path: (string | number)[] = []): void {
  if (!isRecord(value)) return;
  const kind = typeof value.kind === 'string' ? value.kind : '';
  if (kind.endsWith('List') && Array.isArray(value.items)) value.items.forEach((item, i) => walk(item, visit, [...path, 'items', i]));
  else visit(value, path);
}

/** Every `kind: Namespace` of a loaded file (also inside a `kind: List`). */
export function namespacesIn(loaded: LoadedFile): NamespaceEvidence[] {
  const out: NamespaceEvidence[] = [];
  for (const { doc, value } of loaded.docs) {
    walk(value, (v, path) => {
      if (v.kind !== 'Namespace' || (typeof v.apiVersion === 'string' && v.apiVersion !== 'v1')) return;
      const name = getPath(v, ['metadata', 'name']);
      if (typeof name !== 'string') return;
      const raw = getPath(v, ['metadata', 'labels']);
      const labels = isRecord(raw) ? (Object.fromEntries(Object.entries(raw).filter(([, x]) => typeof x === 'string')) as Record<string, string>) : {};
      const pos = posOfPath(loaded, doc, [...path, 'metadata', 'name']);
      out.push({ name, labels, where: `${pos.file}:${pos.line}` });
    });
  }
  return out;
}

/** A cheap test before parsing: does this text hold a Namespace at all? */
const MAY_HOLD_NAMESPACE = /\bkind\s*:\s*["']?Namespace\b|"kind"\s*:\s*"Namespace"/;

/** Namespaces of several inputs (text), parsing only those that may hold one. Later ones win. */
export function scanNamespaces(inputs: readonly { file: string; text: string }[], into: Map<string, NamespaceEvidence> = new Map()): Map<string, NamespaceEvidence> {
  for (const { file, text } of inputs) {
    if (!MAY_HOLD_NAMESPACE.test(text)) continue;
    for (const ns of namespacesIn(loadDocuments(text, file))) into.set(ns.name, ns);
  }
  return into;
}
