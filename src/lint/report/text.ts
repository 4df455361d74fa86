/** Text report: findings grouped by file, each with line:col, the source line and a caret under the node. */
import type { Finding, Severity } from '../types.js';

export interface TextOptions {
  /** Source text per file (for the caret line); files without text get no excerpt. */
  texts: Map<string, string>;
  color?: boolean;
}

const COLORS: Record<Severity, string> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[36m' };

/** Manifest text must not drive the terminal: control characters (ESC…) are shown, not sent. */
const safe = (s: string): string => s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function renderText(findings: readonly Finding[], o: TextOptions): string {
  if (findings.length === 0) return 'no findings\n';
  const paint = (s: string, code: string) => (o.color ? `${code}${s}\x1b[0m` : s);
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) (byFile.get(f.file) ?? byFile.set(f.file, []).get(f.file)!).push(f);
  const lines: string[] = [];
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const [file, list] of byFile) {
    lines.push(paint(safe(file), '\x1b[1m'));
    const src = o.texts.get(file)?.split('\n');
    for (const f of list) {
      counts[f.severity]++;
      lines.push(`  ${f.line}:${f.column}  ${paint(f.severity.padEnd(7), COLORS[f.severity])}  ${safe(f.message)}  ${paint(f.rule, '\x1b[2m')}`);
      const srcLine = src?.[f.line - 1];
      if (srcLine !== undefined) {
        const text = safe(srcLine.replace(/\t/g, ' ').replace(/\r$/, ''));
        const width = Math.max(1, Math.min(f.length ?? 1, text.length - (f.column - 1)));
        lines.push(`    ${text}`);
        lines.push(`    ${' '.repeat(Math.max(0, f.column - 1))}${paint(`^${'~'.repeat(width - 1)}`, COLORS[f.severity])}`);
      }
      lines.push(`    fix: ${safe(f.fix)}`);
    }
    lines.push('');
  }
  const parts = (['error', 'warning', 'info'] as const).filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}${counts[s] === 1 ? '' : 's'}`);
  lines.push(`${parts.join(', ')} in ${byFile.size} file${byFile.size === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}
