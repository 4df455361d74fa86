/**
 * The normal form of a policy, whatever format it was written in. Kept apart from the zod schema so
 * that commands running without a policy file (a Helm post-renderer call) do not load zod.
 */
import type { RuleT, SettingsT, TemplateSettingsT, LabSettingsT } from './schema.js';

export interface Policy {
  format: 'default' | 'legacy' | 'v1alpha1';
  file?: string;
  defaults: SettingsT;
  rules: RuleT[];
  /** The custom injection template's hold (`template:`): istio template renders it, inject --via template sizes grace with it. */
  template?: TemplateSettingsT;
  /** How the real app behaves at shutdown (`lab:`), read by `meshdrain lab --policy` only. */
  lab?: LabSettingsT;
}

export const DEFAULT_POLICY: Policy = Object.freeze({ format: 'default', defaults: {}, rules: [] }) as Policy;
