/**
 * Just enough of Go's text/template syntax to edit Istio injection templates safely: find every
 * action ({{ ... }}), classify the control ones, and track nesting. No evaluation.
 */

export type ActionKind = 'if' | 'else-if' | 'else' | 'end' | 'range' | 'with' | 'define' | 'block' | 'template' | 'comment' | 'other';

export interface Action {
  kind: ActionKind;
  /** Offset of `{{` and just past `}}`. */
  start: number;
  end: number;
  /** The text between the delimiters, trim markers and surrounding spaces removed. */
  body: string;
  /** 0-based line of `{{`. */
  line: number;
  /** Nesting depth of the action: for openers/else/end, the depth of the construct they belong to. */
  depth: number;
}

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const OPENERS = new Set<ActionKind>(['if', 'range', 'with', 'define', 'block']);

function classify(body: string): ActionKind {
  if (body.startsWith('/*')) return 'comment';
  const word = /^[a-z]+/.exec(body)?.[0];
  switch (word) {
    case 'if':
    case 'range':
    case 'with':
    case 'define':
    case 'block':
    case 'end':
    case 'template':
      return word;
    case 'else':
      return /^else\s+(if|with)\b/.test(body) ? 'else-if' : 'else';
    default:
      return 'other';
  }
}

/** Every action in order. Throws TemplateSyntaxError on an unterminated action, string or comment. */
export function scanActions(text: string): Action[] {
  const out: Action[] = [];
  let i = 0;
  let line = 0;
  let lineFrom = 0;
  let depth = 0;
  const lineAt = (at: number) => {
    for (let k = lineFrom; k < at; k++) if (text.charCodeAt(k) === 10) line++;
    lineFrom = at;
    return line;
  };
  for (;;) {
    const open = text.indexOf('{{', i);
    if (open < 0) break;
    let j = open + 2;
    if (text[j] === '-' && /\s/.test(text[j + 1] ?? '')) j += 2;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    let close = -1;
    if (text.startsWith('/*', j)) {
      const endC = text.indexOf('*/', j + 2);
      if (endC < 0) throw new TemplateSyntaxError('unclosed comment', open);
      close = text.indexOf('}}', endC + 2);
    } else {
      let k = j;
      while (k < text.length) {
        const c = text[k]!;
        if (c === '"' || c === "'") {
          k++;
          while (k < text.length && text[k] !== c) {
            if (text[k] === '\\') k++;
            if (text[k] === '\n') throw new TemplateSyntaxError('unterminated quoted string in action', open);
            k++;
          }
          if (k >= text.length) throw new TemplateSyntaxError('unterminated quoted string in action', open);
          k++;
          continue;
        }
        if (c === '`') {
          const endR = text.indexOf('`', k + 1);
          if (endR < 0) throw new TemplateSyntaxError('unterminated raw string in action', open);
          k = endR + 1;
          continue;
        }
        if (c === '}' && text[k + 1] === '}') {
          close = k;
          break;
        }
        k++;
      }
    }
    if (close < 0) throw new TemplateSyntaxError('unclosed action', open);
    let bodyEnd = close;
    if (text[bodyEnd - 1] === '-' && /\s/.test(text[bodyEnd - 2] ?? '')) bodyEnd -= 1;
    const body = text.slice(j, bodyEnd).trim();
    const kind = classify(body);
    let d = depth;
    if (OPENERS.has(kind)) {
      d = depth;
      depth++;
    } else if (kind === 'end') {
      depth--;
      if (depth < 0) throw new TemplateSyntaxError('{{ end }} without an opening action', open);
      d = depth;
    } else if (kind === 'else' || kind === 'else-if') {
      if (depth === 0) throw new TemplateSyntaxError('{{ else }} outside a conditional', open);
      d = depth - 1;
    }
    out.push({ kind, start: open, end: close + 2, body, line: lineAt(open), depth: d });
    i = close + 2;
  }
  if (depth !== 0) throw new TemplateSyntaxError(`${depth} action(s) not closed with {{ end }}`, text.length);
  return out;
}

/** Counts of openers and ends (equal in a balanced template). */
export function actionBalance(text: string): { openers: number; ends: number } {
  const acts = scanActions(text);
  return { openers: acts.filter((a) => OPENERS.has(a.kind)).length, ends: acts.filter((a) => a.kind === 'end').length };
}

/**
 * The branches of the conditional opened by `acts[openIdx]`: indexes of its own else/else-if/end
 * actions (not those of nested constructs), in order; the last one is the `end`.
 */
export function branchActions(acts: Action[], openIdx: number): number[] {
  const open = acts[openIdx]!;
  const out: number[] = [];
  for (let k = openIdx + 1; k < acts.length; k++) {
    const a = acts[k]!;
    if (a.depth !== open.depth) continue;
    if (a.kind === 'else' || a.kind === 'else-if') out.push(k);
    else if (a.kind === 'end') {
      out.push(k);
      return out;
    }
  }
  return out;
}

/** Escape text so a Go template prints it literally (only `{{` starts an action). */
export function goTemplateLiteral(text: string): string {
  return text.replace(/\{\{/g, '{{ "{{" }}');
}
