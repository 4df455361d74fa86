/**
 * `global.proxy.lifecycle` in the injector ConfigMap's `data.values` JSON (global mode).
 * The edit goes through jsonc-parser's modify/applyEdits: only the lifecycle property is written,
 * so every other byte stays (numbers like 2.50, 1e2, 1e400 or 2^64 as typed, key order, layout).
 */
import { applyEdits, modify, type FormattingOptions } from 'jsonc-parser';
import { InputError, type SourcePos } from '../errors.js';
import { isRecord } from '../model/workload.js';

const LIFECYCLE_PATH = ['global', 'proxy', 'lifecycle'];

/** The layout of the existing text, so the inserted lines look like their neighbours. One-line JSON stays one line. */
function formattingOf(json: string): FormattingOptions | undefined {
  if (!json.trim().includes('\n')) return undefined;
  const unit = /\n([ \t]+)"/.exec(json)?.[1] ?? '  ';
  return { insertSpaces: !unit.startsWith('\t'), tabSize: unit.startsWith('\t') ? 1 : unit.length, eol: json.includes('\r\n') ? '\r\n' : '\n' };
}

/** Set global.proxy.lifecycle in the `values` JSON text, keeping its formatting elsewhere. */
export function setGlobalLifecycle(json: string, lifecycle: unknown, where: SourcePos): { text: string; previous: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new InputError(`data.values: not valid JSON: ${(e as Error).message}`, where);
  }
  if (!isRecord(parsed)) throw new InputError('data.values: expected a JSON object', where);
  const global = parsed.global;
  if (global !== undefined && !isRecord(global)) throw new InputError('data.values: global must be an object', where);
  const proxy = isRecord(global) ? global.proxy : undefined;
  if (proxy !== undefined && !isRecord(proxy)) throw new InputError('data.values: global.proxy must be an object', where);
  const previous = isRecord(proxy) ? proxy.lifecycle : undefined;
  if (JSON.stringify(previous) === JSON.stringify(lifecycle)) return { text: json, previous };
  const edits = modify(json, LIFECYCLE_PATH, lifecycle, { formattingOptions: formattingOf(json) });
  return { text: applyEdits(json, edits), previous };
}
