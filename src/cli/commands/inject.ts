import { relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT, UsageError } from '../../errors.js';
import { injectText, noteLines, type InjectResult } from '../../inject/inject.js';
import { readText, writeAtomic } from '../../io/files.js';
import { DEFAULT_POLICY } from '../../policy/policy.js';
import type { Ctx } from '../context.js';
import { CATALOG } from './catalog.js';
import { noteIfNoManifests, readManifestInputs } from '../inputs.js';
import { addModeContextOptions, readMeshInputs, readMeshSettings, runVersions, shutdownContextOf } from '../mode-context.js';
import { scanNamespaces } from '../../mesh/namespaces.js';
import { ANNOTATIONS, DEFAULT_INJECT_TEMPLATES, INJECTOR_ANNOTATIONS } from '../../istio/facts.js';
import { DEFAULT_TEMPLATE_NAME } from '../../constants.js';

interface InjectFlags {
  config?: string;
  output?: string;
  inPlace?: boolean;
  check?: boolean;
  diff?: boolean;
  recursive?: boolean;
  via?: 'annotation' | 'override' | 'template';
  verbose?: boolean;
  explain?: boolean;
  meshConfig?: string[];
  kubeVersion?: string;
  istioVersion?: string;
}

const EXAMPLES = `
Examples:
  meshdrain inject deploy.yaml                      # edited manifests on stdout
  meshdrain inject -R -i k8s/                       # edit every manifest under k8s/ in place
  meshdrain inject --check -R k8s/                  # CI: exit 1 and list what would change
  meshdrain inject --diff -R k8s/                   # CI: the same, as a unified diff (git apply reads it)
  meshdrain inject -c shutdown-policy.yaml app.yaml # with a policy (ShutdownPolicy or legacy format)
  kustomize build overlays/prod | meshdrain inject | kubectl apply -f -
  helm install web ./chart --post-renderer meshdrain --post-renderer-args inject

Exit codes: 0 done (or nothing to change with --check/--diff), 1 --check/--diff found changes, 2 bad input.`;

export function registerInject(program: Command, ctx: Ctx): void {
  const cmd = program.command('inject');
  cmd
    .summary(CATALOG.inject.summary)
    .description(
      'Edit Kubernetes manifests so that at pod shutdown the Istio sidecar waits for the application and the grace period covers the whole shutdown. Comments and formatting are kept; running it twice changes nothing. Reads stdin when no PATH is given (a Helm post-renderer as it is).',
    )
    .argument('[paths...]', 'manifest files or directories (.yaml, .yml, .json), or - for stdin')
    .option('-c, --config <file>', 'shutdown policy (meshdrain.dev/v1alpha1 ShutdownPolicy, or the legacy kind → name → container → command map)')
    .option('-o, --output <file>', 'write all output to this file (atomically) instead of stdout')
    .option('-i, --in-place', 'rewrite each changed input file (atomically)')
    .option('--check', 'write nothing; list what would change and exit 1 if anything would')
    .option('--diff', 'write nothing; print a unified diff of what would change and exit 1 if anything would')
    .option('-R, --recursive', 'read directories recursively')
    .addOption(
      new Option(
        '--via <how>',
        'how the proxy settings reach istio-proxy: the proxy.istio.io/overrides annotation (default; inert where no injection happens), an override stub container (only where injection is known to happen), or a custom injection template (istiod must have it)',
      ).choices(['annotation', 'override', 'template']),
    )
    .option('-v, --verbose', 'say on stderr what was passed through untouched')
    .option('--explain', "say on stderr, per workload, its data-plane mode (classic, native, ambient, gateway, none, unknown), why, and what meshdrain wrote")
    .addHelpText('after', EXAMPLES);
  addModeContextOptions(cmd);
  cmd.action(async (paths: string[], flags: InjectFlags) => {
      const { io } = ctx;
      if (flags.inPlace && flags.output) throw new UsageError('use either -i/--in-place or -o/--output, not both');
      if (flags.check && (flags.inPlace || flags.output)) throw new UsageError('--check writes nothing; drop -i/-o, or drop --check');
      if (flags.diff && (flags.inPlace || flags.output)) throw new UsageError('--diff writes nothing; drop -i/-o, or drop --diff');
      if (flags.diff && flags.check) throw new UsageError('--check lists the changes and --diff shows them: give one');
      if (flags.output === '-') flags.output = undefined; // -o - is stdout, as everywhere
      const inputs = await readManifestInputs(paths, io, Boolean(flags.recursive));
      if (flags.inPlace && inputs.some((i) => i.path === '-')) throw new UsageError('-i/--in-place needs files, not stdin');
      // A KRM function call (kpt, kustomize): a ResourceList in, a ResourceList with results out.
      const krm = inputs.length === 1 && !flags.check && !flags.diff && !flags.inPlace && (await import('../../krm/detect.js')).looksLikeResourceList(inputs[0]!.text);
      // What a manifest cannot tell, once for the run (the KRM door takes it too); Namespace objects of every input are evidence.
      const mesh = readMeshSettings(await readMeshInputs(flags, io));
      const run = shutdownContextOf(runVersions(flags, mesh), mesh);
      if (krm && (await (await import('../krm.js')).injectKrm(inputs[0]!, { ...run, via: flags.via, config: flags.config, output: flags.output, verbose: flags.verbose }, ctx))) return;
      // zod is loaded only when there is a policy to validate.
      const policy = flags.config ? (await import('../../policy/load.js')).loadPolicyFile(flags.config, io.cwd) : DEFAULT_POLICY;

      const namespaces = scanNamespaces(inputs);

      // Everything is computed before anything is written: a bad file leaves every output untouched.
      const results: InjectResult[] = inputs.map((i) => injectText(i.text, i.file, { ...run, policy, via: flags.via, namespaces }));
      noteIfNoManifests(results.reduce((n, r) => n + r.documents, 0), inputs, io);
      for (const n of noteLines(results, flags.verbose)) io.stderr(`meshdrain: ${n}\n`);
      if (flags.verbose) for (const r of results) for (const n of r.verbose) io.stderr(`meshdrain: ${n}\n`);
      const modes = results.flatMap((r) => r.modes);
      if (flags.explain) for (const m of modes) io.stderr(`meshdrain: ${m.file}:${m.line}:${m.col}: ${m.workload}: ${m.mode}: ${m.reason}; wrote: ${m.wrote}\n`);
      // Only where something istio-proxy-specific was written: a Job's nativeSidecar request alone is no carrier.
      const unknown = modes.filter((m) => m.mode === 'unknown' && m.carriers.length > 0);
      if (unknown.length && !flags.explain) {
        io.stderr(
          `meshdrain: ${unknown.length} workload(s) may or may not get an Istio sidecar (the input has no Namespace that decides it, or the sidecar kind needs --istio-version/--kube-version/--mesh-config): what meshdrain wrote for istio-proxy (the ${INJECTOR_ANNOTATIONS.overrides} annotation, a template selection) does nothing where no injection happens; --explain says why per workload\n`,
        );
      }
      if (modes.some((m) => m.carriers.includes('template'))) {
        const name = policy.template?.name ?? DEFAULT_TEMPLATE_NAME;
        // The annotation replaces the injector's defaultTemplates for the pod (inject.go selectTemplates).
        const defaults = mesh.defaultTemplates
          ? ''
          : `; a pod that had no ${ANNOTATIONS.templates} now names "${DEFAULT_INJECT_TEMPLATES.join(',')},${name}", which replaces the injector's defaultTemplates for it: if yours are not [${DEFAULT_INJECT_TEMPLATES.join(', ')}], give that ConfigMap with --mesh-config`;
        io.stderr(
          `meshdrain: --via template: istiod refuses a pod whose requested template is not installed ("requested template not found"); install it first (meshdrain istio template) and check: kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath='{.data.config}' | grep -n '^  ${name}:'  (or lint --mesh-config with that ConfigMap)${defaults}\n`,
        );
      }

      if (flags.check) {
        // In file order, then line and column: a document's edits are collected per kind, not per place.
        const changes = results.flatMap((r) => [...r.changes].sort((a, b) => a.line - b.line || a.col - b.col));
        for (const c of changes) io.stdout(`${c.file}:${c.line}:${c.col}: ${c.workload}: would ${c.what}\n`);
        const files = results.filter((r) => r.changed).length;
        io.stderr(files ? `meshdrain: ${files} of ${results.length} file(s) would change\n` : `meshdrain: ${results.length} file(s) up to date\n`);
        ctx.setExit(files ? EXIT.findings : EXIT.ok);
        return;
      }
      if (flags.diff) {
        // git's a/ b/ names, paths relative to where meshdrain runs: `git apply` and review tools read it.
        const { createTwoFilesPatch } = await import('diff');
        const changed = results.map((r, i) => ({ r, input: inputs[i]! })).filter(({ r }) => r.changed);
        for (const { r, input } of changed) {
          const before = input.text;
          const name = input.path === '-' ? 'stdin' : relative(io.cwd, resolve(io.cwd, input.path)).split(sep).join('/');
          io.stdout(createTwoFilesPatch(`a/${name}`, `b/${name}`, before, r.output, undefined, undefined, { context: 3 }).replace(/^=+\n/, ''));
        }
        io.stderr(changed.length ? `meshdrain: ${changed.length} of ${results.length} file(s) would change\n` : `meshdrain: ${results.length} file(s) up to date\n`);
        ctx.setExit(changed.length ? EXIT.findings : EXIT.ok);
        return;
      }
      if (flags.inPlace) {
        const changed = results.filter((r) => r.changed);
        for (const r of changed) writeAtomic(r.file, r.output, io.cwd);
        if (flags.verbose || changed.length) io.stderr(`meshdrain: updated ${changed.length} of ${results.length} file(s)\n`);
        return;
      }
      const combined = joinOutputs(results.map((r) => r.output));
      if (flags.output) writeAtomic(flags.output, combined, io.cwd);
      else io.stdout(combined);
    });
}

/** Concatenate several files' output as one YAML stream. */
function joinOutputs(outputs: string[]): string {
  if (outputs.length <= 1) return outputs[0] ?? '';
  return outputs.map((o) => (o.endsWith('\n') || o === '' ? o : `${o}\n`)).map((o, i) => (i > 0 && !/^---/.test(o) ? `---\n${o}` : o)).join('');
}
