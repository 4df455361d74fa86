/** SARIF 2.1.0 for GitHub code scanning: rule metadata with help text and URIs, one result per finding. */
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { VERSION } from '../../version.js';
import { ruleDocUri, renderRuleMarkdown } from '../docs.js';
import type { Finding, Rule, Severity } from '../types.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** "grace-period-too-short" → "GracePeriodTooShort" (SARIF's rule `name` is an identifier). */
const pascal = (id: string) => id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

/**
 * The directory results are relative to: the git work tree holding cwd (a directory with `.git`, a
 * directory or a worktree's file), else cwd. GitHub code scanning reads a relative URI from the
 * repository's root, so a workflow step with `working-directory: k8s` gave `x.yaml` for `k8s/x.yaml`,
 * an alert on a file that does not exist (QA8 F4).
 */
export function sourceRoot(cwd: string): string {
  for (let d = resolve(cwd); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return resolve(cwd);
  }
}

/** A file's URI: relative to `root` (with forward slashes) when inside it, else a file:// URI. */
export function artifactUri(file: string, cwd: string, root = cwd): string {
  if (file === '-' || file === '<stdin>') return 'stdin';
  const abs = resolve(cwd, file);
  const rel = relative(root, abs);
  if (!rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).map(encodeURIComponent).join('/');
  return pathToFileURL(abs).href;
}

export function renderSarif(findings: readonly Finding[], rules: readonly Rule[], cwd: string): string {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const root = sourceRoot(cwd);
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'meshdrain',
            semanticVersion: VERSION,
            version: VERSION,
            informationUri: 'https://meshdrain.dev/',
            rules: rules.map((r) => ({
              id: r.id,
              name: pascal(r.id),
              shortDescription: { text: r.description },
              fullDescription: { text: r.doc.rationale.replace(/\s*\n\s*/g, ' ') },
              helpUri: ruleDocUri(r.id),
              help: { text: r.fix, markdown: renderRuleMarkdown(r) },
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { tags: ['istio', 'shutdown', 'reliability'] },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(root.endsWith(sep) ? root : `${root}${sep}`).href } },
        results: findings.map((f) => {
          const uri = artifactUri(f.file, cwd, root);
          return {
            ruleId: f.rule,
            ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule) } : {}),
            level: LEVEL[f.severity],
            message: { text: `${f.message}. Fix: ${f.fix}` },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: uri.startsWith('file:') || uri === 'stdin' ? { uri } : { uri, uriBaseId: '%SRCROOT%' },
                  region: { startLine: f.line, startColumn: f.column, ...(f.length ? { endLine: f.line, endColumn: f.column + f.length } : {}) },
                },
              },
            ],
          };
        }),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
