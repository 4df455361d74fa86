/** Lint = load manifests and mesh settings, build a view per pod template, run every rule. Pure. */
import { InputError } from '../errors.js';
import { getPath, patchFragment, patchFragmentNote, podTemplateSites, siteName, type PodTemplate } from '../model/workload.js';
import { loadDocuments, manifestCount, posOfPath, type LoadedFile } from '../yaml/load.js';
import { emptyMesh, readMeshConfigs, readMeshDocuments } from './mesh.js';
import { defaultOptions, type LintOptions, type Version } from './options.js';
import { podView, refuseBadTemplate } from './pod.js';
import { namespacesIn } from '../mesh/namespaces.js';
import { RULES } from './rules/index.js';
import { SEVERITY_RANK, type Finding, type Rule, type Severity } from './types.js';

export interface LintInput {
  file: string;
  text: string;
}

export interface LintFlags {
  kubeVersion?: Version;
  istioVersion?: Version;
  appShutdownSeconds?: number;
  rules?: readonly Rule[];
}

export interface LintResult {
  findings: Finding[];
  /** Source text per file, for the text reporter's caret lines. */
  texts: Map<string, string>;
  podCount: number;
  /** Documents in the inputs that hold something (not counting --mesh-config files). */
  documentCount: number;
  /** `file:line:col: Kind/name: …` for pod templates left unjudged: patch fragments (ADR 083), as inject says it. */
  notes: string[];
  options: LintOptions;
}

/**
 * Lint manifests. Mesh settings come from `meshInputs` (--mesh-config; each must hold some) and from
 * any mesh documents among the manifests themselves (IstioOperator, istio ConfigMaps, Helm values).
 * Throws InputError (file:line:col) on unreadable input.
 */
export function lint(inputs: LintInput[], meshInputs: LintInput[] = [], flags: LintFlags = {}): LintResult {
  const texts = new Map<string, string>();
  const mesh = emptyMesh();
  for (const m of meshInputs) texts.set(m.file, m.text);
  readMeshConfigs(meshInputs, mesh, loadDocuments);
  const loadedFiles: LoadedFile[] = inputs.map((i) => {
    texts.set(i.file, i.text);
    return loadDocuments(i.text, i.file);
  });
  for (const l of loadedFiles) readMeshDocuments(l, mesh);

  const opts = defaultOptions(mesh);
  opts.namespaces = new Map(loadedFiles.flatMap((l) => namespacesIn(l)).map((n) => [n.name, n]));
  if (flags.appShutdownSeconds !== undefined) opts.appShutdownSeconds = flags.appShutdownSeconds;
  opts.kubeVersion = flags.kubeVersion;
  if (flags.istioVersion) {
    opts.istioVersion = flags.istioVersion;
    opts.istioVersionSource = '--istio-version';
  } else if (mesh.istioVersion) {
    opts.istioVersion = mesh.istioVersion.value;
    opts.istioVersionSource = mesh.istioVersion.source;
  }

  const rules = flags.rules ?? RULES;
  const findings: Finding[] = [];
  const seen = new Set<string>();
  let podCount = 0;
  const notes: string[] = [];
  for (const loaded of loadedFiles) {
    for (const { doc, value } of loaded.docs) {
      for (const site of podTemplateSites(value)) {
        const template = getPath(value, site.templatePath) as PodTemplate;
        // A partial object (a kustomize patch named alone) is not judged as a whole one (ADR 083); a
        // field the API server rejects is still bad input first, as in inject.
        refuseBadTemplate(loaded, doc, site, template);
        const fragment = patchFragment(site.kind, template);
        if (fragment) {
          const at = posOfPath(loaded, doc, [...site.templatePath, ...fragment.path]);
          notes.push(`${at.file}:${at.line}:${at.col}: ${siteName(site)}: ${patchFragmentNote(fragment.why)}`);
          continue;
        }
        const pod = podView(loaded, doc, site, template, opts);
        podCount++;
        for (const rule of rules) {
          rule.check(pod, opts, (r) => {
            const f: Finding = {
              rule: rule.id,
              severity: r.severity ?? rule.severity,
              message: `${siteName(site)}: ${r.message}`,
              file: r.at.file,
              line: r.at.line,
              column: r.at.column,
              fix: r.fix ?? rule.fix,
              ...(r.at.length ? { length: r.at.length } : {}),
            };
            const key = `${f.rule}\u0000${f.file}\u0000${f.line}\u0000${f.column}\u0000${f.message}`;
            if (seen.has(key)) return;
            seen.add(key);
            findings.push(f);
          });
        }
      }
    }
  }
  const order = new Map(inputs.map((i, n) => [i.file, n]));
  findings.sort(
    (a, b) =>
      (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.rule.localeCompare(b.rule),
  );
  const documentCount = loadedFiles.reduce((n, l) => n + manifestCount(l), 0);
  return { findings, texts, podCount, documentCount, notes, options: opts };
}

/** Do the findings reach the --fail-on threshold? */
export function failsAt(findings: readonly Finding[], failOn: Severity): boolean {
  return findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]);
}
