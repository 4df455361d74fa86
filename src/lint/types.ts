/** The lint vocabulary: severities, findings, rules. */
import type { Loc } from './locate.js';
import type { PodView } from './pod.js';
import type { LintOptions } from './options.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = Object.freeze({ info: 0, warning: 1, error: 2 });

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
  fix: string;
  /** Characters to underline in the text report (not part of the JSON contract). */
  length?: number;
}

/** What a rule reports; the engine adds rule id, severity and file. */
export interface Report {
  at: Loc;
  message: string;
  /** Overrides the rule's generic fix with a concrete one (e.g. the grace period to write). */
  fix?: string;
  /** Rarely: a finding less or more severe than the rule's default (SARIF allows per-result level). */
  severity?: Severity;
}

export interface RuleDoc {
  /** Why this breaks shutdown, in a few paragraphs (Markdown). */
  rationale: string;
  /** A manifest fragment that triggers the rule. */
  bad: string;
  /** The same fragment fixed. */
  good: string;
  /** meshdrain lint arguments the examples assume (versions), if any. */
  badArgs?: string[];
  goodArgs?: string[];
}

export interface Rule {
  /** Stable id, kebab-case; never renamed once released. */
  id: string;
  severity: Severity;
  /** One line: what is wrong. */
  description: string;
  /** One line: what to do about it. */
  fix: string;
  doc: RuleDoc;
  check(pod: PodView, opts: LintOptions, report: (r: Report) => void): void;
}
