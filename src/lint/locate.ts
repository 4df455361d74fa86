/** Source positions for findings: a YAML path, or a character inside a string value (a hook script). */
import { isMap, isScalar, Scalar, type Document } from 'yaml';
import { nodeAt, posAt, posOfPath, type LoadedFile } from '../yaml/load.js';

/** 1-based line and column in a file; `length` (characters) lets the text reporter underline the node. */
export interface Loc {
  file: string;
  line: number;
  column: number;
  length?: number;
}

export type Path = readonly (string | number)[];

/** Where a path's node starts (or its nearest existing ancestor's). */
export function locOf(loaded: LoadedFile, doc: Document.Parsed, path: Path): Loc {
  const p = posOfPath(loaded, doc, path);
  const node = nodeAt(doc, path);
  const len = node?.range && isScalar(node) ? firstLineLength(loaded.text, node.range[0], node.range[1]) : undefined;
  return { file: p.file, line: p.line, column: p.col, ...(len ? { length: len } : {}) };
}

/** Where a map key starts (for "this setting" findings, the key reads better than the value). */
export function locOfKey(loaded: LoadedFile, doc: Document.Parsed, path: Path): Loc {
  const parent = nodeAt(doc, path.slice(0, -1));
  const key = path[path.length - 1];
  if (parent && 'items' in parent && Array.isArray((parent as { items: unknown[] }).items)) {
    for (const item of (parent as { items: { key?: unknown }[] }).items) {
      const k = item.key;
      if (isScalar(k) && k.value === key && k.range) {
        const p = posAt(loaded.file, loaded.lines, k.range[0]);
        return { file: p.file, line: p.line, column: p.col, length: String(key).length };
      }
    }
  }
  return locOf(loaded, doc, path);
}

function firstLineLength(text: string, start: number, end: number): number {
  const nl = text.indexOf('\n', start);
  const stop = nl >= 0 && nl < end ? nl : end;
  return Math.max(1, stop - start);
}

/**
 * A position inside a string value: exact for block scalars (`|`, `>` is approximate), the scalar's start
 * otherwise (quoted strings have escapes; pointing at the value is the honest answer).
 */
export function locInString(loaded: LoadedFile, doc: Document.Parsed, path: Path, offset: number, length?: number): Loc {
  const node = nodeAt(doc, path);
  if (!node || !isScalar(node) || !node.range || typeof node.value !== 'string' || offset < 0) return locOf(loaded, doc, path);
  if (node.type !== Scalar.BLOCK_LITERAL) return locOf(loaded, doc, path);
  const value = node.value;
  const before = value.slice(0, offset);
  const lineInValue = before.split('\n').length - 1;
  const colInValue = offset - (before.lastIndexOf('\n') + 1);
  // The header (`|`, `|-`, `|2`) ends its line; content starts on the next line, indented.
  const headerPos = posAt(loaded.file, loaded.lines, node.range[0]);
  const starts = loaded.lines.lineStarts;
  const lineText = (i: number): string | undefined => (i < starts.length ? loaded.text.slice(starts[i], i + 1 < starts.length ? starts[i + 1]! - 1 : undefined) : undefined);
  let first = headerPos.line; // 0-based index of the line after the header
  while (first < starts.length && lineText(first)!.trim() === '') first++;
  const firstText = lineText(first) ?? '';
  const indent = firstText.length - firstText.trimStart().length;
  // Leading blank lines of the value are part of it: count from the header's next line.
  const line = headerPos.line + 1 + lineInValue;
  return { file: loaded.file, line, column: indent + colInValue + 1, ...(length ? { length } : {}) };
}

/**
 * Positions inside a YAML/JSON document that is itself a string value (ConfigMap data, an annotation):
 * map the inner document's offsets back into the outer file. `key` asks for the map key, not the value.
 */
export function innerLocator(loaded: LoadedFile, doc: Document.Parsed, path: Path, inner: Document): (p: Path, key?: boolean) => Loc {
  return (p, key) => {
    let node: unknown = inner.contents;
    let keyNode: unknown;
    for (const k of p) {
      const items = (node as { items?: { key?: unknown; value?: unknown }[] })?.items;
      const pair = isMap(node) ? items?.find((it) => isScalar(it.key) && it.key.value === k) : undefined;
      const next = pair ? pair.value : (node as { get?: (k: unknown, keep: boolean) => unknown })?.get?.(k, true);
      if (next === undefined || next === null) break;
      keyNode = pair?.key;
      node = next;
    }
    const target = key && keyNode ? keyNode : node;
    const range = (target as { range?: [number, number, number] })?.range;
    return range ? locInString(loaded, doc, path, range[0]) : locOf(loaded, doc, path);
  };
}
