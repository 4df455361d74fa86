/** Rule documentation, generated from the rules themselves (docs/rules/<id>.md, SARIF help). */
import { RULES } from './rules/index.js';
import type { Rule } from './types.js';

export const DOCS_BASE_URI = 'https://meshdrain.dev/docs/rules/';

export function ruleDocUri(id: string): string {
  return `${DOCS_BASE_URI}${id}`;
}

const fence = (yaml: string) => `\`\`\`yaml\n${yaml.trimEnd()}\n\`\`\``;

/** The Markdown page for one rule. */
export function renderRuleMarkdown(rule: Rule): string {
  const d = rule.doc;
  const args = (a?: string[]) => (a?.length ? ` (linted with \`${a.join(' ')}\`)` : '');
  return `<!-- Generated from src/lint/rules/${rule.id}.ts; edit the rule, then regenerate (see docs/lint.md). -->
# ${rule.id}

**Severity:** ${rule.severity}

${rule.description.charAt(0).toUpperCase()}${rule.description.slice(1)}.

## Why

${d.rationale}

## Fix

${rule.fix}

## Fails${args(d.badArgs)}

${fence(d.bad)}

## Passes${args(d.goodArgs)}

${fence(d.good)}
`;
}

/** docs/rules/README.md: the list of rules. */
export function renderRuleIndex(rules: readonly Rule[] = RULES): string {
  const rows = rules.map((r) => `| [${r.id}](${r.id}.md) | ${r.severity} | ${r.description} |`).join('\n');
  return `<!-- Generated from src/lint/rules/; see docs/lint.md. -->
# meshdrain lint rules

| Rule | Severity | What it finds |
| --- | --- | --- |
${rows}
`;
}
