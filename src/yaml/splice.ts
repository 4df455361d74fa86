/**
 * Byte-preserving edits: the plan is applied to plain objects, the difference is computed here as
 * "set this path to this value" operations, and each operation is spliced into the source text at
 * the node's own range. Every byte outside an edited node stays as it was (comments, quoting, spacing,
 * key order), which re-stringifying a whole Document cannot promise.
 */
import { isMap, isPair, isScalar, isSeq, stringify, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import type { LineCounter } from 'yaml';
import { isRecord } from '../model/workload.js';
import { valueKey } from '../model/value-key.js';

export type Path = (string | number)[];
/**
 * Set the node at `path` to `value` (added where missing), or, with `delete`, take the key or
 * sequence item at `path` out (its own comment lines and its line break with it; `value` unused).
 */
export interface SetOp {
  path: Path;
  value: unknown;
  delete?: true;
}

const isPlainObject = isRecord;

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** One list item is another's edited copy: the same `name` (a container, a volume), else equal. */
const sameItem = (x: unknown, y: unknown): boolean =>
  isPlainObject(x) && isPlainObject(y) && typeof x.name === 'string' ? x.name === y.name : deepEqual(x, y);

/**
 * The edits that turn `a` into `b`: changed values, added keys, appended items, and removed keys or
 * items as deletions. A map or list none of whose entries survive is replaced whole.
 */
export function diffValues(a: unknown, b: unknown, path: Path = []): SetOp[] {
  if (deepEqual(a, b)) return [];
  // A map left with no key of `a` is replaced whole, unless it is left empty: its keys are deleted.
  if (isPlainObject(a) && isPlainObject(b) && (Object.keys(a).length === 0 || Object.keys(b).length === 0 || Object.keys(a).some((k) => k in b))) {
    const gone = Object.keys(a).filter((k) => !(k in b)).map((k): SetOp => ({ path: [...path, k], value: undefined, delete: true }));
    return [...gone, ...Object.keys(b).flatMap((k) => (k in a ? diffValues(a[k], b[k], [...path, k]) : [{ path: [...path, k], value: b[k] }]))];
  }
  // Arrays of objects (containers, volumes) are edited item by item; arrays of scalars (commands,
  // args) are one value: replacing an item of a command would be a different command.
  if (Array.isArray(a) && Array.isArray(b) && a.every(isPlainObject) && b.every(isPlainObject)) {
    if (b.length >= a.length) {
      const ops = a.flatMap((x, i) => diffValues(x, b[i], [...path, i]));
      for (let i = a.length; i < b.length; i++) ops.push({ path: [...path, i], value: b[i] });
      return ops;
    }
    // Shorter: each item of `a` is kept (the next of `b` is its copy) or deleted, in order; what is
    // left of `b` is appended. Paths are `a`'s indexes: the source text's.
    const ops: SetOp[] = [];
    let j = 0;
    a.forEach((x, i) => {
      if (j < b.length && sameItem(x, b[j])) ops.push(...diffValues(x, b[j++], [...path, i]));
      else ops.push({ path: [...path, i], value: undefined, delete: true });
    });
    if (j > 0 || b.length === 0) {
      for (let k = j; k < b.length; k++) ops.push({ path: [...path, a.length + k - j], value: b[k] });
      return ops;
    }
  }
  return [{ path, value: b }];
}

export interface Splice {
  at: number;
  end: number;
  text: string;
  order: number;
  /** An insertion: how deep the collection it adds to is (inserts at one offset go deepest first). */
  depth?: number;
  /** Starts a line: a line break goes first where the text before it ends none (no final newline). */
  ownLine?: boolean;
}

export interface SpliceOptions {
  /** Sequences written with "- " at the parent key's indentation (common in Kubernetes manifests). */
  indentSeq: boolean;
  /** The file is JSON: everything written is JSON too (keys quoted, strings JSON-escaped). */
  json?: boolean;
}

/** Detect the file's sequence style: indentless ("containers:\n- name") or indented. */
export function detectIndentSeq(text: string): boolean {
  const m = /^( *)[^\s#-][^\n]*:[ \t]*\n\1( *)- /m.exec(text);
  return m ? (m[2] ?? '').length > 0 : true;
}

// The same value (one hold script in a thousand Deployments) is rendered once per style and indent.
const rendered = new Map<string, string>();

function renderBlock(value: unknown, indent: number, opts: SpliceOptions): string {
  const key = `${indent}:${opts.indentSeq}:${opts.json ?? false}:${valueKey(value)}`;
  const hit = rendered.get(key);
  if (hit !== undefined) return hit;
  const out = renderBlockUncached(value, indent, opts);
  if (rendered.size > 10_000) rendered.clear();
  rendered.set(key, out);
  return out;
}

function renderBlockUncached(value: unknown, indent: number, opts: SpliceOptions): string {
  const text = stringify(value, { lineWidth: 0, indentSeq: opts.indentSeq, blockQuote: 'literal' });
  const pad = ' '.repeat(indent);
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l.length ? pad + l : l))
    .join('\n');
}

const hasMultiline = (v: unknown): boolean =>
  typeof v === 'string' ? v.includes('\n') : typeof v === 'object' && v !== null && Object.values(v).some(hasMultiline);

function renderFlow(value: unknown, json = false): string {
  // JSON is valid flow YAML and never folds a multi-line string across lines.
  if (json || hasMultiline(value)) return JSON.stringify(value);
  return stringify(value, { lineWidth: 0, collectionStyle: 'flow', flowCollectionPadding: false }).replace(/\n$/, '');
}

function renderScalar(value: unknown): string {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
}

/**
 * A scalar written where a value of a block collection was, its content `indent` columns in: a
 * multi-line string becomes a literal block scalar indented under its key (yaml's stringify writes
 * one at column 0, as at a document's top). A block whose header needs an indentation indicator or
 * keep chomping (leading spaces, trailing blank lines) is written double-quoted instead: one line,
 * valid at any indentation.
 */
function renderScalarAt(value: unknown, indent: number): string {
  if (typeof value !== 'string' || !value.includes('\n')) return renderScalar(value);
  const rendered = stringify(value, { lineWidth: 0, blockQuote: 'literal' }).replace(/\n$/, '');
  const [header, ...body] = rendered.split('\n');
  if (!/^\|-?$/.test(header!)) return JSON.stringify(value);
  const pad = ' '.repeat(indent);
  return [header, ...body.map((l) => (l.length ? pad + l : l))].join('\n');
}

const isBlockCollection = (v: unknown) => (isPlainObject(v) && Object.keys(v).length > 0) || (Array.isArray(v) && v.length > 0);

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}
/** Nothing but indentation before `at` on its line. */
function onOwnLine(text: string, at: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStart(text, at), at));
}
/** The rest of the line from `at` when it is only a comment (its leading spaces included), else ''. */
function trailingComment(text: string, at: number): string {
  const eol = text.indexOf('\n', at);
  const tail = text.slice(at, eol < 0 ? text.length : eol).replace(/\r$/, '');
  return /^\s*#/.test(tail) ? tail : '';
}
/** Offset just past the line containing `at - 1` (where a new sibling line goes). */
function afterLine(text: string, at: number): number {
  if (at > 0 && text[at - 1] === '\n') return at;
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl + 1;
}

function nest(path: Path, value: unknown): unknown {
  return path.reduceRight<unknown>((v, k) => (typeof k === 'number' ? [v] : { [k]: v }), value);
}

/** Apply set-ops to one document's source text range. Returns the list of text splices. */
export function planSplices(text: string, doc: Document, lines: LineCounter, ops0: SetOp[], opts: SpliceOptions, order0: number): Splice[] {
  const out: Splice[] = [];
  const ops = emptiedCollections(doc, ops0);
  const gone = new Map<YAMLMap | YAMLSeq, Set<number>>();
  for (const op of ops) {
    const at = op.delete ? locate(doc, op.path) : undefined;
    if (at) gone.set(at.coll, (gone.get(at.coll) ?? new Set()).add(at.index));
  }
  ops.forEach((op, n) => {
    const order = order0 + n;
    if (op.delete) {
      const at = locate(doc, op.path);
      const range = at && deletion(text, at.coll, at.index, gone.get(at.coll)!);
      if (range) out.push({ ...range, text: '', order });
      return;
    }
    let parent: Node | null = null;
    let node: unknown = doc.contents;
    // Inside a flow collection only flow syntax is valid, whatever the new value is.
    let inFlow = false;
    let i = 0;
    for (; i < op.path.length; i++) {
      const key = op.path[i]!;
      let next: unknown;
      if (isMap(node)) next = node.get(key, true);
      else if (isSeq(node) && typeof key === 'number') next = node.get(key, true);
      if (next === undefined || next === null) break;
      inFlow ||= Boolean((node as { flow?: boolean }).flow);
      parent = node as Node;
      node = next;
    }
    const col = (at: number) => lines.linePos(at).col - 1;
    if (i === op.path.length) {
      // Replace an existing node. An empty value (`key:`, `key: # note`) has an empty range right
      // after the colon or at the comment: what is written there must not touch either.
      const put = (sp: Splice) => void out.push(apart(text, sp));
      const n = node as Node;
      // An empty value in a flow map (`{a: }`) has its node at the closing bracket: it goes after its colon.
      const emptyPair = inFlow && isEmptyNode(n) && isMap(parent) ? parent.items.find((p) => p.value === n) : undefined;
      const [start, rangeEnd] = emptyPair ? [itemEnd(text, emptyPair), itemEnd(text, emptyPair)] : n.range!;
      const isFlowOrScalar = isScalar(n) || (n as { flow?: boolean }).flow;
      // A block scalar's range takes in its last line break; the text after it keeps its own.
      const blockScalar = isScalar(n) && (n.type === 'BLOCK_LITERAL' || n.type === 'BLOCK_FOLDED');
      // A block collection ends where its last content does (an empty last value's node runs on
      // past the comment lines after it).
      const contentEnd = isFlowOrScalar ? rangeEnd : itemEnd(text, n);
      const valueEnd = blockScalar ? trimEnd(text, rangeEnd) : Math.min(rangeEnd, contentEnd + trailingComment(text, contentEnd).length);
      const keyIndent = parent ? col((parent.range as [number, number, number])[0]) : 0;
      if (inFlow) {
        put({ at: start, end: valueEnd, text: renderFlow(op.value, opts.json), order });
      } else if (!isBlockCollection(op.value)) {
        const scalar = (indent: number) => renderScalarAt(op.value, indent);
        if (isFlowOrScalar || !onOwnLine(text, start)) {
          const end = isFlowOrScalar ? valueEnd : trimEnd(text, valueEnd);
          const written = scalar(keyIndent + 2);
          // A block scalar's text runs to its last line: a comment after the old value moves up to
          // its header, or it would become part of the text.
          const comment = written.startsWith('|') ? trailingComment(text, end) : '';
          if (comment) {
            const nl = written.indexOf('\n');
            put({ at: start, end: end + comment.length, text: `${written.slice(0, nl)} ${comment.trim()}${written.slice(nl)}`, order });
          } else put({ at: start, end, text: written, order });
        } else {
          // A block collection on lines of its own (an indentless sequence at its key's column
          // included) becomes a scalar on the first of them, indented under its key.
          const ind = Math.max(col(start), keyIndent + 2);
          // Emptied by deletions: the comment lines of its first item go with the items.
          const at = (op as Emptied).emptied ? ownLinesStart(text, start, true) : lineStart(text, start);
          put({ at, end: trimEnd(text, valueEnd), text: ' '.repeat(ind) + scalar(ind), order });
        }
      } else if (isFlowOrScalar) {
        // key: <scalar or flow>  →  key:\n  <block>
        const lead = start > 0 && text[start - 1] === ' ' ? start - 1 : start;
        const ind = keyIndent + 2;
        // A comment after the old value stays with its key: left where it was, it would trail the
        // block's last line, inside a block scalar's text (a script) when the block ends with one.
        const comment = trailingComment(text, valueEnd);
        put({ at: lead, end: valueEnd + comment.length, text: comment.trimEnd() + '\n' + renderBlock(op.value, ind, opts), order });
      } else {
        // A map needs its own indentation under its key; an indentless sequence had none.
        const ind = isSeq(parent) || Array.isArray(op.value) ? col(start) : Math.max(col(start), keyIndent + 2);
        const block = renderBlock(op.value, ind, opts);
        // On lines of its own, the block replaces them whole; a compact one ("- - x", "- a: 1") starts
        // after its parent's dash and keeps it.
        if (onOwnLine(text, start)) put({ at: lineStart(text, start), end: trimEnd(text, valueEnd), text: block, order });
        else put({ at: start, end: trimEnd(text, valueEnd), text: block.slice(ind), order });
      }
      return;
    }
    // Add what is missing below the deepest existing collection.
    const coll = node as Node;
    const key = op.path[i]!;
    const rest = nest(op.path.slice(i + 1), op.value);
    if (!coll.range) return;
    if ((coll as { flow?: boolean }).flow) {
      // Flow collection: insert before its closing bracket, in flow style, keeping what is there.
      const [start, valueEnd] = coll.range;
      // valueEnd is just past the closing bracket (and may sit on the parent's own bracket).
      const close = text.lastIndexOf(isSeq(coll) ? ']' : '}', valueEnd - 1);
      const empty = text.slice(start + 1, close).trim() === '';
      const item = isSeq(coll) ? renderFlow(rest, opts.json) : `${renderFlow(key, opts.json)}: ${renderFlow(rest, opts.json)}`;
      // Right after the last item (a pretty-printed file keeps its closing bracket on its own line),
      // unless a comment ends that line; then just before the bracket.
      const last = trimEnd(text, close);
      const at = empty || text.slice(lineStart(text, last), last).includes('#') ? close : last;
      out.push({ at, end: at, text: empty ? item : `, ${item}`, order, depth: i });
      return;
    }
    const [start, valueEnd] = coll.range;
    const ind = col(start);
    const at = afterLine(text, trimEnd(text, valueEnd));
    const entry = isSeq(coll) ? [rest] : { [key]: rest };
    const body = renderBlock(entry, ind, opts);
    out.push({ at, end: at, text: body + '\n', order, depth: i, ownLine: true });
  });
  return out;
}

/** The collection holding the last step of `path` and the index of the item there, if it exists. */
function locate(doc: Document, path: Path): { coll: YAMLMap | YAMLSeq; index: number } | undefined {
  let node: unknown = doc.contents;
  for (const key of path.slice(0, -1)) {
    if (!isMap(node) && !isSeq(node)) return undefined;
    node = node.get(key, true);
  }
  const key = path.at(-1);
  if (isMap(node)) {
    const index = node.items.findIndex((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(key));
    return index < 0 ? undefined : { coll: node, index };
  }
  if (isSeq(node) && typeof key === 'number' && key < node.items.length) return { coll: node, index: key };
  return undefined;
}

type Emptied = SetOp & { emptied?: true };
/**
 * Deletions that would leave a collection with no items become one replacement of it by `{}` or `[]`
 * (a block collection cannot be empty); the rest stay deletions.
 */
function emptiedCollections(doc: Document, ops: SetOp[]): SetOp[] {
  const gone = new Map<YAMLMap | YAMLSeq, number>();
  for (const op of ops) {
    const at = op.delete ? locate(doc, op.path) : undefined;
    if (at) gone.set(at.coll, (gone.get(at.coll) ?? 0) + 1);
  }
  const emptied = [...gone].filter(([c, count]) => count >= c.items.length).map(([c]) => c);
  if (!emptied.length) return ops;
  const replaced = new Set<YAMLMap | YAMLSeq>();
  return ops.flatMap((op): SetOp[] => {
    const at = op.delete ? locate(doc, op.path) : undefined;
    if (!at || !emptied.includes(at.coll)) return [op];
    if (replaced.has(at.coll)) return [];
    replaced.add(at.coll);
    return [{ path: op.path.slice(0, -1), value: isSeq(at.coll) ? [] : {}, emptied: true } as Emptied];
  });
}

/** Where a collection's item starts (a pair's key, a sequence item's node) and where its content ends. */
function itemStart(item: unknown): number {
  const n = (isPair(item) ? item.key : item) as Node | null;
  return n?.range?.[0] ?? 0;
}
const isEmptyNode = (n: unknown): boolean => n === null || n === undefined || (isScalar(n) && (!n.range || n.range[1] <= n.range[0]));

/**
 * Where an item's content ends: its last non-empty value's end (an empty node's range may run past
 * the comment lines that follow it), a key and its colon when its value is empty, an empty list
 * item's dash.
 */
function itemEnd(text: string, item: unknown): number {
  if (isPair(item)) {
    if (!isEmptyNode(item.value)) return itemEnd(text, item.value);
    const k = (item.key as Node | null)?.range?.[1] ?? 0;
    return k + (/^[ \t]*:/.exec(text.slice(k, k + 256))?.[0].length ?? 0);
  }
  if ((isMap(item) || isSeq(item)) && !item.flow && item.items.length) {
    const k = item.items.length - 1;
    if (isSeq(item) && isEmptyNode(item.items[k])) return seqDash(text, item, k) + 1;
    return itemEnd(text, item.items[k]);
  }
  return (item as Node).range![1];
}

/** A block sequence item's dash (a comment may follow it on its line, the item's node starting on the next). */
function seqDash(text: string, seq: YAMLSeq, k: number): number {
  const s = itemStart(seq.items[k]);
  let p = k > 0 ? itemEnd(text, seq.items[k - 1]) : seq.range![0];
  while (p < s || isEmptyNode(seq.items[k])) {
    const eol = text.indexOf('\n', p);
    const m = /^[ \t]*(-?)/.exec(text.slice(p, eol < 0 ? text.length : eol))!;
    if (m[1]) return p + m[0].length - 1;
    if (eol < 0) break;
    p = eol + 1;
  }
  return s;
}

/**
 * The text of one item of a collection, removed (`gone`: every index of it deleted by the same
 * edit). Block style: whole lines, from the comment lines just above it at its own indentation (its
 * own) to its last line and that line's break; the comments below it are the next item's or its
 * parent's and stay. An item that starts its parent's line (`- a: 1` with `b: 2` under it, `- - x`)
 * goes up to the next item kept, which takes its place. Flow style: a run of deleted items and the
 * comma after it, or, at the end, the comma before it. Undefined: another item's range covers it.
 */
function deletion(text: string, coll: YAMLMap | YAMLSeq, index: number, gone: Set<number>): { at: number; end: number } | undefined {
  const items = coll.items as unknown[];
  const item = items[index];
  const start = itemStart(item);
  let nk = index + 1;
  while (nk < items.length && gone.has(nk)) nk++;
  if ((coll as { flow?: boolean }).flow) {
    if (nk < items.length) return index === 0 || !gone.has(index - 1) ? { at: start, end: itemStart(items[nk]) } : undefined;
    let pk = index - 1;
    while (pk >= 0 && gone.has(pk)) pk--;
    return index === pk + 1 && pk >= 0 ? { at: itemEnd(text, items[pk]), end: itemEnd(text, items[items.length - 1]) } : undefined;
  }
  // Where an item's own text starts: a pair's key, a sequence item's dash.
  const head = (k: number): number => (isSeq(coll) ? seqDash(text, coll, k) : itemStart(items[k]));
  // Only a first item can share its parent's line; the run it starts ends at the next item kept.
  if (gone.has(0) && !/^[ \t]*$/.test(text.slice(lineStart(text, head(0)), head(0)))) {
    let k0 = 0;
    while (k0 < items.length && gone.has(k0)) k0++;
    if (index < k0) return index === 0 && k0 < items.length ? { at: head(0), end: head(k0) } : undefined;
  }
  return { at: ownLinesStart(text, head(index), index === 0), end: afterLine(text, trimEnd(text, itemEnd(text, item))) };
}

/**
 * The start of the line of `at`, and of the comment lines just above it at its column when they are
 * its own: under its parent's key (`first`), or set apart from the item before by a blank line.
 * Comment lines right after the item before may close it (`# end of the app container`): they stay.
 */
function ownLinesStart(text: string, at: number, first: boolean): number {
  const ls = lineStart(text, at);
  let start = ls;
  while (start > 0) {
    const prev = lineStart(text, start - 1);
    const m = /^([ \t]*)#/.exec(text.slice(prev, start));
    if (!m || m[1]!.length !== at - ls) break;
    start = prev;
  }
  if (start === ls || first || start === 0) return start;
  return /^[ \t]*\r?\n$/.test(text.slice(lineStart(text, start - 1), start)) ? start : ls;
}

/**
 * A replacement kept apart from its neighbours: after a key's colon a value needs a space (`key:33`
 * is no mapping), and a comment after it needs one too (`33# note` is the string "33# note"); spaces
 * that ended the old value's line go with it.
 */
function apart(text: string, sp: Splice): Splice {
  if (!sp.text) return sp;
  const before = sp.at > 0 && text[sp.at - 1] === ':' && !/^\s/.test(sp.text) ? ' ' : '';
  const after = text[sp.end] === '#' && !/\s$/.test(sp.text) ? ' ' : '';
  // Spaces left at the end of the old value's line (`- - ` of an empty item, `key: ` Helm leaves)
  // would end the new value's last line, inside its text when that is a block scalar.
  const trailing = /^[ \t]+(?=\r?\n|$)/.exec(text.slice(sp.end, sp.end + 256))?.[0].length ?? 0;
  return before || after || trailing ? { ...sp, end: sp.end + trailing, text: before + sp.text + after } : sp;
}

/** valueEnd of a block collection may include trailing blank lines/comments; stop at the content. */
function trimEnd(text: string, end: number): number {
  let e = end;
  while (e > 0 && /\s/.test(text[e - 1]!)) e--;
  return e;
}

/** Apply per-document ops to the whole source text; documents without ops keep every byte. */
export function applyEdits(text: string, edits: { doc: Document; ops: SetOp[] }[], lines: LineCounter, opts: SpliceOptions): string {
  const splices: Splice[] = [];
  let order = 0;
  for (const { doc, ops } of edits) {
    splices.push(...planSplices(text, doc, lines, ops, opts, order));
    order += ops.length;
  }
  return applySplices(text, splices);
}

/**
 * Splices (planSplices' answers, each document's `order0` after the previous document's ops) applied
 * to the whole text. A caller that plans each document as it is parsed keeps no syntax tree.
 */
export function applySplices(text: string, splices: Splice[]): string {
  // One pass, in source order (same offset: in the order the ops were made), so cost is linear in the text.
  // At one offset, insertions go first, the deepest collection's first: each continues the block
  // that ends there, innermost outward; a replacement starting there comes after them.
  // An empty value replaced (`key:` at the end of a file without a final newline) belongs to its
  // key's line, before anything inserted after that line.
  const rank = (s: Splice) => (s.at === s.end ? (s.depth !== undefined ? -s.depth : -Infinity) : 1);
  splices.sort((a, b) => a.at - b.at || rank(a) - rank(b) || a.order - b.order);
  const parts: string[] = [];
  let pos = 0;
  // New lines follow the file's own line ending (a CRLF file stays CRLF).
  const crlf = /\r\n/.test(text.slice(0, 4096));
  let last = '\n';
  for (const s of splices) {
    const before = text.slice(pos, s.at);
    if (before) last = before;
    const t = s.ownLine && !last.endsWith('\n') ? `\n${s.text}` : s.text;
    if (t) last = t;
    parts.push(before, crlf ? t.replace(/\r?\n/g, '\r\n') : t);
    pos = Math.max(pos, s.end);
  }
  parts.push(text.slice(pos));
  return parts.join('');
}
