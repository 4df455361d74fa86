/**
 * The user's own workload as the lab runs it (`meshdrain lab --manifest FILE [--workload Kind/name]`):
 * the pod template read through the project's loader and lint's pod view (the same reading of hooks,
 * proxy config, native mode and the distroless variant), turned into what the lab's kubelet runs, the
 * rollout shape, and a decision per hook: run as written, stood in for, or not run, each with a reason.
 * Pure (no I/O); errors are InputErrors naming file:line:col (exit 2). ADR 070.
 */
import type { Document } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import type { Loc } from '../lint/locate.js';
import { ANNOTATIONS, AGENT_QUIT_PATH, ISTIO_TEMPLATES, AGENT_STATUS_PORT, DEFAULT_MINIMUM_DRAIN_SECONDS, ENVOY_ADMIN_PORT, DEFAULT_TERMINATION_DRAIN_SECONDS, ISTIO_PORTS, NATIVE_DRAIN_PRESTOP, PROXY_CONTAINER } from '../istio/facts.js';
import { defaultOptions, type LintOptions } from '../lint/options.js';
import { emptyMesh } from '../lint/mesh.js';
import { lintContext, podView, type ContainerView, type PodView } from '../lint/pod.js';
import { getPath, isRecord, podTemplateSites, siteName, type PodTemplate, type PodTemplateSite } from '../model/workload.js';
import { formatDuration } from '../model/duration.js';
import { loadDocuments, posOfPath, type LoadedFile } from '../yaml/load.js';
import { capReplicas, resolveFenceposts, scaleIntOrPercent, type IntOrPercent, type RolloutShape } from './rollout.js';
import { parseOverrides, proxyOverride } from '../istio/overrides.js';
import { podShutdownFacts, type ProxyQuit, type ShutdownContext } from '../plan/facts.js';
import { proxyShellVolumes } from './shell-volume.js';
import { execsPilotAgent, VARIANT_PROGRAMS, type BusyboxDir } from './hook-root.js';
import { podTemplates, type NamespaceEvidence } from '../mesh/mode.js';
import { APP_METRICS_PORT, APP_PORT, LABELS, labDataPlaneMode, type HttpGetPreStop, type LabMode, type LabPodSpec, type LabPreStop, type ProxyVariant } from './pod-spec.js';

export { PROXY_VARIANTS, type HttpGetPreStop, type ProxyVariant } from './pod-spec.js';

/** Kinds the lab can roll (a Pod, ReplicaSet or Job has no rolling update to replay). */
export const ROLLABLE_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'];

/** What the lab does with one preStop of the user's pod. */
export interface HookDecision {
  container: string;
  /** file:line:col of the handler. */
  at: string;
  action: 'run' | 'sleep' | 'stand-in' | 'not-run' | 'http-get';
  why: string;
}

export type ManifestPreStop = LabPreStop;

export interface ManifestLabPod {
  file: string;
  /** "Deployment/web". */
  workload: string;
  spec: LabPodSpec;
  rollout: RolloutShape;
  /** TCP containerPorts of the app containers (Istio's own ports left out). */
  appPorts: number[];
  /** The app container the lab's app stands for. */
  appContainer: string;
  proxyVariant: { value: ProxyVariant; source: string };
  dataPlane: LabMode;
  /** The injection templates istiod runs for the pod (`inject.istio.io/templates`, else the mesh's defaultTemplates). */
  templates: string[];
  hooks: HookDecision[];
  notes: string[];
  /** The program istio-proxy's exec preStop starts that the proxy image's root lacks (the hook cannot start). */
  proxyHookMissing?: string;
}

/**
 * What a manifest cannot tell, given once for the run (`--istio-version`, `--kube-version`,
 * `--mesh-config`, parsed in cli/mode-context.ts as for inject and lint): as lint reads a pod, and as
 * inject runs (`--compare-inject`).
 */
export interface LabModeContext {
  lint: Pick<LintOptions, 'kubeVersion' | 'istioVersion' | 'istioVersionSource' | 'mesh'>;
  inject: ShutdownContext;
}

export interface ManifestOptions {
  /** `--workload Kind/name`. */
  workload?: string;
  /** `--app-prestop-time`: stands in for an app hook the lab cannot run. */
  appPrestopMs?: number;
  /** `--proxy-variant`; defaults from the pod as lint reads it. */
  proxyVariant?: ProxyVariant;
  maxReplicas?: number;
  /** `--replicas` given with --manifest: rolled in place of spec.replicas (still capped at maxReplicas). */
  replicas?: number;
  /** The run's mode context; default: none given (no versions, no mesh config). */
  context?: LabModeContext;
}

/** Commands any shell offers (builtins and the coreutils a sleep-style hook uses): not the app image's own program. */
const SHELL_ONLY = new Set(['sleep', 'echo', 'printf', 'true', 'false', ':', 'exit', 'test', '[', 'wait', 'sh', 'dash', 'ash', 'bash']);
const LOCAL_HOSTS = /^(localhost|127(\.\d+){3}|\[?::1\]?|0\.0\.0\.0|\$\{?(POD_IP|INSTANCE_IP|HOSTNAME)\}?)$/i;
/** Programs that act on the cluster or other hosts, not on the pod. */
const REMOTE_TOOLS = new Set(['kubectl', 'ssh', 'scp', 'nsenter', 'aws', 'gcloud', 'az']);

interface Found {
  loaded: LoadedFile;
  doc: Document.Parsed;
  obj: Record<string, unknown>;
  site: PodTemplateSite;
}

function findWorkload(loaded: LoadedFile, wanted: string | undefined): Found {
  const all: Found[] = [];
  for (const { doc, value } of loaded.docs) {
    if (!isRecord(value)) continue;
    for (const site of podTemplateSites(value)) all.push({ loaded, doc, obj: value, site });
  }
  const file = loaded.file;
  if (!all.length) throw new InputError('no workload with a pod template in the manifest; the lab rolls a Deployment, StatefulSet, DaemonSet or argoproj Rollout', { file, line: 1, col: 1 });
  const names = all.map((f) => siteName(f.site));
  let pick: Found | undefined;
  if (wanted !== undefined) {
    const [kind, name] = wanted.includes('/') ? wanted.split('/', 2) : [undefined, wanted];
    const hits = all.filter((f) => f.site.name === name && (kind === undefined || f.site.kind.toLowerCase() === kind!.toLowerCase()));
    if (hits.length !== 1) {
      throw new InputError(`--workload ${wanted}: ${hits.length ? 'matches several workloads; name the kind' : 'not in the manifest'} (found: ${names.join(', ')})`, { file, line: 1, col: 1 });
    }
    pick = hits[0];
  } else {
    const rollable = all.filter((f) => ROLLABLE_KINDS.includes(f.site.kind));
    if (all.length === 1) pick = all[0];
    else if (rollable.length === 1) pick = rollable[0];
    else throw new InputError(`${all.length} workloads in the manifest; pick one with --workload Kind/name (${names.join(', ')})`, { file, line: 1, col: 1 });
  }
  const f = pick!;
  if (!ROLLABLE_KINDS.includes(f.site.kind)) {
    const at = posOfPath(loaded, f.doc, [...f.site.templatePath.slice(0, f.site.templatePath.length - rel(f.site)), 'kind']);
    throw new InputError(`${siteName(f.site)}: the lab rolls ${ROLLABLE_KINDS.join(', ')}; a ${f.site.kind} has no rolling update to replay`, at);
  }
  return f;
}

/** Length of the kind's own template path, to find the object's root from a site inside a List. */
function rel(site: PodTemplateSite): number {
  return site.kind === 'Pod' ? 0 : site.kind === 'CronJob' ? 4 : 2;
}

const where = (p: Loc) => `${p.file}:${p.line}:${p.column}`;
const posOf = (p: Loc): SourcePos => ({ file: p.file, line: p.line, col: p.column });

/** Read the rollout fields of the workload and resolve them as its controller would. */
function rolloutOf(f: Found, maxReplicas: number | undefined, flagReplicas?: number): RolloutShape {
  const notes: string[] = [];
  const obj = f.obj;
  const kind = f.site.kind;
  const specReplicas = getPath(obj, ['spec', 'replicas']);
  let replicas = typeof specReplicas === 'number' && Number.isInteger(specReplicas) ? specReplicas : 1;
  if (flagReplicas !== undefined) {
    notes.push(`--replicas ${flagReplicas}: the lab rolls ${flagReplicas} pod(s) in place of the manifest's ${kind === 'DaemonSet' ? 'nodes' : `spec.replicas (${typeof specReplicas === 'number' ? specReplicas : 'unset: 1'})`}`);
    replicas = flagReplicas;
  } else if (kind === 'DaemonSet') {
    replicas = 3;
    notes.push('DaemonSet: the lab rolls 3 nodes\' pods');
  }
  if (replicas < 1) {
    notes.push(`replicas ${replicas}: the lab rolls 1 pod (nothing to roll at 0)`);
    replicas = 1;
  }
  replicas = capReplicas(replicas, notes, maxReplicas);
  const field = (path: (string | number)[], dflt: IntOrPercent, roundUp: boolean): number => {
    const raw = getPath(obj, path);
    const v: IntOrPercent = typeof raw === 'number' || typeof raw === 'string' ? raw : dflt;
    const n = scaleIntOrPercent(v, replicas, roundUp);
    if (n === undefined) throw new InputError(`${path.join('.')} must be a whole number or a percentage like 25%`, posOfPath(f.loaded, f.doc, path));
    return Math.min(n, replicas);
  };
  // Defaults: Deployment 25%/25% (kubernetes pkg/apis/apps/v1/defaults.go), StatefulSet and DaemonSet
  // maxUnavailable 1 and no surge, Argo Rollouts canary 25%/25% (argo-rollouts utils/defaults).
  switch (kind) {
    case 'Deployment': {
      if (getPath(obj, ['spec', 'strategy', 'type']) === 'Recreate') {
        notes.push('strategy Recreate: every old pod terminates before new ones start');
        return { replicas, maxSurge: 0, maxUnavailable: replicas, replaceAfterExit: true, notes };
      }
      const ru = ['spec', 'strategy', 'rollingUpdate'];
      return { replicas, ...resolveFenceposts(field([...ru, 'maxSurge'], '25%', true), field([...ru, 'maxUnavailable'], '25%', false)), replaceAfterExit: false, notes };
    }
    case 'Rollout': {
      if (isRecord(getPath(obj, ['spec', 'strategy', 'blueGreen']))) {
        notes.push('blueGreen: the new pods come up in full before the old ones terminate (scaleDownDelaySeconds not replayed)');
        return { replicas, maxSurge: replicas, maxUnavailable: 0, replaceAfterExit: false, notes };
      }
      const c = ['spec', 'strategy', 'canary'];
      return { replicas, ...resolveFenceposts(field([...c, 'maxSurge'], '25%', true), field([...c, 'maxUnavailable'], '25%', false)), replaceAfterExit: false, notes };
    }
    case 'StatefulSet': {
      const u = field(['spec', 'updateStrategy', 'rollingUpdate', 'maxUnavailable'], 1, false);
      return { replicas, maxSurge: 0, maxUnavailable: Math.max(1, u), replaceAfterExit: true, notes };
    }
    default: {
      const ru = ['spec', 'updateStrategy', 'rollingUpdate'];
      const fp = resolveFenceposts(field([...ru, 'maxSurge'], 0, true), field([...ru, 'maxUnavailable'], 1, false));
      return { replicas, ...fp, replaceAfterExit: fp.maxSurge === 0, notes };
    }
  }
}

/** Where a hook reaches outside the pod: a URL to another host, or a cluster/remote tool. */
export function reachesOutside(argv: readonly string[], tools: readonly string[]): string | undefined {
  const remote = tools.find((t) => REMOTE_TOOLS.has(t));
  if (remote) return `runs ${remote}, which acts outside the pod`;
  for (const m of argv.join(' ').matchAll(/\b(?:https?|grpc|wss?):\/\/(\[[^\]]+\]|[^/:\s'"]+)/g)) {
    if (!LOCAL_HOSTS.test(m[1]!)) return `calls ${m[0]}, outside the pod's network namespace`;
  }
  return undefined;
}

/** Is this exec hook something any shell runs (sleeps, echos), rather than the app image's own program? */
function shellOnly(tools: readonly string[]): boolean {
  return tools.every((t) => SHELL_ONLY.has(t));
}

function httpGetOf(handler: unknown): HttpGetPreStop | undefined {
  const h = getPath(handler, ['httpGet']);
  if (!isRecord(h)) return undefined;
  const port = typeof h.port === 'number' ? h.port : Number(h.port);
  const scheme = h.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP';
  return { httpGet: { ...(typeof h.host === 'string' ? { host: h.host } : {}), port, path: typeof h.path === 'string' ? h.path : '/', scheme } };
}

/**
 * What istio-proxy's preStop does with /quitquitquit, as the lab says it beside the hook: the recognition is
 * lint's and inject's (facts.proxyQuit, plan/facts.ts proxyPreStopQuit; ADR 090), the words the lab's.
 * The run's record (the pods' quitRequests) shows what the endpoint answered.
 */
export function proxyQuitSays(q: ProxyQuit, httpGetPort?: number): string {
  if (q === 'quits') return `it calls ${AGENT_QUIT_PATH} from inside the pod (loopback): the proxy exits at termination start, with no drain`;
  if (httpGetPort === ENVOY_ADMIN_PORT) return `Envoy's admin listens on 127.0.0.1 only, so the node's GET finds nothing; nothing quits, the drain runs`;
  return `pilot-agent answers 403 (not from localhost; not a POST either), nothing quits, the drain runs`;
}

/**
 * The program an exec hook starts that the chosen proxy image's root lacks (hook-root.ts: the variant's
 * programs in /usr/bin and /bin, pilot-agent, and the busybox an init container leaves on an emptyDir),
 * so the kubelet fails the hook (FailedPreStopHook); undefined when the root has it.
 */
export function missingProgram(argv: readonly string[], variant: ProxyVariant, busyboxDirs: readonly BusyboxDir[] = []): string | undefined {
  const prog = argv[0];
  if (prog === undefined || execsPilotAgent(argv) || prog === '/usr/local/bin/pilot-agent') return undefined;
  const slash = prog.lastIndexOf('/');
  const base = prog.slice(slash + 1);
  if (slash < 0 || prog.slice(0, slash) === '/bin' || prog.slice(0, slash) === '/usr/bin') {
    if (VARIANT_PROGRAMS[variant].includes(base)) return undefined;
  }
  if (busyboxDirs.some((d) => prog.slice(0, slash) === d.mountPath && (base === 'busybox' || d.applets.includes(base)))) return undefined;
  return prog;
}

/** How to give a distroless istio-proxy's hook a shell, said where the lab finds it has none (ADR 096). */
export const DISTROLESS_SHELL_FIX = `meshdrain inject brings the hook a shell (an init container) when it knows the proxy is distroless: annotate the pod ${ANNOTATIONS.proxyImageType}: distroless, set proxy.shell: init-container in the policy, or give --mesh-config with global.variant: distroless`;

/** Decide what the lab runs for one container's preStop. */
function decideHook(view: PodView, c: ContainerView, role: 'app' | 'proxy', o: ManifestOptions, hooks: HookDecision[]): ManifestPreStop | undefined {
  const handler = c.spec.lifecycle?.preStop;
  if (!handler || !c.preStop) return undefined;
  const hookKey = [...c.path.slice(view.base.length), 'lifecycle', 'preStop'];
  const at = where(view.locKey(hookKey));
  const flag = '--app-prestop-time';
  const standIn = (what: string): ManifestPreStop => {
    if (o.appPrestopMs === undefined) {
      throw new InputError(`${c.name}: preStop ${what} runs the app image's own program, which the lab cannot run; give ${flag} D (how long it takes) to stand in for it`, posOf(view.locKey(hookKey)));
    }
    hooks.push({ container: c.name, at, action: 'stand-in', why: `${what}: stood in by ${flag} ${formatDuration(o.appPrestopMs)}` });
    return { sleepMs: o.appPrestopMs };
  };
  if (c.preStop.sleepSeconds !== undefined) {
    hooks.push({ container: c.name, at, action: 'sleep', why: `sleep action ${c.preStop.sleepSeconds}s` });
    return { sleepMs: c.preStop.sleepSeconds * 1000 };
  }
  const get = httpGetOf(handler);
  if (get) {
    const host = get.httpGet.host;
    if (host !== undefined && !LOCAL_HOSTS.test(host)) {
      hooks.push({ container: c.name, at, action: 'not-run', why: `httpGet to ${host}, outside the pod; not run (the container gets SIGTERM at once)` });
      return undefined;
    }
    if (role === 'app' && !ISTIO_PORTS.includes(get.httpGet.port)) return standIn(`httpGet :${get.httpGet.port}${get.httpGet.path}`);
    hooks.push({ container: c.name, at, action: 'http-get', why: `httpGet :${get.httpGet.port}${get.httpGet.path} from the node (the kubelet's GET to the pod IP)` });
    return get;
  }
  const a = c.preStop.analysis;
  const argv = c.preStop.argv;
  if (!a || !argv) {
    hooks.push({ container: c.name, at, action: 'not-run', why: 'a handler the lab does not know (not exec, sleep or httpGet)' });
    return undefined;
  }
  const tools = a.tools.map((t) => t.tool);
  const outside = reachesOutside(argv, tools);
  if (outside) {
    hooks.push({ container: c.name, at, action: 'not-run', why: `${outside}; not run (the container gets SIGTERM at once)` });
    return undefined;
  }
  // meshdrain's own traffic-gone wait (recognised by exact re-render, not by its text): it needs only
  // sh and /proc, which the lab's app has, so it runs as written and really watches the pod's sockets.
  if (role === 'app' && a.appWait) {
    hooks.push({ container: c.name, at, action: 'run', why: `meshdrain's traffic-gone wait (quiet ${formatDuration(a.appWait.quietMs)}, at most ${formatDuration(a.appWait.maxMs)}): sh and /proc only, run as written` });
    return { exec: [...argv] };
  }
  if (role === 'app' && !shellOnly(tools)) return standIn(`exec ${JSON.stringify(argv.join(' ').slice(0, 60))}`);
  hooks.push({
    container: c.name,
    at,
    action: 'run',
    why: role === 'proxy' ? `exec, run as written with the ${o.proxyVariant ?? 'chosen'} proxy image's tools` : 'exec, shell and sleep only: run as written',
  });
  return { exec: [...argv] };
}

/** The workload of a manifest, as the lab runs it. */
export function labPodFromManifest(text: string, file: string, o: ManifestOptions = {}): ManifestLabPod {
  const loaded = loadDocuments(text, file);
  const f = findWorkload(loaded, o.workload);
  const template = getPath(f.obj, f.site.templatePath.slice(f.site.templatePath.length - rel(f.site))) as PodTemplate;
  // The data-plane mode is the lab's one decision of it (scenarios.ts labDataPlaneMode). A manifest
  // without its Namespace is taken as injected at the namespace (what lint assumes too), said in a note.
  const namespaces = new Map<string, NamespaceEvidence>();
  for (const { doc, value } of loaded.docs) {
    const name = getPath(value, ['metadata', 'name']);
    if (!isRecord(value) || value.kind !== 'Namespace' || typeof name !== 'string') continue;
    const at = posOfPath(loaded, doc, ['metadata', 'name']);
    namespaces.set(name, { name, labels: (getPath(value, ['metadata', 'labels']) ?? {}) as Record<string, string>, where: `${file}:${at.line ?? 1}` });
  }
  // The pod as lint reads it, with the run's versions and mesh settings (mesh-wide ProxyConfig,
  // ENABLE_NATIVE_SIDECARS, the injector's policy and variant).
  const lintOpts: LintOptions = { ...defaultOptions(emptyMesh()), ...o.context?.lint, namespaces };
  const view = podView(loaded, f.doc, f.site, template, lintOpts);
  const notes: string[] = [];
  const hooks: HookDecision[] = [];
  const variant: ManifestLabPod['proxyVariant'] = o.proxyVariant
    ? { value: o.proxyVariant, source: '--proxy-variant' }
    : view.distroless
      ? { value: 'distroless', source: `${view.distroless.source} (${where(view.distroless.at)})` }
      : { value: 'default', source: 'no distroless marker on the pod' };
  const opts = { ...o, proxyVariant: variant.value };
  if (!namespaces.has(f.site.namespace ?? '')) notes.push(`the namespace is not in the manifest: judged as injected (as lint judges it)`);
  // The mode is the shared derivation's (podShutdownFacts → classifyMode) with lint's context: this
  // input's Namespaces and the run's versions and mesh settings.
  const facts = podShutdownFacts(f.site, template, null, lintContext(lintOpts, view.proxyConfig));
  const dataPlane = labDataPlaneMode(facts);
  if (dataPlane && facts.mode.mode === 'unknown') notes.push(`${facts.mode.reason}: the lab runs a classic sidecar (set sidecar.istio.io/nativeSidecar, or give --kube-version, --istio-version or --mesh-config, to decide)`);
  if (!dataPlane) {
    // One line: what the pod is, that the lab cannot roll it, then why (the mode's reason, which for a
    // pod without a mesh already begins "not meshed: ", said once).
    const what = facts.mode.mode === 'none' ? 'the pod is not meshed' : `the pod's data plane is ${facts.mode.mode}`;
    const why = facts.mode.reason.replace(/^not meshed: /, '');
    throw new InputError(`${siteName(f.site)}: ${what}, and the lab runs only sidecar and ambient pods: ${why}`, posOf(view.loc(['metadata'])));
  }

  const withPorts = view.apps.find((c) => Array.isArray(c.spec.ports) && c.spec.ports.length > 0);
  const app = withPorts ?? view.apps[0];
  if (!app) throw new InputError(`${siteName(f.site)}: no app container (only ${PROXY_CONTAINER})`, posOf(view.loc(['spec', 'containers'])));
  for (const other of view.apps) if (other !== app) notes.push(`container ${other.name}: the lab runs one app, standing for ${app.name}; ${other.name}'s own shutdown is not replayed`);
  const appPorts = [
    ...new Set(
      view.apps.flatMap((c) => (Array.isArray(c.spec.ports) ? c.spec.ports : []))
        .filter((p): p is Record<string, unknown> => isRecord(p) && typeof p.containerPort === 'number' && (p.protocol === undefined || p.protocol === 'TCP'))
        .map((p) => p.containerPort as number)
        .filter((p) => !ISTIO_PORTS.includes(p)),
    ),
  ];

  const appPreStop = decideHook(view, app, 'app', opts, hooks);
  // The user's istio-proxy customisation as Istio's injector finds it (istio/overrides.ts, the reading
  // inject uses; webhook.go reapplyOverwrittenContainers): the proxy.istio.io/overrides annotation's
  // entry for this sidecar kind first, else the pod's own istio-proxy container.
  const annKey = ['metadata', 'annotations', LABELS.proxyOverrides];
  const annEntry =
    dataPlane === 'ambient' || view.annotations[LABELS.proxyOverrides] === undefined
      ? undefined
      : proxyOverride(parseOverrides(view.annotations[LABELS.proxyOverrides], posOf(view.locKey(annKey))), dataPlane === 'native' ? 'native' : 'classic');
  let proxyPreStop: ManifestPreStop | undefined;
  if (annEntry) {
    const cmd = annEntry.lifecycle?.preStop?.exec?.command;
    if (cmd?.length) {
      proxyPreStop = { exec: [...cmd] };
      hooks.push({ container: PROXY_CONTAINER, at: where(view.locKey(annKey)), action: 'run', why: `exec from ${LABELS.proxyOverrides}, run as written with the ${variant.value} proxy image's tools` });
    }
  } else if (view.proxy && dataPlane !== 'ambient') {
    proxyPreStop = decideHook(view, view.proxy, 'proxy', opts, hooks);
  }
  // The injection templates istiod runs for the pod (mesh/mode.ts podTemplates, with the mesh's
  // defaultTemplates) and the istio-proxy preStop a custom one adds, as lint reads it (lint/pod.ts
  // proxyHold → lint/mesh.ts templatePreStop): it applies where the pod spells out no hook of its own.
  const templates = podTemplates(view.annotations, lintOpts.mesh.defaultTemplates?.value);
  const custom = templates.filter((t) => !ISTIO_TEMPLATES.includes(t));
  const templateHold = !annEntry && !view.proxy?.spec.lifecycle?.preStop && dataPlane !== 'ambient' && view.proxyPreStop?.path.at(-1) === ANNOTATIONS.templates ? view.proxyPreStop : undefined;
  if (templateHold) {
    const at = templateHold.locAt(-1);
    const what = `${siteName(f.site)}: ${templateHold.from}`;
    // Bad input, not a verdict: the lab says nothing about a hold it did not run (exit 2, ADR 096).
    if (templateHold.opaque || !templateHold.argv) {
      throw new InputError(
        `${what}: the lab cannot judge this pod without the istio-proxy preStop that template adds; give --mesh-config with the injector ConfigMap or Helm values that define it in a form meshdrain reads (\`meshdrain istio template --format configmap\` writes one)`,
        posOf(at),
      );
    }
    if (dataPlane === 'native') {
      throw new InputError(`${what}: the lab reads a template's classic-sidecar preStop (as lint does), and this pod runs a native sidecar; it cannot judge the template's native branch (give --kube-version or --istio-version below native sidecars, or run the pod without the template)`, posOf(at));
    }
    const outside = reachesOutside(templateHold.argv, templateHold.analysis?.tools.map((t) => t.tool) ?? []);
    if (outside) {
      hooks.push({ container: PROXY_CONTAINER, at: where(at), action: 'not-run', why: `from ${templateHold.from}: ${outside}; not run (the container gets SIGTERM at once)` });
    } else {
      proxyPreStop = { exec: [...templateHold.argv] };
      hooks.push({ container: PROXY_CONTAINER, at: where(at), action: 'run', why: `exec from ${templateHold.from} (the pod selects it; read as lint reads it), run as written with the ${variant.value} proxy image's tools` });
    }
  }
  // The hook just decided for istio-proxy, when it calls /quitquitquit: what that does (ADR 090, 091).
  const proxyHook = hooks[hooks.length - 1];
  if (proxyPreStop && facts.proxyQuit && proxyHook?.container === PROXY_CONTAINER) {
    proxyHook.why += `; ${proxyQuitSays(facts.proxyQuit, 'httpGet' in proxyPreStop ? proxyPreStop.httpGet.port : undefined)}`;
  }
  if (!proxyPreStop && dataPlane === 'native' && !(annEntry ?? view.proxy?.spec)?.lifecycle?.preStop) {
    proxyPreStop = { exec: [...NATIVE_DRAIN_PRESTOP] };
    hooks.push({ container: PROXY_CONTAINER, at: 'injected', action: 'run', why: `native mode: Istio's template preStop (pilot-agent request --debug-port=${AGENT_STATUS_PORT} POST drain)` });
  }
  // What the pod's init containers leave on emptyDirs istio-proxy mounts (they run before the app, the
  // volume is shared): meshdrain's static busybox for a distroless proxy's hook (ADR 085).
  const shell = dataPlane === 'ambient' ? { dirs: [], notes: [], unreplayed: [] } : proxyShellVolumes(template, [view.proxy?.spec, annEntry]);
  notes.push(...shell.notes);
  // An exec hook a distroless istio-proxy cannot start: the image has no shell (the default image's
  // root is the lab's approximation, hook-root.ts, so its gaps are not said as the image's).
  const proxyHookMissing = variant.value === 'distroless' && proxyPreStop && 'exec' in proxyPreStop ? missingProgram(proxyPreStop.exec, variant.value, shell.dirs) : undefined;
  if (proxyHookMissing) {
    notes.push(
      `${PROXY_CONTAINER}'s preStop starts ${proxyHookMissing}, which the ${variant.value} proxy image does not have: the kubelet fails the hook (FailedPreStopHook) and the proxy gets SIGTERM at once; ${DISTROLESS_SHELL_FIX}`,
    );
  }
  const inits = (template.spec?.initContainers ?? []) as { name?: unknown }[];
  const initAt = (name: string) => where(view.loc(['spec', 'initContainers', inits.findIndex((c) => c.name === name)]));
  for (const u of shell.unreplayed) {
    notes.push(
      `init container ${u.initContainer} (${initAt(u.initContainer)}) mounts volume ${u.volume}, which ${PROXY_CONTAINER} mounts at ${u.mountPath}: the lab runs no init container (only meshdrain inject's own shell copy is replayed, ADR 085), so ${PROXY_CONTAINER}'s hooks run without what ${u.initContainer} leaves there (a shell it copies in, say)`,
    );
  }
  for (const d of shell.dirs) {
    const at = initAt(d.initContainer);
    notes.push(
      `init container ${d.initContainer} (${at}) copies its image's static busybox into emptyDir ${d.volume} before the app starts; ${PROXY_CONTAINER} mounts it at ${d.mountPath}: the hook root has busybox there with ${d.applets.join(', ')} linked (the host's, standing in for ${d.image}'s)`,
    );
  }
  if (custom.length && !templateHold) {
    notes.push(`injection templates ${custom.join(', ')}: no istio-proxy preStop of theirs applies here (the pod's own entry wins, or the mesh config given has none); the lab runs only the istio-proxy preStop shown above, not the rest of what they inject`);
  }

  const pc = view.proxyConfig;
  // A pod nothing injects that still carries an `image: auto` istio-proxy cannot start (ErrImagePull).
  const unstartable =
    dataPlane === 'ambient' && view.proxyIsStub
      ? `its ${PROXY_CONTAINER} container has image "auto", which only sidecar injection replaces, and nothing injects an ambient pod: ErrImagePull`
      : undefined;
  // The app serves on its first containerPort (the Service's target) and keeps a second one (metrics)
  // open until it exits; the built-in app's 8080/9090 when the manifest names none.
  const appPort = appPorts[0] ?? APP_PORT;
  const metricsPort = appPorts.length ? (appPorts[1] ?? null) : APP_METRICS_PORT;
  return {
    file,
    workload: siteName(f.site),
    spec: {
      graceMs: view.graceSeconds * 1000,
      mode: dataPlane,
      appPreStop,
      proxyPreStop,
      terminationDrainMs: pc.terminationDrainMs?.value ?? DEFAULT_TERMINATION_DRAIN_SECONDS * 1000,
      exitOnZero: view.exitOnZero,
      minimumDrainMs: pc.minimumDrainMs?.value ?? DEFAULT_MINIMUM_DRAIN_SECONDS * 1000,
      proxyVariant: variant.value,
      ...(shell.dirs.length ? { proxyBusyboxDirs: shell.dirs.map((d) => ({ mountPath: d.mountPath, applets: d.applets })) } : {}),
      appPort,
      metricsPort,
      ...(unstartable ? { unstartable } : {}),
    },
    rollout: rolloutOf(f, o.maxReplicas, o.replicas),
    appPorts,
    appContainer: app.name,
    proxyVariant: variant,
    dataPlane,
    templates,
    hooks,
    notes,
    ...(proxyHookMissing ? { proxyHookMissing } : {}),
  };
}
