import { Composer, Document, LineCounter, Parser, parseDocument, isAlias, isCollection, isMap, isScalar, isSeq, visit, type Alias, type Node } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';

/** Largest input meshdrain reads; bigger files are refused with a clear error, not an OOM. */
export const MAX_INPUT_BYTES = 32 * 1024 * 1024;
/** A YAML alias bomb expands aliases exponentially; past this many alias expansions we refuse. */
export const MAX_ALIAS_COUNT = 1000;
/**
 * Deepest nesting meshdrain reads. The parser, toJS and every walker recurse; a document thousands of
 * levels deep overflowed the stack ("Maximum call stack size exceeded", reported as a YAML syntax
 * error or exit 3); the parser alone overflowed near 900 levels of flow lists. Real manifests nest
 * tens of levels (a CRD schema perhaps a hundred).
 */
export const MAX_NESTING_DEPTH = 500;
const tooDeep = (pos: SourcePos) => new InputError(`nested too deeply: meshdrain reads documents up to ${MAX_NESTING_DEPTH} levels of mappings and lists`, pos);
const isStackOverflow = (e: unknown) => e instanceof RangeError || /maximum call stack size exceeded/i.test(String((e as Error)?.message ?? e));

/** How deep a plain value nests (iteratively: the check must not overflow the stack itself). */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return true;
    for (const c of Array.isArray(v) ? v : Object.values(v as object)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}

export interface LoadedDoc {
  doc: Document.Parsed;
  /** The plain JS value (aliases and merge keys resolved). */
  value: unknown;
}

export interface LoadedFile {
  file: string;
  text: string;
  format: 'yaml' | 'json';
  docs: LoadedDoc[];
  lines: LineCounter;
}

export function posAt(file: string, lines: LineCounter, offset: number): { file: string; line: number; col: number } {
  const { line, col } = lines.linePos(offset);
  return { file, line, col };
}

/** The first alias in a document whose anchor is not defined before it. */
function unresolvedAlias(doc: Document.Parsed): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.range && node.resolve(doc) === undefined) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Reject what is not text before parsing: binary junk, oversize input. */
export function checkText(text: string, file: string, bytes = Buffer.byteLength(text)): void {
  if (bytes > MAX_INPUT_BYTES) {
    throw new InputError(`input is ${(bytes / 1048576).toFixed(1)} MiB; meshdrain reads manifests up to ${MAX_INPUT_BYTES / 1048576} MiB`, { file });
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0 || text.includes('\uFFFD')) {
    const at = nul >= 0 ? nul : text.indexOf('\uFFFD');
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    // A NUL (binary, UTF-16) or a byte that is not UTF-8 (Latin-1, Windows-1252: "café" saved by an old editor).
    throw new InputError('not UTF-8 text (binary data or another encoding)', { file, line, col });
  }
}

/** Where positions in a file are read from: its name and its line starts. */
export type Positions = Pick<LoadedFile, 'file' | 'lines'>;

const PARSE_OPTIONS = { merge: true, prettyErrors: false, uniqueKeys: true } as const;

const formatOf = (text: string): LoadedFile['format'] => {
  const trimmed = text.trimStart();
  return trimmed.startsWith('{') || trimmed.startsWith('[') ? 'json' : 'yaml';
};

/**
 * The documents of a manifest file (multi-document YAML, or JSON) one at a time, in order, keeping
 * comments and source ranges; `lines` fills as the parser goes (a document's own offsets are counted
 * by the time it is yielded). A caller that keeps no document lets each be collected: a 1,000-document
 * file never holds 1,000 syntax trees (docs/adr/081-bundled-build.md, throughput). Throws InputError
 * naming file:line:col on the first syntax error or alias bomb, at the document that has it.
 */
export function* eachDocument(text: string, file: string, lines: LineCounter): Generator<LoadedDoc> {
  checkText(text, file);
  // What parseAllDocuments does, as a stream (yaml's own Parser → Composer pipeline).
  const composer = new Composer(PARSE_OPTIONS);
  const template = looksLikeTemplate(text);
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) yield checked(doc as Document.Parsed, file, lines, template);
}

/** Where the first mapping key that is a collection starts (its flow map's `{`), if any. */
function collectionKey(doc: Document.Parsed): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Pair(_, pair, path) {
      if (isCollection(pair.key) && pair.key.range) {
        // At the map that holds it: `{{` where the template action starts.
        const parent = path[path.length - 1] as Node | undefined;
        at = (isMap(parent) && parent.flow && parent.range ? parent.range : pair.key.range)[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return at;
}

/** Go template actions ({{ … }}, Helm's chart templates): not YAML until rendered. */
const looksLikeTemplate = (text: string): boolean => /\{\{-?\s*[-.$/"a-zA-Z(]/.test(text);
const TEMPLATE_HINT = '; the file looks like a Go/Helm template: render it first (helm template) and pipe the result';

function checked(doc: Document.Parsed, file: string, lines: LineCounter, template = false): LoadedDoc {
  const err = doc.errors[0];
  if (err && isStackOverflow(err.message)) throw tooDeep(posAt(file, lines, doc.range[0]));
  if (err) {
    const first = err.message.split('\n')[0] ?? err.message;
    throw new InputError(`YAML syntax error: ${first.replace(/ at line \d+, column \d+.*$/, '')}${template ? TEMPLATE_HINT : ''}`, posAt(file, lines, err.pos[0]));
  }
  // `name: {{ .Release.Name }}` parses: as a flow map whose key is a flow map. No manifest has a
  // collection for a key (JSON cannot write one), so in a file that looks like a template it is one,
  // and is said so before toJS turns the key into a string (with a Node warning on stderr).
  if (template) {
    const key = collectionKey(doc);
    if (key !== undefined) throw new InputError(`a mapping key that is itself a mapping or list${TEMPLATE_HINT}`, posAt(file, lines, key));
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const msg = (e as Error).message;
    const pos = posAt(file, lines, doc.range[0]);
    if (isStackOverflow(e)) throw tooDeep(pos);
    if (/excessive alias/i.test(msg)) throw new InputError(`more than ${MAX_ALIAS_COUNT} YAML alias expansions (an alias bomb?); refusing`, pos);
    const unknown = unresolvedAlias(doc);
    if (unknown) throw new InputError(`unknown YAML alias *${unknown.source}: no anchor &${unknown.source} before it`, posAt(file, lines, unknown.range![0]));
    throw new InputError(msg, pos);
  }
  if (depthExceeds(value, MAX_NESTING_DEPTH)) throw tooDeep(posAt(file, lines, doc.range[0]));
  return { doc, value };
}

/**
 * Parse a manifest file (multi-document YAML, or JSON) keeping comments and source ranges: every
 * document at once (eachDocument is the stream).
 * Throws InputError naming file:line:col on the first syntax error or an alias bomb.
 */
export function loadDocuments(text: string, file: string): LoadedFile {
  const lines = new LineCounter();
  const docs = [...eachDocument(text, file, lines)];
  return { file, text, format: formatOf(text), docs, lines };
}

/** The stream's companion: the file's format, and its positions filled as eachDocument goes. */
export function streamOf(text: string, file: string): Positions & { format: LoadedFile['format']; docs: Iterable<LoadedDoc> } {
  const lines = new LineCounter();
  return { file, lines, format: formatOf(text), docs: eachDocument(text, file, lines) };
}

/**
 * YAML or JSON stored inside a string value (a `proxy.istio.io/config` annotation, ConfigMap
 * `data.mesh`): parsed with its own positions, and every failure — syntax, an alias with no anchor,
 * an alias bomb — an InputError at `at(offset)` in the outer file, never anything else (exit 2, not 3).
 */
export function parseEmbedded(text: string, what: string, at: (offset: number) => SourcePos | undefined): { doc: Document.Parsed; value: unknown } {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) throw new InputError(`${what}: ${(err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+.*$/, '')}`, at(err.pos[0]));
  try {
    return { doc, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (e) {
    const unknown = unresolvedAlias(doc);
    if (unknown) throw new InputError(`${what}: unknown YAML alias *${unknown.source}: no anchor &${unknown.source} before it`, at(unknown.range![0]));
    if (/excessive alias/i.test((e as Error).message)) throw new InputError(`${what}: more than ${MAX_ALIAS_COUNT} YAML alias expansions (an alias bomb?); refusing`, at(0));
    throw new InputError(`${what}: ${(e as Error).message}`, at(0));
  }
}

/** How many documents of a file hold something (a bare `---` or a comment-only document is not a manifest). */
export const holdsSomething = (d: LoadedDoc): boolean => d.value !== null && d.value !== undefined;

export function manifestCount(loaded: LoadedFile): number {
  return loaded.docs.filter(holdsSomething).length;
}

/** Walk source nodes along a path without following aliases: where it ended, and whether an alias stopped it. */
function walk(doc: Document, path: readonly (string | number)[]): { node: unknown; alias: boolean } {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (isAlias(node)) return { node: undefined, alias: true };
    if (isMap(node)) node = node.get(key, true);
    else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
    else return { node: undefined, alias: false };
    if (node === undefined || node === null) return { node: undefined, alias: false };
  }
  return { node, alias: isAlias(node) };
}

/** The source node at a path, without following aliases; undefined when absent or behind an alias. */
export function nodeAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  const { node } = walk(doc, path);
  return (isCollection(node) || isScalar(node) || isAlias(node) ? node : undefined) as Node | undefined;
}

/** True when any node on the path (including its end) is an alias: editing it would edit a shared anchor. */
export function pathCrossesAlias(doc: Document, path: readonly (string | number)[]): boolean {
  return walk(doc, path).alias;
}

/** The scalar at a path as written in the source (its text, trimmed), when it is one with a range. */
export function scalarSource(text: string, doc: Document, path: readonly (string | number)[]): { value: unknown; written: string; offset: number } | undefined {
  const node = nodeAt(doc, path);
  if (!isScalar(node) || !node.range) return undefined;
  return { value: node.value, written: text.slice(node.range[0], node.range[1]).trim(), offset: node.range[0] };
}

/** file:line:col of the node at a path (or its nearest existing ancestor). */
export function posOfPath(loaded: Positions, doc: Document.Parsed, path: readonly (string | number)[]) {
  for (let n = path.length; n >= 0; n--) {
    const node = nodeAt(doc, path.slice(0, n));
    if (node?.range) return posAt(loaded.file, loaded.lines, node.range[0]);
  }
  return posAt(loaded.file, loaded.lines, doc.range[0]);
}

/** file:line:col of a key in the map at `path` (for "unknown field" errors), else of the map. */
export function posOfKey(loaded: Positions, doc: Document.Parsed, path: readonly (string | number)[], key: string) {
  const map = nodeAt(doc, path);
  if (isMap(map)) {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    if (range) return posAt(loaded.file, loaded.lines, range[0]);
  }
  return posOfPath(loaded, doc, path);
}
