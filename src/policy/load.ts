import type { z } from 'zod';
import { InputError, type SourcePos } from '../errors.js';
import { checkTemplateName } from '../istio/template.js';
import { holdSettings, POLICY_LABELS, type HoldField } from '../plan/hold-settings.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { MAX_APP_DELAY_MS } from '../plan/budget.js';
import { isRecord } from '../model/workload.js';
import { basename } from 'node:path';
import { readText } from '../io/files.js';
import { loadDocuments, posOfKey, posOfPath, type LoadedFile } from '../yaml/load.js';
import { DEFAULT_POLICY, type Policy } from './policy.js';
import { LegacyPolicySchema, ShutdownPolicySchema, type RuleT, type SettingsT } from './schema.js';

export { DEFAULT_POLICY, type Policy } from './policy.js';

/** The values an enum, a boolean or a union of them takes, as a user writes them; undefined for others. */
function allowedValues(issue: z.core.$ZodIssue): string[] | undefined {
  if (issue.code === 'invalid_value') return issue.values.map((v) => JSON.stringify(v));
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') return ['true', 'false'];
  if (issue.code === 'invalid_union') {
    const branches = issue.errors.map((b) => (b.length === 1 ? allowedValues(b[0]!) : undefined));
    return branches.every((b) => b !== undefined) ? branches.flat() : undefined;
  }
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
  if (issue.code === 'unrecognized_keys') return `${field}unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  // "Invalid input" says nothing a user can act on; name what the field takes.
  const allowed = allowedValues(issue);
  if (allowed) return `${field}expected one of ${allowed.join(', ')}`;
  return `${field}${issue.message}`;
}

function schemaError(loaded: LoadedFile, issue: z.core.$ZodIssue, kind: string): InputError {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const doc = loaded.docs[0]!.doc;
  const pos = issue.code === 'unrecognized_keys' ? posOfKey(loaded, doc, path, issue.keys[0]!) : posOfPath(loaded, doc, path);
  return new InputError(`invalid ${kind}: ${describeIssue(issue)}`, pos);
}

/** A policy named on the command line (-c, --policy), read as every manifest is read (the same words for a missing or binary file), then loaded. */
export function loadPolicyFile(path: string, cwd: string): Policy {
  const text = readText(path, cwd);
  // A file named as the policy that holds none (a redirect that failed, the wrong file) would run
  // with the defaults without a word.
  const loaded = loadDocuments(text, path);
  if (!loaded.docs.some((d) => d.value != null)) throw new InputError('holds no policy (empty, or only comments): give a ShutdownPolicy, or no policy file for the defaults', { file: path });
  try {
    return policyOf(loaded);
  } catch (e) {
    // kustomize's exec transformer hands over its own re-serialised copy of the user's ShutdownPolicy
    // in a temp file it deletes: its line and column lead nowhere. Name the policy as the user wrote
    // it; the message keeps the field path (defaults.app.delay).
    if (!(e instanceof InputError) || !KUSTOMIZE_COPY.test(basename(path))) throw e;
    const name = /^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*['"]?([^'"\s#]+)/m.exec(text)?.[1];
    throw new InputError(e.message, { file: `ShutdownPolicy${name ? `/${name}` : ''} (kustomize's copy)` }, e.exitCode);
  }
}
/** The temp file kustomize's legacy exec plugin loader writes a transformer's config to (kustomize api/internal/plugins/execplugin). */
const KUSTOMIZE_COPY = /^kust-plugin-config-\d+$/;

/** Load a policy file: the versioned ShutdownPolicy or the legacy injection.py config. */
export function loadPolicy(text: string, file: string): Policy {
  return policyOf(loadDocuments(text, file));
}

/** The policy of a loaded policy file (loadPolicy, loadPolicyFile). */
function policyOf(loaded: LoadedFile): Policy {
  const { file } = loaded;
  const first = loaded.docs[0];
  if (!first || first.value == null) return { ...DEFAULT_POLICY, file };
  if (loaded.docs.length > 1) throw new InputError('a policy file holds one YAML document', posOfPath(loaded, loaded.docs[1]!.doc, []));
  const value = first.value;
  if (!isRecord(value)) throw new InputError('a policy must be a mapping (ShutdownPolicy or kind → name → container → command)', posOfPath(loaded, first.doc, []));

  if ('apiVersion' in value || 'kind' in value) {
    const r = ShutdownPolicySchema.safeParse(value);
    if (!r.success) throw schemaError(loaded, r.error.issues[0]!, 'ShutdownPolicy');
    const policy: Policy = { format: 'v1alpha1', file, defaults: r.data.defaults ?? {}, rules: r.data.rules ?? [], ...(r.data.template ? { template: r.data.template } : {}), ...(r.data.lab ? { lab: r.data.lab } : {}) };
    checkValues(loaded, policy);
    return policy;
  }
  const r = LegacyPolicySchema.safeParse(value);
  if (!r.success) throw schemaError(loaded, r.error.issues[0]!, 'legacy policy (kind → name → container → [command])');
  const rules: RuleT[] = [];
  for (const [kind, byName] of Object.entries(r.data)) {
    for (const [name, byContainer] of Object.entries(byName)) {
      const rule: RuleT = { match: { kinds: [kind], names: [name] } };
      for (const [container, command] of Object.entries(byContainer)) {
        if (container === 'istio-proxy') rule.proxy = { preStop: command };
        else (rule.containers ??= {})[container] = { preStop: command };
      }
      rules.push(rule);
    }
  }
  return { format: 'legacy', file, defaults: {}, rules };
}

/**
 * Semantic checks zod cannot express (strategy syntax, hold limits, durations, the template name),
 * with positions: every hold setting goes through the validator hook, image and istio use.
 */
function checkValues(loaded: LoadedFile, policy: Policy): void {
  const doc = loaded.docs[0]!.doc;
  const at = (path: (string | number)[]) => posOfPath(loaded, doc, path);
  const holdAt = (base: (string | number)[]) => (field: HoldField, index?: number) => at(index === undefined ? [...base, field] : [...base, field, index]);
  const sections: [SettingsT, (string | number)[]][] = [[policy.defaults, ['defaults']], ...policy.rules.map((r, i): [SettingsT, (string | number)[]] => [r, ['rules', i]])];
  for (const [s, base] of sections) {
    if (s.proxy) holdSettings(s.proxy, 0, { labels: POLICY_LABELS, at: holdAt([...base, 'proxy']) });
    for (const key of ['terminationDrainDuration', 'minimumDrainDuration'] as const) {
      const v = s.proxy?.[key];
      if (v !== undefined) atPos(at([...base, 'proxy', key]), () => parseDuration(v, key));
    }
    if (s.app) checkApp(s.app, (key) => at([...base, 'app', key]));
  }
  for (const key of ['shutdown', 'prestopTime'] as const) {
    const v = policy.lab?.app?.[key];
    if (v !== undefined) atPos(at(['lab', 'app', key]), () => parseDuration(v, key));
  }
  const t = policy.template;
  if (t) {
    holdSettings(t, 0, { labels: POLICY_LABELS, at: holdAt(['template']) });
    if (t.name !== undefined) atPos(at(['template', 'name']), () => checkTemplateName(t.name!, 'name'));
  }
}

/** The app's delay settings (ADR 015): each within the limits the generated wait accepts. */
function checkApp(app: NonNullable<SettingsT['app']>, at: (key: keyof NonNullable<SettingsT['app']>) => SourcePos): void {
  for (const key of ['delay', 'shutdown', 'quiet', 'maxDelay'] as const) {
    const v = app[key];
    if (v === undefined) continue;
    const ms = atPos(at(key), () => parseDuration(v, key));
    if (ms > MAX_APP_DELAY_MS) throw new InputError(`${key}: at most ${formatDuration(MAX_APP_DELAY_MS)}, got ${JSON.stringify(v)}`, at(key));
  }
  if (app.quiet !== undefined && app.maxDelay !== undefined && parseDuration(app.quiet) > parseDuration(app.maxDelay)) {
    throw new InputError(`quiet: the quiet window (${JSON.stringify(app.quiet)}) cannot be longer than maxDelay (${JSON.stringify(app.maxDelay)})`, at('quiet'));
  }
  if (app.shellImage !== undefined && app.shell !== undefined && app.shell !== 'init-container') {
    throw new InputError(`shellImage: an image for the brought-in shell, but shell is ${JSON.stringify(app.shell)}; use shell: init-container (or leave shell out)`, at('shellImage'));
  }
}

/** Run `f`; an InputError from it is placed at `pos`. */
function atPos<T>(pos: SourcePos, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message, pos);
    throw e;
  }
}
