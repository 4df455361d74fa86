import { Option, type Command } from 'commander';
import { EXIT } from '../../errors.js';
import { parseDuration } from '../../model/duration.js';
import { failsAt, lint, type LintInput } from '../../lint/engine.js';
import { DEFAULT_APP_SHUTDOWN_SECONDS } from '../../plan/budget.js';
import { renderJson } from '../../lint/report/json.js';
import { renderSarif } from '../../lint/report/sarif.js';
import { renderText } from '../../lint/report/text.js';
import { RULES } from '../../lint/rules/index.js';
import { DOCS_BASE_URI } from '../../lint/docs.js';
import type { Severity } from '../../lint/types.js';
import type { Ctx } from '../context.js';
import { CATALOG } from './catalog.js';
import { addModeContextOptions, readMeshInputs, runVersions } from '../mode-context.js';
import { emptyMesh } from '../../lint/mesh.js';
import { noteIfNoManifests, readManifestInputs, type ManifestInput } from '../inputs.js';

interface LintFlags {
  meshConfig?: string[];
  kubeVersion?: string;
  istioVersion?: string;
  format: 'text' | 'json' | 'sarif';
  failOn: Severity;
  appShutdown?: string;
  color?: boolean;
  listRules?: boolean;
  verbose?: boolean;
}

const EXAMPLES = `
Examples:
  meshdrain lint k8s/                                   # every .yaml/.yml/.json under k8s/
  meshdrain lint deploy.yaml --mesh-config istio-operator.yaml --kube-version 1.30 --istio-version 1.24
  helm template web ./chart | meshdrain lint -f json    # stdin, JSON findings
  meshdrain lint -f sarif k8s/ > meshdrain.sarif        # for GitHub code scanning
  meshdrain lint --fail-on warning k8s/                 # CI: warnings fail too
  meshdrain lint --list-rules

Mesh settings (--mesh-config, repeatable; also picked up from the linted files): an IstioOperator,
Helm values, the istio mesh ConfigMap (data.mesh) or the istio-sidecar-injector ConfigMap (data.values).
Rules: --list-rules; each rule's page is ${DOCS_BASE_URI}<id> (the SARIF helpUri). Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 bad input.`;

export function registerLint(program: Command, ctx: Ctx): void {
  const cmd = program.command('lint');
  addModeContextOptions(cmd);
  cmd
    .summary(CATALOG.lint.summary)
    .description(
      'Check manifests (and optionally the mesh config) for shutdown problems: a grace period that does not cover app delay + hold + drain, a proxy that exits before the app, fragile or never-ending hold hooks, drain settings Istio ignores, Jobs with classic sidecars, shell hooks on distroless proxies. Directories are read recursively; no PATH or - reads stdin.',
    )
    .argument('[paths...]', 'manifest files or directories (.yaml, .yml, .json), or - for stdin')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe').choices(['error', 'warning', 'info']).default('error'))
    .option('--app-shutdown <duration>', `how long apps take to stop after SIGTERM, for the budget (default ${DEFAULT_APP_SHUTDOWN_SECONDS}s)`)
    .option('-R, --recursive', 'accepted for symmetry with inject: directories are always read recursively')
    .option('--color', 'color the text report')
    .option('--list-rules', 'list the rules and exit')
    .option('-v, --verbose', 'say on stderr which mesh settings and versions were used')
    .addHelpText('after', EXAMPLES)
    .action(async (paths: string[], flags: LintFlags) => {
      const { io } = ctx;
      if (flags.listRules) {
        for (const r of RULES) io.stdout(`${r.id.padEnd(26)} ${r.severity.padEnd(8)} ${r.description}\n`);
        return;
      }
      const inputs: LintInput[] = await readManifestInputs(paths, io, true);
      const mesh: LintInput[] = await readMeshInputs(flags, io);
      const runLint = (f: LintFlags, files: LintInput[]) =>
        lint(files, mesh, {
          ...runVersions(f, emptyMesh()),
          appShutdownSeconds: f.appShutdown !== undefined ? parseDuration(f.appShutdown, '--app-shutdown') / 1000 : undefined,
        });
      // A KRM validator call (kpt, kustomize): a ResourceList in, the same items with results out.
      const krm = inputs.length === 1 && flags.format === 'text' && (await import('../../krm/detect.js')).looksLikeResourceList(inputs[0]!.text);
      if (krm && (await (await import('../krm.js')).lintKrm(inputs[0] as ManifestInput, flags, runLint, ctx))) return;

      const result = runLint(flags, inputs);
      const none = noteIfNoManifests(result.documentCount, inputs, io);
      if (flags.format === 'json') io.stdout(renderJson(result.findings));
      else if (flags.format === 'sarif') io.stdout(renderSarif(result.findings, RULES, io.cwd));
      else io.stdout(renderText(result.findings, { texts: result.texts, color: Boolean(flags.color) }));
      for (const n of result.notes) io.stderr(`meshdrain: ${n}\n`);
      if (result.podCount === 0 && !none && !result.notes.length) io.stderr('meshdrain: no pod templates found in the input\n');
      if (flags.verbose) {
        const o = result.options;
        const v = (x?: { major: number; minor: number }) => (x ? `${x.major}.${x.minor}` : 'unknown');
        io.stderr(`meshdrain: ${result.podCount} pod template(s) in ${inputs.length} file(s); Kubernetes ${v(o.kubeVersion)}, Istio ${v(o.istioVersion)}${o.istioVersionSource ? ` (${o.istioVersionSource})` : ''}; app shutdown estimate ${o.appShutdownSeconds}s\n`);
        for (const src of o.mesh.sources) io.stderr(`meshdrain: mesh settings from ${src}\n`);
      }
      ctx.setExit(failsAt(result.findings, flags.failOn) ? EXIT.findings : EXIT.ok);
    });
}
