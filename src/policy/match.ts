import type { PodTemplateSite } from '../model/workload.js';
import type { Policy } from './policy.js';
import type { RuleT, SettingsT } from './schema.js';

/** Glob with * and ? (Kubernetes names have no other special characters). */
export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(text);
}

export function ruleMatches(rule: RuleT, site: PodTemplateSite, podLabels: Record<string, string>): boolean {
  const m = rule.match;
  if (m.kinds && !m.kinds.some((k) => k.toLowerCase() === site.kind.toLowerCase())) return false;
  if (m.names && !m.names.some((p) => globMatch(p, site.name))) return false;
  if (m.namespaces && !m.namespaces.some((p) => globMatch(p, site.namespace ?? 'default'))) return false;
  if (m.labels) {
    const labels = { ...site.labels, ...podLabels };
    if (!Object.entries(m.labels).every(([k, v]) => labels[k] === v)) return false;
  }
  return true;
}

/**
 * The settings that apply to one pod template: defaults, then every matching rule in order (later wins,
 * per field). A section that is a mapping (proxy, app, containers, and any added later) merges key by
 * key; a scalar (gracePeriod, via) replaces. Generic on purpose: a setting added to the schema needs
 * no change here to take part in matching.
 */
export function resolveSettings(policy: Policy, site: PodTemplateSite, podLabels: Record<string, string>): SettingsT {
  const out: Record<string, unknown> = structuredClone(policy.defaults);
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, site, podLabels)) continue;
    const { match: _match, ...settings } = structuredClone(rule);
    for (const [key, value] of Object.entries(settings)) {
      if (value === undefined) continue;
      const prev = out[key];
      out[key] = isPlainObject(value) && isPlainObject(prev) ? { ...prev, ...value } : value;
    }
  }
  return out as SettingsT;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
