/** JSON report: {"findings":[{rule, severity, message, file, line, column, fix}]}. Stable field order. */
import type { Finding } from '../types.js';

export function renderJson(findings: readonly Finding[]): string {
  const out = findings.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message, file: f.file, line: f.line, column: f.column, fix: f.fix }));
  return `${JSON.stringify({ findings: out }, null, 2)}\n`;
}
