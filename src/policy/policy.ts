/**
 * The normal form of a policy, whatever format it was written in. Kept apart from the zod schema so
 * that commands running without a policy file (a Helm post-renderer call) do not load zod.
 */
import type { RuleT, SettingsT } from './schema.js';

export interface Policy {
  format: 'default' | 'legacy' | 'v1alpha1';
  file?: string;
  defaults: SettingsT;
  rules: RuleT[];
}

export const DEFAULT_POLICY: Policy = Object.freeze({ format: 'default', defaults: {}, rules: [] }) as Policy;
