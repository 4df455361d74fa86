/**
 * A small, forgiving POSIX-sh tokenizer: enough structure to find the commands a hook runs, its loops
 * and the `sleep` in each turn. Not a parser; it never rejects input and never runs anything.
 * Offsets are into the original script so findings can point at the offending word.
 */

export interface Word {
  kind: 'word';
  /** The word with quotes removed (substitutions left as written). */
  text: string;
  start: number;
  end: number;
}
export interface Op {
  kind: 'op';
  text: string; // ; & | && || ( ) newline(\n) ;; { } handled as words
  start: number;
  end: number;
}
export type Token = Word | Op;

/** A `$(...)` or backtick command substitution found inside a word; analysed as its own script. */
export interface Substitution {
  text: string;
  /** Offset of `text` in the outer script. */
  offset: number;
}

export interface Tokenized {
  tokens: Token[];
  substitutions: Substitution[];
}

const OPS = ['&&', '||', ';;', ';', '&', '|', '(', ')', '\n'];

/** Find the end of `$(`...`)` starting after the `$(` at i; returns index of the closing paren. */
function matchParen(s: string, i: number): number {
  let depth = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      i = j < 0 ? s.length : j + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return i;
      i++;
    } else i++;
  }
  return s.length;
}

/**
 * A command substitution starting at i (`$(…)` or backquotes), quoted or not: where it ends, and its
 * inner text (none for `$((…))` arithmetic). null when none starts there.
 */
function substitutionAt(s: string, i: number): { next: number; inner?: Substitution } | null {
  if (s[i] === '$' && s[i + 1] === '(') {
    const close = matchParen(s, i + 2);
    return { next: close + 1, inner: s[i + 2] !== '(' ? { text: s.slice(i + 2, close), offset: i + 2 } : undefined };
  }
  if (s[i] === '`') {
    const close = s.indexOf('`', i + 1);
    const end = close < 0 ? s.length : close;
    return { next: end + 1, inner: { text: s.slice(i + 1, end), offset: i + 1 } };
  }
  return null;
}

export function tokenize(script: string): Tokenized {
  const tokens: Token[] = [];
  const substitutions: Substitution[] = [];
  const s = script;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && s[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    const op = OPS.find((o) => s.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    // A word: runs until unquoted whitespace or operator.
    const start = i;
    let text = '';
    let sub: ReturnType<typeof substitutionAt>;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') break;
      if (OPS.some((o) => o !== '\n' && s.startsWith(o, i)) && !(ch === '(' && s[i - 1] === '$') && !(ch === '&' && (s[i - 1] === '>' || s[i - 1] === '<'))) break;
      if (ch === '\\') {
        text += s[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        const j = s.indexOf("'", i + 1);
        const end = j < 0 ? s.length : j;
        text += s.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) {
            text += s[i + 1];
            i += 2;
          } else if ((sub = substitutionAt(s, i))) {
            if (sub.inner) substitutions.push(sub.inner);
            text += s.slice(i, sub.next);
            i = sub.next;
          } else {
            text += s[i];
            i++;
          }
        }
        i++;
      } else if ((sub = substitutionAt(s, i))) {
        if (sub.inner) substitutions.push(sub.inner);
        text += s.slice(i, sub.next);
        i = sub.next;
      } else {
        text += ch;
        i++;
      }
    }
    if (i > start) tokens.push({ kind: 'word', text, start, end: Math.min(i, s.length) });
    else i++; // defensive: never loop forever
  }
  return { tokens, substitutions };
}

/** Reserved words that may precede a command name in the same simple command. */
const PREFIX_WORDS = new Set(['while', 'until', 'do', 'then', 'else', 'elif', 'if', '!', '{', '}', 'time', 'done', 'fi']);

export interface SimpleCommand {
  /** The command name (first word after reserved words and assignments), e.g. `netstat`. */
  name: Word;
  args: Word[];
}

/** Redirections (`>/dev/null`, `2>&1`, `< file`) are not command words. */
const REDIRECT = /^\d*(<<?|>>?|&>|<>)/;

/** Split tokens into simple commands (pipelines split at `|`, lists at `;`, `&&`, newlines...). */
export function simpleCommands(tokens: Token[]): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let cur: Word[] = [];
  let caseDepth = 0;
  const flush = (): void => {
    const words: Word[] = [];
    for (let j = 0; j < cur.length; j++) {
      const w = cur[j]!;
      if (REDIRECT.test(w.text)) {
        if (/^\d*(<<?|>>?|&>|<>)&?$/.test(w.text)) j++; // the target is the next word
        continue;
      }
      words.push(w);
    }
    let k = 0;
    while (k < words.length && (PREFIX_WORDS.has(words[k]!.text) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k]!.text))) k++;
    if (k < words.length) out.push({ name: words[k]!, args: words.slice(k + 1) });
    cur = [];
  };
  let skipping: 'for' | 'case' | null = null; // inside a `for x in ...` / `case x in` header
  let expectPattern = false; // in a case body, before `pattern)`
  for (const t of tokens) {
    if (skipping === 'case') {
      if (t.kind === 'word' && t.text === 'in') {
        skipping = null;
        expectPattern = true;
      }
      continue;
    }
    if (expectPattern && caseDepth > 0) {
      if (t.kind === 'word' && t.text === 'esac') {
        caseDepth--;
        expectPattern = false;
      } else if (t.kind === 'op' && t.text === ')') expectPattern = false;
      continue;
    }
    if (t.kind === 'op') {
      if (skipping) cur = [];
      else flush();
      skipping = null;
      if (t.text === ';;' && caseDepth > 0) expectPattern = true;
    } else if (skipping) continue;
    else if ((t.text === 'for' || t.text === 'case') && cur.every((w) => PREFIX_WORDS.has(w.text))) {
      if (t.text === 'case') caseDepth++;
      cur = [];
      skipping = t.text;
    } else if (t.text === 'esac' && cur.every((w) => PREFIX_WORDS.has(w.text))) {
      cur = [];
      caseDepth = Math.max(0, caseDepth - 1);
    } else cur.push(t);
  }
  flush();
  return out;
}

/** The base name of a command word: `/usr/bin/netstat` → `netstat`. */
export function baseName(word: string): string {
  const i = word.lastIndexOf('/');
  return i >= 0 ? word.slice(i + 1) : word;
}
