/**
 * Go's own text/template (compiled to wasm, @evertdespiegeleer/go-template) for tests: it knows only
 * Go's builtin functions, so Istio's and sprig's are mapped onto builtins with the same shape:
 * `isset M K` → `index M K` (truthy when the annotation is set and non-empty), every other unknown
 * function → `print` (keeps the parse tree; its output is never asserted on).
 */
import { InvalidTemplateError, parse as goRender, TemplatingError } from '@evertdespiegeleer/go-template';

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'nil', 'true', 'false', 'break', 'continue']);
const BUILTINS = new Set(['and', 'or', 'not', 'len', 'index', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'call', 'html', 'js', 'urlquery', 'slice']);

/** Replace non-builtin function names inside actions (outside string literals). */
export function toBuiltins(tmpl: string): string {
  return tmpl.replace(/\{\{([\s\S]*?)\}\}/g, (whole, body: string) => {
    if (/^-?\s*\/\*/.test(body)) return whole;
    let out = '';
    let i = 0;
    while (i < body.length) {
      const c = body[i]!;
      if (c === '"' || c === '`' || c === "'") {
        let j = i + 1;
        while (j < body.length && body[j] !== c) j += body[j] === '\\' && c !== '`' ? 2 : 1;
        out += body.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i));
      if (m) {
        const prev = out[out.length - 1];
        const word = m[0];
        const bare = prev !== '.' && prev !== '$' && !/[A-Za-z0-9_]/.test(prev ?? '');
        out += bare && !KEYWORDS.has(word) && !BUILTINS.has(word) ? (word === 'isset' ? 'index' : 'print') : word;
        i += word.length;
        continue;
      }
      out += c;
      i++;
    }
    return `{{${out}}}`;
  });
}

/** Parse with Go's parser: throws on a syntax error (unbalanced actions, bad pipelines). */
export async function goParses(tmpl: string): Promise<void> {
  try {
    await goRender(toBuiltins(tmpl), {});
  } catch (e) {
    if (e instanceof TemplatingError) return; // parsed fine; executing against {} is not the point
    throw e;
  }
}

/** Execute with Go (after toBuiltins). */
export async function goExecute(tmpl: string, data: unknown): Promise<string> {
  return goRender(toBuiltins(tmpl), data);
}

export { InvalidTemplateError, TemplatingError };
