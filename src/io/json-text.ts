/**
 * Edit JSON text in place: only the properties written change, every other byte stays (numbers
 * like 2.50 or 1e2 as typed, key order, layout). jsonc-parser's modify/applyEdits does the edit; this
 * module only picks the formatting that makes inserted lines look like their neighbours.
 */
import { applyEdits, modify, type FormattingOptions } from 'jsonc-parser';

/** The layout of the existing text. One-line JSON stays one line (no formatting options: modify inserts inline). */
export function formattingOf(json: string): FormattingOptions | undefined {
  if (!json.trim().includes('\n')) return undefined;
  const unit = /\n([ \t]+)"/.exec(json)?.[1] ?? '  ';
  return { insertSpaces: !unit.startsWith('\t'), tabSize: unit.startsWith('\t') ? 1 : unit.length, eol: json.includes('\r\n') ? '\r\n' : '\n' };
}

/** Set `path` to `value` in the JSON text, keeping the rest of the text as it is. */
export function setJsonPath(json: string, path: (string | number)[], value: unknown): string {
  return applyEdits(json, modify(json, path, value, { formattingOptions: formattingOf(json) }));
}
