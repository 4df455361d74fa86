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

/** The settings that apply to one pod template: defaults, then every matching rule in order (later wins, per field). */
export function resolveSettings(policy: Policy, site: PodTemplateSite, podLabels: Record<string, string>): SettingsT {
  const out: SettingsT = structuredClone(policy.defaults);
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, site, podLabels)) continue;
    if (rule.proxy) out.proxy = { ...out.proxy, ...rule.proxy };
    if (rule.app) out.app = { ...out.app, ...rule.app };
    if (rule.containers) out.containers = { ...out.containers, ...rule.containers };
    if (rule.gracePeriod !== undefined) out.gracePeriod = rule.gracePeriod;
    if (rule.via !== undefined) out.via = rule.via;
  }
  return out;
}
