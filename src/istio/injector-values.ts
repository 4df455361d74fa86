/**
 * `global.proxy.lifecycle` in the injector ConfigMap's `data.values` JSON (global mode).
 * The edit goes through jsonc-parser's modify/applyEdits: only the lifecycle property is written,
 * so every other byte stays (numbers like 2.50, 1e2, 1e400 or 2^64 as typed, key order, layout).
 */
import { setJsonPath } from '../io/json-text.js';
import { InputError, type SourcePos } from '../errors.js';
import { isRecord } from '../model/workload.js';

const LIFECYCLE_PATH = ['global', 'proxy', 'lifecycle'];

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
  return { text: setJsonPath(json, LIFECYCLE_PATH, lifecycle), previous };
}
