import { Option, type Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import { readText } from '../../io/files.js';
import { DEFAULT_HOLD_LINGER_MS, DEFAULT_SHELL_IMAGE, DEFAULT_WAIT_FOR, DEFAULT_INTERVAL_MS } from '../../constants.js';
import { ANNOTATIONS, DEFAULT_GRACE_SECONDS } from '../../istio/facts.js';
import { DEFAULT_APP_DELAY_SECONDS, DEFAULT_APP_SHUTDOWN_SECONDS } from '../../plan/budget.js';
import { formatDuration } from '../../model/duration.js';
import { BUILTIN_CATALOG, buildCatalog, clusterHoldGraceSeconds, defaultHoldTimeoutMs, holdFromOptions } from '../../istio/holds.js';
import { patchInjectorConfigMap, type InjectorMode } from '../../istio/injector.js';
import { addTemplateToConfigMap } from '../../istio/template-configmap.js';
import {
  checkTemplateName,
  DEFAULT_TEMPLATE_NAME,
  renderInjectionTemplate,
  renderTemplateOutput,
  nativeCheckProblem,
  type NativeCheck,
  type TemplateFormat,
} from '../../istio/template.js';
import type { Ctx } from '../context.js';
import { templateHold, templateNativeDrain } from '../../plan/facts.js';
import type { HoldSpec } from '../../plan/types.js';
import { CATALOG } from './catalog.js';
import { emptyMesh, readMeshDocuments, type MeshSettings } from '../../lint/mesh.js';
import { loadDocuments } from '../../yaml/load.js';
import { distrolessSource, distrolessSourceWords } from '../../istio/image-type.js';


const collect = (v: string, prev: string[] = []) => [...prev, v];

interface HoldFlags {
  waitFor?: string[];
  timeout?: string;
  interval?: string;
}

interface PatchFlags extends HoldFlags {
  mode: InjectorMode;
  config?: string;
  annotation?: string;
  waitForAnnotation?: string;
  allow?: string[];
}

interface TemplateFlags extends HoldFlags {
  config?: string;
  name?: string;
  shellImage?: string;
  format: TemplateFormat;
  nativeCheck: NativeCheck;
}

const PATCH_HELP = `
Examples:
  kubectl -n istio-system get cm istio-sidecar-injector -o yaml \\
    | meshdrain istio injector-patch --mode annotation | kubectl apply -f -
  meshdrain istio injector-patch cm.yaml --mode global --wait-for app-listeners --timeout 25s > patched.yaml

  Then, per pod (annotation mode):
    meshdrain.dev/wait-for: app-listeners            # a hold from the catalog (see --allow)
    sidecar.istio.io/preStopCommand: "sleep 5"       # raw shell, the older recipe

Catalog (annotation mode): ${BUILTIN_CATALOG.join(', ')}, plus every --allow entry;
several strategies in one value are separated by ";" (e.g. "ports=8080;file=/tmp/busy").
Each entry holds at most its own default (or --timeout), never less than its sleep; an entry that
needs more than Kubernetes' default ${DEFAULT_GRACE_SECONDS}s grace period is named on stderr, and
meshdrain lint --mesh-config <patched ConfigMap> judges the hold each pod selects.
An unknown value gets the default hold (--wait-for), and says so in the hook's first log line.

Helm and istioctl overwrite a hand-patched ConfigMap on upgrade; the durable route is
\`meshdrain istio template\` (a custom injection template in the install's values).
Exit codes: 0 done, 2 bad input (not the injector, no lifecycle block, bad YAML/JSON).`;

const TEMPLATE_HELP = `
Examples:
  meshdrain istio template > meshdrain-values.yaml
  helm upgrade istiod istio/istiod -n istio-system --reuse-values -f meshdrain-values.yaml
  meshdrain istio template --format istio-operator --wait-for ports=8080 > overlay.yaml
  kubectl -n istio-system get cm istio-sidecar-injector -o yaml \\
    | meshdrain istio template --format configmap - | kubectl apply -f -

Pods opt in with:  inject.istio.io/templates: "sidecar,meshdrain"
(\`meshdrain inject --via template\` writes that annotation instead of the istio-proxy stub).`;

function addHoldOptions(cmd: Command): Command {
  return cmd
    .option('-w, --wait-for <strategy>', `what the hold waits for (repeatable): app-listeners | app-connections | ports=8080,9090 | http=URL | file=/path | sleep=10s (default ${DEFAULT_WAIT_FOR.join(' + ')}, released after ${formatDuration(DEFAULT_HOLD_LINGER_MS)} with nothing held)`, collect)
    .option(
      '--timeout <duration>',
      `give up holding after this long (default: the longest hold that, with the drain still to come after it, ends before the margin of Kubernetes' default ${DEFAULT_GRACE_SECONDS}s grace period: ${formatDuration(defaultHoldTimeoutMs())} for the default hold, which asks pilot-agent to drain at its start and covers inject's estimate of the app (${DEFAULT_APP_DELAY_SECONDS}s delay + ${DEFAULT_APP_SHUTDOWN_SECONDS}s shutdown); ${formatDuration(defaultHoldTimeoutMs(['app-listeners']))} for a --wait-for without app-connections)`,
    )
    .option('--interval <duration>', `time between polls (default ${formatDuration(DEFAULT_INTERVAL_MS)})`);
}

function holdOf(f: HoldFlags) {
  return holdFromOptions({ waitFor: f.waitFor, timeout: f.timeout, interval: f.interval });
}


/**
 * The template settings from the policy's `template:` section: the hold `meshdrain inject -c POLICY
 * --via template` sizes grace periods with (plan/facts.ts templateHold), so the template installed and
 * the grace periods written cannot differ. A flag for one of those settings beside -c is refused
 * (exit 2), set or not in the policy: inject -c POLICY would never see it (ADR 087).
 */
async function templateFromPolicy(ctx: Ctx, flags: TemplateFlags): Promise<{ name?: string; shellImage?: string; hold: HoldSpec; nativeDrain: { delaySeconds: number } | null }> {
  const given = (['name', 'waitFor', 'timeout', 'interval', 'shellImage'] as const).filter((k) => flags[k] !== undefined);
  if (given.length) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(
      `${given.map(flag).join(', ')} with -c ${flags.config}: the template's settings come from the policy's template: section, which meshdrain inject -c ${flags.config} --via template sizes grace periods with; set template.${given.join(', template.')} there instead`,
    );
  }
  const { loadPolicyFile } = await import('../../policy/load.js');
  const policy = loadPolicyFile(flags.config!, ctx.io.cwd);
  return {
    name: policy.template?.name,
    shellImage: policy.template?.shellImage,
    hold: templateHold(policy),
    // Native pods: the drain inject writes under this policy's defaults (one derivation, plan/facts.ts).
    nativeDrain: templateNativeDrain(policy),
  };
}

async function readInput(ctx: Ctx, file: string | undefined): Promise<{ text: string; name: string }> {
  if (file === undefined || file === '-') {
    if (file === undefined && ctx.io.isStdinTTY) throw new UsageError('no input: give the injector ConfigMap as FILE or on stdin (kubectl -n istio-system get cm istio-sidecar-injector -o yaml | ...)');
    return { text: await ctx.io.readStdin(), name: '<stdin>' };
  }
  return { text: readText(file, ctx.io.cwd), name: file };
}

/**
 * What the injector ConfigMap says of the mesh (one reader of mesh settings: lint/mesh.ts), as far as
 * it reads: the commands' own errors for a bad ConfigMap come from their own readers, and what is read
 * here only adds a warning or a refusal (a value lint would refuse leaves the rest unread).
 */
function injectorMesh(text: string, name: string): MeshSettings {
  const mesh = emptyMesh();
  try {
    readMeshDocuments(loadDocuments(text, name), mesh);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
  }
  return mesh;
}

/**
 * A mesh whose proxies are distroless by default (global.variant, or the mesh's ProxyConfig
 * image.imageType; istio/image-type.ts, the decision lint uses): a hold run by /bin/sh cannot start
 * there. Said as lint's shell-hook-distroless says it, with the remedy this door has (QA 9 F8).
 */
function distrolessWarning(mesh: MeshSettings, remedy: string): string | null {
  const src = distrolessSource({ proxyConfigImageType: mesh.defaultConfig.imageType?.value, meshVariant: mesh.variant?.value });
  if (!src) return null;
  const at = (src === 'mesh-variant' ? mesh.variant : mesh.defaultConfig.imageType)!.at;
  return `${at.file}:${at.line}:${at.column}: the mesh's istio-proxy uses the distroless image (${distrolessSourceWords(src)}), which has no shell: this hold's preStop (/bin/sh) cannot start, the kubelet logs FailedPreStopHook and the proxy stops without a hold (meshdrain lint: shell-hook-distroless); ${remedy}`;
}

export function registerIstio(program: Command, ctx: Ctx): void {
  const istio = program
    .command('istio')
    .summary(CATALOG.istio.summary)
    .description('Make Istio itself inject the meshdrain hold: patch the sidecar injector ConfigMap, or emit a custom injection template.')
    .addHelpText(
      'after',
      `
Examples:
  meshdrain istio template > meshdrain-values.yaml     # a custom injection template for istiod's Helm values
  kubectl -n istio-system get cm istio-sidecar-injector -o yaml | meshdrain istio injector-patch | kubectl apply -f -

See meshdrain istio template --help and meshdrain istio injector-patch --help.`,
    );

  addHoldOptions(
    istio
      .command('injector-patch')
      .summary('add the hold to the istio-sidecar-injector ConfigMap (global or per-pod annotation)')
      .description(
        'Read the istio-sidecar-injector ConfigMap (Istio 1.5 config.template … current config.templates.sidecar) and print it patched on stdout, every other byte kept. ' +
          'global: every injected istio-proxy gets the hold (global.proxy.lifecycle in data.values). ' +
          'annotation: the injection template gains a branch so a pod annotation selects a preStop. Patching twice changes nothing.',
      )
      .argument('[file]', 'the ConfigMap as YAML (kubectl get cm -o yaml), or - for stdin'),
  )
    .addOption(new Option('--mode <mode>', 'global: every pod; annotation: pods that ask').choices(['global', 'annotation']).default('annotation'))
    .option('--annotation <name>', 'the raw-command annotation the template accepts', ANNOTATIONS.legacyPreStop)
    .option('--wait-for-annotation <name>', 'the wait-strategy annotation the template accepts', 'meshdrain.dev/wait-for')
    .option('--allow <strategies>', 'add a catalog entry for the wait-strategy annotation (repeatable; "a;b" = hold while any)', collect)
    .option('-c, --config <policy>', "annotation mode: native pods that ask get the drain `meshdrain inject -c POLICY` writes under that policy (app.delay; proxy.nativeDrain: istio keeps Istio's), as `istio template -c` (default: the default policy's)")
    .addHelpText('after', PATCH_HELP)
    .action(async (file: string | undefined, flags: PatchFlags) => {
      if (flags.config !== undefined && flags.mode !== 'annotation') throw new UsageError('-c/--config sets the native drain of the annotation branch; --mode global writes global.proxy.lifecycle for every pod and has none');
      // The native drain from the policy, as the custom template and inject take it (one derivation, plan/facts.ts).
      const nativeDrain = flags.config ? templateNativeDrain((await import('../../policy/load.js')).loadPolicyFile(flags.config, ctx.io.cwd)) : undefined;
      const { text, name } = await readInput(ctx, file);
      const hold = holdOf(flags);
      const result = patchInjectorConfigMap(text, name, {
        ...(nativeDrain !== undefined ? { nativeDrain } : {}),
        mode: flags.mode,
        hold,
        commandAnnotation: flags.annotation,
        waitForAnnotation: flags.waitForAnnotation,
        catalog: flags.allow,
        timeoutNamed: flags.timeout !== undefined,
      });
      // Which holds need more than Kubernetes' default grace period, so pods that select one know (ADR 086).
      if (flags.mode === 'annotation') {
        const long = buildCatalog(hold, flags.allow ?? [], true, flags.timeout !== undefined)
          .map((e) => ({ key: e.keys[0]!, need: clusterHoldGraceSeconds(e.hold) }))
          .filter((e) => e.need > DEFAULT_GRACE_SECONDS);
        if (long.length) ctx.io.stderr(`meshdrain: note: ${long.map((e) => `${flags.waitForAnnotation ?? ANNOTATIONS.waitFor}: ${e.key} needs terminationGracePeriodSeconds ≥ ${e.need}s`).join('; ')}: Kubernetes' default ${DEFAULT_GRACE_SECONDS}s SIGKILLs istio-proxy before its drain ends (meshdrain lint --mesh-config with this ConfigMap checks each pod)\n`);
      }
      ctx.io.stdout(result.text);
      for (const n of result.notes) ctx.io.stderr(`meshdrain: ${n}\n`);
      for (const w of result.warnings) ctx.io.stderr(`meshdrain: warning: ${w}\n`);
      // A distroless mesh: the patch's /bin/sh hold cannot start there, and it has no shell to bring (QA 9 F8).
      const distroless = distrolessWarning(
        injectorMesh(text, name),
        `use \`meshdrain istio template --shell-image ${DEFAULT_SHELL_IMAGE}\` (an init container brings busybox's sh) or \`meshdrain inject\` (policy proxy.shell: init-container) instead, or pods with ${ANNOTATIONS.proxyImageType}: default`,
      );
      if (distroless) ctx.io.stderr(`meshdrain: warning: ${distroless}\n`);
    });

  addHoldOptions(
    istio
      .command('template')
      .summary('emit a custom injection template that adds the hold to istio-proxy')
      .description(
        'Print a custom Istio injection template (sidecarInjectorWebhook.templates.<name>) that strategic-merges the meshdrain hold into istio-proxy. ' +
          'Pods select it with inject.istio.io/templates: "sidecar,<name>". With --format configmap, reads the injector ConfigMap and adds the template to it.',
      )
      .argument('[file]', 'with --format configmap: the injector ConfigMap (or - for stdin)'),
  )
    .option('-c, --config <policy>', "take the template's hold from a ShutdownPolicy's template: section (the one `meshdrain inject -c POLICY --via template` sizes grace periods with)")
    .option('--name <name>', `template name (default ${DEFAULT_TEMPLATE_NAME})`)
    .option('--shell-image <image>', `distroless proxies: also add an init container that copies busybox (sh, sleep) from this image into an emptyDir for the hold (e.g. ${DEFAULT_SHELL_IMAGE}; --format configmap warns on a distroless mesh without it)`)
    .addOption(new Option('--format <format>', 'where it goes').choices(['helm-values', 'istio-operator', 'configmap', 'raw']).default('helm-values'))
    .addOption(
      new Option('--native-check <how>', 'how native-sidecar pods (no hold; meshdrain\'s native drain, or Istio\'s with the policy\'s proxy.nativeDrain: istio) are recognized: field = as Istio\'s own template does from 1.27 (pod annotation, else istiod\'s .NativeSidecars, which Istio < 1.27 lacks: every pod selecting the template is refused there; --format configmap refuses field for such an injector), annotation = only sidecar.istio.io/nativeSidecar: "true" (Istio < 1.27), off = never')
        .choices(['field', 'annotation', 'off'])
        .default('field'),
    )
    .addHelpText('after', TEMPLATE_HELP)
    .action(async (file: string | undefined, flags: TemplateFlags) => {
      const t = flags.config ? await templateFromPolicy(ctx, flags) : flags;
      const hold = 'hold' in t ? t.hold : holdOf(flags);
      const opts = { name: checkTemplateName(t.name ?? DEFAULT_TEMPLATE_NAME), hold, nativeCheck: flags.nativeCheck, shellImage: t.shellImage, nativeDrain: 'nativeDrain' in t ? t.nativeDrain : templateNativeDrain(null) };
      const need = clusterHoldGraceSeconds(hold);
      if (need > DEFAULT_GRACE_SECONDS) {
        ctx.io.stderr(`meshdrain: note: the template's hold (timeout ${formatDuration(hold.timeoutMs)}${hold.drainAtStart ? '' : ", then Istio's drain"}) needs terminationGracePeriodSeconds ≥ ${need}s; pods left at Kubernetes' default ${DEFAULT_GRACE_SECONDS}s are SIGKILLed before istio-proxy is done (meshdrain inject --via template writes the grace period)\n`);
      }
      if (flags.format !== 'configmap') {
        if (file !== undefined) throw new UsageError(`a FILE is read only with --format configmap`);
        ctx.io.stdout(renderTemplateOutput(flags.format, opts));
        return;
      }
      const { text, name } = await readInput(ctx, file);
      const mesh = injectorMesh(text, name);
      const sidecar = mesh.templates.get('sidecar');
      const problem = nativeCheckProblem(flags.nativeCheck, { sidecarTemplate: sidecar?.value, istioVersion: mesh.istioVersion?.value });
      if (problem) {
        const at = (sidecar ?? mesh.istioVersion)!.at;
        throw new InputError(problem, { file: at.file, line: at.line, col: at.column });
      }
      const r = addTemplateToConfigMap(text, name, opts.name, renderInjectionTemplate(opts));
      ctx.io.stdout(r.text);
      for (const n of r.notes) ctx.io.stderr(`meshdrain: ${n}\n`);
      const distroless = opts.shellImage ? null : distrolessWarning(mesh, flags.config ? `set template.shellImage: ${DEFAULT_SHELL_IMAGE} in ${flags.config} (an init container brings busybox's sh)` : `add --shell-image ${DEFAULT_SHELL_IMAGE} (an init container brings busybox's sh)`);
      if (distroless) ctx.io.stderr(`meshdrain: warning: ${distroless}\n`);
      ctx.io.stderr(
        `meshdrain: warning: a hand-edited istio-sidecar-injector ConfigMap is overwritten by the next helm upgrade / istioctl install; put the template in your install values instead (--format helm-values or istio-operator)\n`,
      );
    });
}
