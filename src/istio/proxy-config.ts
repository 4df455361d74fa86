/**
 * The `proxy.istio.io/config` annotation: a ProxyConfig (istio/api mesh/v1alpha1/proxy.proto) as YAML
 * or JSON. meshdrain writes drain settings into it without dropping or reformatting what is there:
 * JSON stays JSON (same one-line / indented shape), YAML is edited through the yaml Document API so
 * comments and key order survive. Unchanged settings return the input byte for byte (idempotence).
 */
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import { parseDuration } from '../model/duration.js';
import { getPath, isRecord } from '../model/workload.js';
import { parseEmbedded } from '../yaml/load.js';
import { setJsonPath } from '../io/json-text.js';
import type { ProxyConfigPlan } from '../plan/types.js';
import {
  ANNOTATIONS,
  DEFAULT_MINIMUM_DRAIN_SECONDS,
  DEFAULT_TERMINATION_DRAIN_SECONDS,
  PROXY_METADATA,
} from './facts.js';

type Obj = Record<string, unknown>;

/** The drain settings a ProxyConfig annotation asks for, with Istio's defaults filled in. */
export interface ProxyDrainSettings {
  /** As written (undefined when absent). Milliseconds. */
  terminationDrainMs?: number;
  drainDurationMs?: number;
  holdApplicationUntilProxyStarts?: boolean;
  exitOnZeroActiveConnections?: boolean;
  minimumDrainMs?: number;
  /**
   * How long pilot-agent drains after SIGTERM: terminationDrainDuration (default 5s), or with
   * EXIT_ON_ZERO_ACTIVE_CONNECTIONS the MINIMUM_DRAIN_DURATION floor (default 5s; then it polls
   * until connections reach zero, bounded only by the grace period).
   */
  effectiveDrainMs: number;
  /** True when the drain has no upper bound other than the kubelet's SIGKILL. */
  drainUnbounded: boolean;
  /** The parsed annotation (all keys, including ones meshdrain does not interpret). */
  raw: Obj;
  style: 'json' | 'yaml';
}

const WHAT = `annotation ${ANNOTATIONS.proxyConfig}`;

const isObj = isRecord;

function looksJson(text: string): boolean {
  return text.trimStart().startsWith('{');
}

/** Line/col inside the annotation value for a JSON.parse error message that names a position. */
function jsonErrorWhere(text: string, msg: string): string {
  const m = /position (\d+)/.exec(msg);
  if (!m) return '';
  const at = Number(m[1]);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n');
  return ` (line ${line}, column ${col} of the value)`;
}

function parseJsonValue(text: string, where?: SourcePos): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    throw new InputError(`${WHAT}: invalid JSON${jsonErrorWhere(text, msg)}: ${msg}`, where);
  }
  if (!isObj(v)) throw new InputError(`${WHAT}: expected a JSON object (a ProxyConfig), got ${JSON.stringify(v)}`, where);
  return v;
}

function parseYamlValue(text: string, where?: SourcePos): { doc: Document.Parsed; value: Obj } {
  // The one guarded reader for YAML inside a string: syntax, unknown aliases and alias bombs are InputErrors.
  const { doc, value } = parseEmbedded(text, `${WHAT}: invalid YAML`, () => where);
  if (value === null || value === undefined) return { doc, value: {} };
  if (!isObj(value)) throw new InputError(`${WHAT}: expected a mapping (a ProxyConfig), got ${JSON.stringify(value)}`, where);
  return { doc, value };
}

/** Parse the annotation value (YAML or JSON). Invalid → InputError (exit 2). */
export function parseProxyConfigValue(value: string, where?: SourcePos): { style: 'json' | 'yaml'; value: Obj } {
  if (value.trim() === '') return { style: 'yaml', value: {} };
  if (looksJson(value)) return { style: 'json', value: parseJsonValue(value, where) };
  return { style: 'yaml', value: parseYamlValue(value, where).value };
}

function durationMs(v: unknown, key: string, where?: SourcePos): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new InputError(`${WHAT}: ${key}: expected a duration like "5s", got ${JSON.stringify(v)}`, where);
  }
  try {
    return parseDuration(v, key);
  } catch (e) {
    throw new InputError(`${WHAT}: ${(e as InputError).message}`, where);
  }
}

/** Go's strconv.ParseBool, which pilot-agent uses for env flags. */
export function goBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/**
 * How long pilot-agent drains after SIGTERM: with EXIT_ON_ZERO_ACTIVE_CONNECTIONS the
 * MINIMUM_DRAIN_DURATION floor (default 5s), else terminationDrainDuration (default 5s).
 * The one place this rule lives; plan, lint and the lab call it.
 */
export function effectiveDrainMs(s: { exitOnZero?: boolean; minimumDrainMs?: number; terminationDrainMs?: number }): number {
  return s.exitOnZero ? (s.minimumDrainMs ?? DEFAULT_MINIMUM_DRAIN_SECONDS * 1000) : (s.terminationDrainMs ?? DEFAULT_TERMINATION_DRAIN_SECONDS * 1000);
}

/** The effective drain settings of a `proxy.istio.io/config` value (lint and budget use this). */
export function parseProxyConfigAnnotation(value: string | undefined, where?: SourcePos): ProxyDrainSettings {
  const parsed = value === undefined ? { style: 'yaml' as const, value: {} } : parseProxyConfigValue(value, where);
  const raw = parsed.value;
  const meta = isObj(raw.proxyMetadata) ? raw.proxyMetadata : {};
  const terminationDrainMs = durationMs(raw.terminationDrainDuration, 'terminationDrainDuration', where);
  const drainDurationMs = durationMs(raw.drainDuration, 'drainDuration', where);
  const minimumDrainMs = durationMs(meta[PROXY_METADATA.minimumDrain], PROXY_METADATA.minimumDrain, where);
  const exitOnZero = goBool(meta[PROXY_METADATA.exitOnZero]);
  const hold = raw.holdApplicationUntilProxyStarts;
  const out: ProxyDrainSettings = {
    effectiveDrainMs: effectiveDrainMs({ exitOnZero, minimumDrainMs, terminationDrainMs }),
    drainUnbounded: exitOnZero === true,
    raw,
    style: parsed.style,
  };
  if (terminationDrainMs !== undefined) out.terminationDrainMs = terminationDrainMs;
  if (drainDurationMs !== undefined) out.drainDurationMs = drainDurationMs;
  if (minimumDrainMs !== undefined) out.minimumDrainMs = minimumDrainMs;
  if (exitOnZero !== undefined) out.exitOnZeroActiveConnections = exitOnZero;
  if (typeof hold === 'boolean') out.holdApplicationUntilProxyStarts = hold;
  else if (goBool(hold) !== undefined) out.holdApplicationUntilProxyStarts = goBool(hold)!;
  return out;
}

/**
 * ProxyConfig durations are protobuf Durations: in JSON/YAML only "<seconds>s" parses ("1m30s" is
 * rejected by protojson). Write seconds, with a fraction when needed.
 */
export function protoDuration(text: string, what: string): string {
  const ms = parseDuration(text, what);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
}

interface Want {
  path: [string] | [string, string];
  value: string | boolean;
  /** Is the value already there equal (semantically) to what we want? */
  same: (existing: unknown) => boolean;
}

function wants(plan: ProxyConfigPlan): Want[] {
  const out: Want[] = [];
  const sameDuration = (ms: number) => (v: unknown) => {
    if (typeof v !== 'string' && typeof v !== 'number') return false;
    try {
      return parseDuration(v) === ms;
    } catch {
      return false;
    }
  };
  if (plan.terminationDrainDuration !== undefined) {
    const value = protoDuration(plan.terminationDrainDuration, 'terminationDrainDuration');
    out.push({ path: ['terminationDrainDuration'], value, same: sameDuration(parseDuration(value)) });
  }
  if (plan.holdApplicationUntilProxyStarts !== undefined) {
    const b = plan.holdApplicationUntilProxyStarts;
    out.push({ path: ['holdApplicationUntilProxyStarts'], value: b, same: (v) => v === b });
  }
  if (plan.exitOnZeroActiveConnections !== undefined) {
    const b = plan.exitOnZeroActiveConnections;
    // proxyMetadata is map<string,string>: the value must be the string "true"/"false".
    out.push({ path: ['proxyMetadata', PROXY_METADATA.exitOnZero], value: String(b), same: (v) => typeof v === 'string' && goBool(v) === b });
  }
  if (plan.minimumDrainDuration !== undefined) {
    const value = protoDuration(plan.minimumDrainDuration, 'minimumDrainDuration');
    out.push({
      path: ['proxyMetadata', PROXY_METADATA.minimumDrain],
      value,
      same: (v) => typeof v === 'string' && sameDuration(parseDuration(value))(v),
    });
  }
  return out;
}



/**
 * Merge the plan's drain settings into a `proxy.istio.io/config` value. Keys already there stay (same
 * order, comments kept for YAML); a setting already equal is not rewritten. An absent or empty value
 * yields new YAML. Invalid YAML/JSON → InputError (exit 2).
 */
export function mergeProxyConfigAnnotation(existing: string | undefined, plan: ProxyConfigPlan, where?: SourcePos): string {
  const want = wants(plan);
  const base = existing ?? '';
  if (base.trim() === '') {
    if (want.length === 0) return base;
    const doc = parseDocument('{}');
    doc.contents = doc.createNode({}) as typeof doc.contents;
    for (const w of want) doc.setIn(w.path, w.value);
    return doc.toString({ lineWidth: 0 });
  }
  if (looksJson(base)) {
    // Only the settings written change; every other byte of the user's JSON stays as typed.
    const value = parseJsonValue(base, where);
    let text = base;
    for (const w of want) {
      if (w.same(getPath(value, w.path))) continue;
      if (w.path.length === 2) {
        const parent = value[w.path[0]];
        if (parent !== undefined && parent !== null && !isObj(parent)) {
          throw new InputError(`${WHAT}: ${w.path[0]} must be a mapping, got ${JSON.stringify(parent)}`, where);
        }
        if (parent === null) text = setJsonPath(text, [w.path[0]], {});
      }
      text = setJsonPath(text, w.path, w.value);
    }
    return text;
  }
  const { doc, value } = parseYamlValue(base, where);
  let changed = false;
  for (const w of want) {
    if (w.same(getPath(value, w.path))) continue;
    if (w.path.length === 2) {
      const parentNode = doc.getIn([w.path[0]], true);
      if (parentNode !== undefined && parentNode !== null && !isMap(parentNode) && !(isScalar(parentNode) && parentNode.value === null)) {
        throw new InputError(`${WHAT}: ${w.path[0]} must be a mapping`, where);
      }
      if (isScalar(parentNode)) doc.setIn([w.path[0]], doc.createNode({}));
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
      doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
    }
    doc.setIn(w.path, w.value);
    changed = true;
  }
  if (!changed) return base;
  let out = doc.toString({ lineWidth: 0 });
  // Keep the value's own trailing-newline shape (`|` vs `|-` blocks in the manifest).
  if (!base.endsWith('\n')) out = out.replace(/\n+$/, '');
  return out;
}
