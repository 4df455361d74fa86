/**
 * Replace the value of one YAML string scalar in its source text, touching no byte outside it.
 * The injector ConfigMap nests text in text (ConfigMap → `config` block → `template` block → Go
 * template), so an edit deep inside must come out as a minimal edit of the outer file: for a
 * literal block scalar, value line i is source line i after the header, so only the changed middle
 * lines are rewritten (with the block's indentation); a quoted or plain scalar is re-rendered
 * whole in an equivalent quoting.
 */
import { Scalar } from 'yaml';

/** Length of the common prefix of two arrays. */
function commonPrefix(a: string[], b: string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function renderQuoted(node: Scalar, value: string): string {
  if (node.type === Scalar.QUOTE_SINGLE && !value.includes('\n')) return `'${value.replace(/'/g, "''")}'`;
  // JSON string syntax is valid YAML double-quoted syntax (single line, all escapes YAML knows).
  return JSON.stringify(value);
}

/** Where a literal block's content starts and its indentation (undefined: not a simple literal block). */
function literalBlock(src: string, node: Scalar): { bodyStart: number; indent: string } | undefined {
  if (node.type !== Scalar.BLOCK_LITERAL || !node.range) return undefined;
  const start = node.range[0];
  const nl = src.indexOf('\n', start);
  if (nl < 0) return undefined;
  const header = src.slice(start, nl);
  // `|`, `|-`, `|+`, optionally followed by a comment; an explicit indentation indicator is rare: bail.
  if (!/^\|[-+]?\s*(#.*)?$/.test(header.trimEnd())) return undefined;
  const bodyStart = nl + 1;
  const end = node.range[1];
  const body = src.slice(bodyStart, end);
  const firstContent = /^( *)[^ \n]/m.exec(body);
  if (!firstContent) return undefined;
  return { bodyStart, indent: firstContent[1]! };
}

/**
 * Source text with `node`'s value replaced by `value`. Everything outside the changed lines of the
 * scalar is kept byte for byte.
 */
/** Can `value` be written as a literal block with this header's chomping and auto-detected indent? */
function fitsBlock(value: string, header: string): boolean {
  if (/[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ufeff]|\r/.test(value)) return false;
  const first = value.split('\n').find((l) => l.length > 0);
  if (first === undefined || first.startsWith(' ') || first.startsWith('\t')) return false;
  const chomp = header.trim()[1];
  if (chomp === '-') return !value.endsWith('\n');
  if (chomp === '+') return true;
  return value.endsWith('\n') && !value.endsWith('\n\n');
}

/**
 * Source text with `node`'s value replaced by `value`. Everything outside the changed lines of the
 * scalar is kept byte for byte.
 */
export function replaceScalarSource(src: string, node: Scalar, value: string): string {
  const old = String(node.value);
  if (old === value) return src;
  if (!node.range) throw new Error('scalar without a source range');
  const block = literalBlock(src, node);
  const [start, valueEnd] = node.range;
  const header = block ? src.slice(start, src.indexOf('\n', start)) : '';
  if (block && fitsBlock(value, header)) {
    const a = old.split('\n');
    const b = value.split('\n');
    const p = commonPrefix(a, b);
    const s = commonPrefix(a.slice(p).reverse(), b.slice(p).reverse());
    const oldMid = a.length - s - p;
    const newMid = b.slice(p, b.length - s);
    // The changed lines must lie inside the value's own lines (not its chomped trailing newline).
    const lastValueLine = old.endsWith('\n') ? a.length - 2 : a.length - 1;
    if (p + oldMid - 1 <= lastValueLine && p <= lastValueLine + 1) {
      let at = block.bodyStart;
      for (let k = 0; k < p; k++) at = src.indexOf('\n', at) + 1;
      let to = at;
      for (let k = 0; k < oldMid; k++) {
        const nl = src.indexOf('\n', to);
        to = nl < 0 ? src.length : nl + 1;
      }
      const text = newMid.map((l) => (l.length ? block.indent + l : '') + '\n').join('');
      // When replacing up to the very end of a file without a final newline, keep it that way.
      const replaced = to === src.length && !src.endsWith('\n') ? text.replace(/\n$/, '') : text;
      return src.slice(0, at) + replaced + src.slice(to);
    }
    // Otherwise re-render the whole body under the same header.
    const body = value
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => (l.length ? block.indent + l : ''))
      .join('\n');
    return src.slice(0, start) + header + '\n' + body + '\n' + src.slice(valueEnd).replace(/^\n/, '');
  }
  // A block's range ends after its last newline; a quoted scalar needs that newline back.
  const nl = block && src[valueEnd - 1] === '\n' ? '\n' : '';
  return src.slice(0, start) + renderQuoted(node, value) + nl + src.slice(valueEnd);
}
