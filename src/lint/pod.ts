/**
 * One pod template as the rules see it: its containers and hooks analysed, the effective proxy config
 * (mesh defaults ← annotation ← injected env), native or classic sidecar, and positions for everything.
 */
import { distrolessSource } from '../istio/image-type.js';
import type { Document } from 'yaml';
import { ANNOTATIONS, DEFAULT_GRACE_SECONDS, INJECTOR_ANNOTATIONS, ISTIO_TEMPLATES, PROXY_CONTAINER, PROXY_METADATA } from '../istio/facts.js';
import { parseOverrides, proxyOverride } from '../istio/overrides.js';
import { goBool } from '../istio/proxy-config.js';
import { getPath, injectionDisabled, isRecord, podTemplateProblem, siteName, type Container, type PodTemplate, type PodTemplateSite } from '../model/workload.js';
import { parseEmbedded, type LoadedFile } from '../yaml/load.js';
import { analyzeHook, sleepArgMs, type HookAnalysis } from '../analysis/analyze.js';
import { holdDrainsAtStart } from '../hooks/hold.js';
import { drainsAtStartOn } from '../plan/budget.js';
import type { Version } from '../model/version.js';
import { innerLocator, locInString, locOf, locOfKey, type Loc, type Path } from './locate.js';
import { readProxyConfig, templatePreStop, type ProxyConfigView, type Setting } from './mesh.js';
import type { LintOptions } from './options.js';
import type { ModeDecision } from '../model/data-plane.js';
import { podTemplates } from '../mesh/mode.js';
import { isProxyStub, podShutdownFacts, type PodShutdownFacts, type ShutdownContext } from '../plan/facts.js';
import { DEFAULT_POLICY } from '../policy/policy.js';
import { InputError } from '../errors.js';
import { parseDuration } from '../model/duration.js';

export interface HookView {
  /** Path (from the document root) of the handler (`lifecycle.preStop`). */
  path: Path;
  /** exec.command when the handler is exec. */
  argv?: string[];
  /** `sleep.seconds` handler (Kubernetes ≥ 1.29). */
  sleepSeconds?: number;
  analysis?: HookAnalysis;
  /** Position of a character of the hook (offset into the script, or -1 for argv[0]). */
  locAt(offset: number, length?: number): Loc;
  /** Where the hook came from when not from the pod: e.g. injector values global.proxy.lifecycle. */
  from?: string;
  /** Delivered by the injector in a form lint cannot read (assumed to wait; bound unknown). */
  opaque?: boolean;
  /** Mount paths the carrier gives istio-proxy with the hook (the overrides annotation's entry). */
  mountPaths?: string[];
}

export interface ContainerView {
  name: string;
  path: Path;
  spec: Container;
  init: boolean;
  restartAlways: boolean;
  preStop?: HookView;
}

export interface PodView {
  file: string;
  site: PodTemplateSite;
  loaded: LoadedFile;
  doc: Document.Parsed;
  /** Pod template as a plain object. */
  template: PodTemplate;
  /** Path of the pod template from the document root. */
  base: Path;
  /** Location of something in the pod template (path relative to the template). */
  loc(rel: Path): Loc;
  locKey(rel: Path): Loc;
  annotations: Record<string, string>;
  meshed: boolean;
  /** Why meshed: "istio-proxy container", "sidecar.istio.io/inject label", "assumed (namespace injection)". */
  meshedBy: string;
  proxy?: ContainerView;
  /** The istio-proxy entry is an override stub (image: auto) merged into the injected sidecar. */
  proxyIsStub: boolean;
  apps: ContainerView[];
  graceSeconds: number;
  graceSet: boolean;
  proxyConfig: ProxyConfigView;
  exitOnZero: boolean;
  /** Drain after the hold: MINIMUM_DRAIN_DURATION with EXIT_ON_ZERO, else terminationDrainDuration. */
  drainSeconds: number;
  native: { native: boolean; why: string; at?: Loc };
  /** The proxy's preStop (from the pod or the injector's global.proxy.lifecycle); null = none. */
  hold: HookView | null;
  /**
   * The preStop istio-proxy gets, Istio's own native drain included (`hold` leaves that out): the
   * pod's, the overrides annotation's, a selected template's, the global lifecycle's; null = none found
   * (then a pod not injected yet gets what Istio's template writes).
   */
  proxyPreStop: HookView | null;
  distroless: Setting<string> | null;
  /** The longest app container preStop delay (known sleeps and bounded scripts; from the facts). */
  appDelaySeconds: number;
  /** The pod's shutdown facts as written (plan/facts.ts): mode, delays, drain, grace. */
  facts: PodShutdownFacts;
  /** The same facts for the pod as `meshdrain inject` (default policy) would leave it; null when opted out. */
  injected: PodShutdownFacts | null;
}

const SECS = (ms: number) => ms / 1000;

type PodBase = Omit<PodView, 'proxyConfig' | 'native' | 'distroless' | 'exitOnZero' | 'drainSeconds' | 'hold' | 'proxyPreStop' | 'facts' | 'injected' | 'appDelaySeconds'>;

function hookView(loaded: LoadedFile, doc: Document.Parsed, path: Path, handler: unknown): HookView | undefined {
  if (!isRecord(handler)) return undefined;
  const cmd = getPath(handler, ['exec', 'command']);
  const sleep = getPath(handler, ['sleep', 'seconds']);
  const view: HookView = { path, locAt: () => locOf(loaded, doc, path) };
  if (Array.isArray(cmd) && cmd.every((x) => typeof x === 'string')) {
    view.argv = cmd as string[];
    view.analysis = analyzeHook(cmd as string[]);
    const scriptIdx = view.analysis.script !== null ? cmd.indexOf(view.analysis.script) : -1;
    view.locAt = (offset, length) =>
      offset >= 0 && scriptIdx >= 0
        ? locInString(loaded, doc, [...path, 'exec', 'command', scriptIdx], offset, length)
        : locOf(loaded, doc, [...path, 'exec', 'command', 0]);
  } else if (typeof sleep === 'number') {
    view.sleepSeconds = sleep;
    view.locAt = () => locOf(loaded, doc, [...path, 'sleep', 'seconds']);
  }
  return view;
}

/** Seconds a preStop delays the container's SIGTERM, when knowable (a sleep, or a bounded script). */
export function hookDelaySeconds(h: HookView | undefined): number {
  if (!h) return 0;
  if (h.sleepSeconds !== undefined) return h.sleepSeconds;
  const a = h.analysis;
  if (!a) return 0;
  return SECS(a.maxHoldMs ?? a.fixedSleepMs);
}

function containers(loaded: LoadedFile, doc: Document.Parsed, base: Path, spec: unknown, init: boolean): ContainerView[] {
  const list = getPath(spec, [init ? 'initContainers' : 'containers']);
  if (!Array.isArray(list)) return [];
  const out: ContainerView[] = [];
  list.forEach((c, i) => {
    if (!isRecord(c) || typeof c.name !== 'string') return;
    const path = [...base, 'spec', init ? 'initContainers' : 'containers', i];
    out.push({
      name: c.name,
      path,
      spec: c as Container,
      init,
      restartAlways: init && c.restartPolicy === 'Always',
      preStop: hookView(loaded, doc, [...path, 'lifecycle', 'preStop'], getPath(c, ['lifecycle', 'preStop'])),
    });
  });
  return out;
}

const asStrings = (v: unknown): Record<string, string> =>
  isRecord(v) ? (Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) as Record<string, string>) : {};

/** Parse the proxy.istio.io/config annotation (YAML or JSON), with positions inside it. */
function annotationProxyConfig(pod: PodBase, into: ProxyConfigView): void {
  const raw = pod.annotations[ANNOTATIONS.proxyConfig];
  if (raw === undefined) return;
  const path: Path = [...pod.base, 'metadata', 'annotations', ANNOTATIONS.proxyConfig];
  const inner = parseEmbedded(raw, `${ANNOTATIONS.proxyConfig}: not valid YAML/JSON`, (offset) => {
    const at = locInString(pod.loaded, pod.doc, path, offset);
    return { file: at.file, line: at.line, col: at.column };
  });
  readProxyConfig(
    inner.value,
    { loc: innerLocator(pod.loaded, pod.doc, path, inner.doc) },
    `${ANNOTATIONS.proxyConfig} annotation`,
    into,
  );
}

/** Env vars on the istio-proxy container itself: what pilot-agent really reads. */
function envProxyConfig(pod: PodBase, into: ProxyConfigView): void {
  const proxy = pod.proxy;
  const env = proxy?.spec.env;
  if (!proxy || !Array.isArray(env)) return;
  env.forEach((e, i) => {
    if (!isRecord(e) || typeof e.name !== 'string' || typeof e.value !== 'string') return;
    const at = locOf(pod.loaded, pod.doc, [...proxy.path, 'env', i, 'value']);
    const source = `${PROXY_CONTAINER} env ${e.name}`;
    if (e.name === 'PROXY_CONFIG') {
      // Injected pods carry the merged ProxyConfig as JSON; positions point at the env value.
      try {
        readProxyConfig(JSON.parse(e.value), { loc: () => at }, `${PROXY_CONTAINER} env PROXY_CONFIG`, into);
      } catch (err) {
        if (err instanceof InputError) throw err; // a bad duration inside
        // Not JSON: leave it to Istio; nothing we can read.
      }
    } else if (e.name === PROXY_METADATA.exitOnZero) into.exitOnZero = { value: goBool(e.value) === true, at, source };
    else if (e.name === PROXY_METADATA.minimumDrain) into.minimumDrainMs = { value: parseDurationAt(e.value, at, e.name), at, source };
    else if (e.name === 'TERMINATION_DRAIN_DURATION_SECONDS') into.terminationDrainMs = { value: parseDurationAt(e.value, at, e.name), at, source };
  });
}

function parseDurationAt(v: string, at: Loc, what: string): number {
  try {
    return parseDuration(v, what);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message, { file: at.file, line: at.line, col: at.column });
    throw e;
  }
}

/** Where the input that decided the data-plane mode is, when lint can point at it. */
function modeLoc(pod: PodBase, mode: ModeDecision, opts: LintOptions): Loc | undefined {
  switch (mode.by) {
    case 'injected':
      return pod.proxy ? locOf(pod.loaded, pod.doc, pod.proxy.path) : undefined;
    case 'annotation':
      return pod.locKey(['metadata', 'annotations', ANNOTATIONS.nativeSidecar]);
    case 'mesh':
      return opts.mesh.nativeSidecars?.at;
    default:
      return undefined;
  }
}

/** The derivation's context for a pod as lint sees it: versions, mesh settings, the ProxyConfig read with positions. */
export function lintContext(opts: LintOptions, cfg: ProxyConfigView): ShutdownContext {
  return {
    kubeVersion: opts.kubeVersion,
    istioVersion: opts.istioVersion,
    nativeSidecars: opts.mesh.nativeSidecars,
    podProxyConfig: { terminationDrainMs: cfg.terminationDrainMs?.value, exitOnZero: cfg.exitOnZero?.value, minimumDrainMs: cfg.minimumDrainMs?.value },
    appShutdownSeconds: opts.appShutdownSeconds,
    // Lint judges a pod as meshed unless the input shows otherwise (meshedBy says so).
    assumeInjection: true,
    namespaces: opts.namespaces,
    enableNamespacesByDefault: opts.mesh.enableNamespacesByDefault?.value,
    injectionPolicy: opts.mesh.injectionPolicy?.value,
    defaultTemplates: opts.mesh.defaultTemplates?.value,
  };
}

function distrolessOf(pod: PodBase, cfg: ProxyConfigView, opts: LintOptions): Setting<string> | null {
  const ann = pod.annotations[ANNOTATIONS.proxyImageType];
  const image = pod.proxy?.spec.image;
  switch (distrolessSource({ annotation: ann, proxyImage: image, proxyConfigImageType: cfg.imageType?.value, meshVariant: opts.mesh.variant?.value })) {
    case 'annotation':
      return { value: ann!, at: pod.locKey(['metadata', 'annotations', ANNOTATIONS.proxyImageType]), source: `${ANNOTATIONS.proxyImageType} annotation` };
    case 'image':
      return { value: image as string, at: locOf(pod.loaded, pod.doc, [...pod.proxy!.path, 'image']), source: `${PROXY_CONTAINER} image` };
    case 'proxy-config':
      return cfg.imageType!;
    case 'mesh-variant':
      return opts.mesh.variant!;
    case null:
      return null;
  }
}

/** A field the API server rejects is bad input, as inject says it (model/workload.ts podTemplateProblem, one check): throws at its position. */
export function refuseBadTemplate(loaded: LoadedFile, doc: Document.Parsed, site: PodTemplateSite, template: PodTemplate): void {
  const problem = podTemplateProblem(template);
  if (problem) {
    const at = locOf(loaded, doc, [...site.templatePath, ...problem.path]);
    throw new InputError(`${siteName(site)}: ${problem.message}`, { file: at.file, line: at.line, col: at.column });
  }
}

/** Build the view of one pod template site. */
export function podView(loaded: LoadedFile, doc: Document.Parsed, site: PodTemplateSite, template: PodTemplate, opts: LintOptions): PodView {
  const base = site.templatePath;
  refuseBadTemplate(loaded, doc, site, template);
  const annotations = asStrings(template.metadata?.annotations);
  const labels = asStrings(template.metadata?.labels);
  const all = [...containers(loaded, doc, base, template.spec, false), ...containers(loaded, doc, base, template.spec, true)];
  const proxy = all.find((c) => c.name === PROXY_CONTAINER);
  const apps = all.filter((c) => !c.init && c.name !== PROXY_CONTAINER);
  const optedOut = injectionDisabled(template);
  const injectMark = labels[ANNOTATIONS.inject] === 'true' || annotations[ANNOTATIONS.inject] === 'true' || labels['istio.io/rev'] !== undefined;
  const meshedBy = optedOut ? 'opted out' : proxy ? `${PROXY_CONTAINER} container` : injectMark ? `${ANNOTATIONS.inject}/istio.io/rev marker` : 'assumed (namespace-level injection)';
  const grace = template.spec?.terminationGracePeriodSeconds;
  const partial: PodBase = {
    file: loaded.file,
    site,
    loaded,
    doc,
    template,
    base,
    loc: (rel: Path) => locOf(loaded, doc, [...base, ...rel]),
    locKey: (rel: Path) => locOfKey(loaded, doc, [...base, ...rel]),
    annotations,
    meshed: !optedOut,
    meshedBy,
    proxy,
    proxyIsStub: proxy !== undefined && isProxyStub(proxy.spec),
    apps,
    graceSeconds: typeof grace === 'number' ? grace : DEFAULT_GRACE_SECONDS,
    graceSet: typeof grace === 'number',
  };
  // Effective ProxyConfig: mesh defaults, then the pod annotation, then what the injected container says.
  const cfg: ProxyConfigView = { ...opts.mesh.defaultConfig };
  annotationProxyConfig(partial, cfg);
  envProxyConfig(partial, cfg);
  // The pod as written, and as meshdrain inject would leave it: the same derivation inject runs.
  const ctx = lintContext(opts, cfg);
  // Only what lint could read: containers with names, string annotations, a numeric grace period.
  const asWritten: PodTemplate = {
    metadata: { annotations, labels },
    spec: {
      ...(partial.graceSet ? { terminationGracePeriodSeconds: partial.graceSeconds } : {}),
      ...(template.spec?.hostNetwork === true ? { hostNetwork: true } : {}),
      containers: all.filter((c) => !c.init).map((c) => c.spec),
      initContainers: all.filter((c) => c.init).map((c) => c.spec),
    },
  };
  const facts = podShutdownFacts(site, asWritten, null, ctx);
  const injected = optedOut ? null : podShutdownFacts(site, asWritten, DEFAULT_POLICY, ctx);
  // Lint judges a pod as if it is injected (meshedBy): native means "a native sidecar if injected".
  const native = { native: facts.mode.sidecar === 'native', why: facts.mode.reason, at: modeLoc(partial, facts.mode, opts) };
  const hold = proxyHold(partial, opts, facts.mode.sidecar === 'native');
  // Istio's own rules say this pod gets no sidecar (hostNetwork, an ignored namespace, a Namespace in
  // the input without injection, ambient): the sidecar rules have nothing to judge.
  const unmeshed = facts.mode.injection === 'no' && !optedOut;
  // The native-mode default (`pilot-agent request POST drain`) starts the drain; it is not a hold.
  // meshdrain's hold that drains at start (ADR 015) is a hold first.
  const view: PodView = {
    ...partial,
    ...(unmeshed ? { meshed: false, meshedBy: facts.mode.reason } : {}),
    facts,
    injected,
    appDelaySeconds: facts.appDelaySeconds,
    proxyConfig: cfg,
    exitOnZero: facts.drain.exitOnZero === true,
    drainSeconds: facts.drain.seconds,
    native,
    hold: hold?.analysis?.pilotAgentDrain && !hold.analysis.ownHold ? null : hold,
    proxyPreStop: hold,
    distroless: null,
  };
  view.distroless = distrolessOf(view, cfg, opts);
  return view;
}

const STANDARD_TEMPLATES = new Set(ISTIO_TEMPLATES);

/** istio-proxy's preStop in the proxy.istio.io/overrides annotation, for the sidecar kind; positions point at the annotation. */
function overridesPreStop(pod: PodBase, native: boolean): HookView | undefined {
  const raw = pod.annotations[INJECTOR_ANNOTATIONS.overrides];
  if (raw === undefined) return undefined;
  const path: Path = [...pod.base, 'metadata', 'annotations', INJECTOR_ANNOTATIONS.overrides];
  const at = pod.locKey(['metadata', 'annotations', INJECTOR_ANNOTATIONS.overrides]);
  const entry = proxyOverride(parseOverrides(raw, { file: at.file, line: at.line, col: at.column }), native ? 'native' : 'classic');
  const handler = entry?.lifecycle?.preStop;
  if (!handler) return undefined;
  const view = hookView(pod.loaded, pod.doc, path, handler);
  if (!view) return undefined;
  return { ...view, path, locAt: () => at, from: `${INJECTOR_ANNOTATIONS.overrides} annotation`, mountPaths: mountPathsOf(entry?.volumeMounts) };
}

/** The mount paths of a container's volumeMounts as written (anything else is skipped). */
export function mountPathsOf(volumeMounts: unknown): string[] {
  return (Array.isArray(volumeMounts) ? (volumeMounts as unknown[]) : []).flatMap((m) => (isRecord(m) && typeof m.mountPath === 'string' ? [m.mountPath] : []));
}

/**
 * The proxy's preStop, by what wins at injection: the pod's own istio-proxy entry (strategic-merged last);
 * for pods not injected yet, a custom template the pod selects, then meshdrain's patched-injector
 * annotations, then the mesh-wide global.proxy.lifecycle. An already injected pod shows what it got.
 */
function proxyHold(pod: PodBase, opts: LintOptions, native: boolean): HookView | null {
  // Istio reads the proxy.istio.io/overrides annotation before the pod's own entry
  // (reapplyOverwrittenContainers): `initContainers` for a native sidecar, `containers` for a classic one.
  const carried = overridesPreStop(pod, native);
  if (carried) return carried;
  const own = pod.proxy?.preStop;
  if (own) return own;
  if (pod.proxy && !pod.proxyIsStub) return null; // injected already: no preStop means none
  const annPath = (name: string): Path => [...pod.base, 'metadata', 'annotations', name];
  const selected = podTemplates(pod.annotations, opts.mesh.defaultTemplates?.value).filter((t) => !STANDARD_TEMPLATES.has(t));
  // A pod without the annotation gets the injector's defaultTemplates, where the mesh config names them.
  const byDefault = pod.annotations[ANNOTATIONS.templates] === undefined ? opts.mesh.defaultTemplates : undefined;
  for (const name of selected) {
    const t = opts.mesh.templates.get(name);
    const at = byDefault?.at ?? pod.locKey(['metadata', 'annotations', ANNOTATIONS.templates]);
    if (!t) {
      if (opts.mesh.templates.size > 0) continue; // the mesh config is known and has no such template
      const why = byDefault ? `${byDefault.source}, not in the mesh config given` : 'not in the mesh config given';
      return { path: annPath(ANNOTATIONS.templates), locAt: () => at, from: `injection template ${name} (${why})`, opaque: true };
    }
    const cmd = templatePreStop(t.value);
    if (cmd === null) continue;
    if (cmd === 'opaque') return { path: annPath(ANNOTATIONS.templates), locAt: () => t.at, from: t.source, opaque: true };
    return { path: annPath(ANNOTATIONS.templates), argv: cmd, analysis: analyzeHook(cmd), locAt: () => t.at, from: t.source };
  }
  const patched = opts.mesh.injectorPatched?.value !== false;
  // The patched injector's catalog, when the mesh config shows it: the exact hold this value selects.
  // Checked before preStopCommand, as the patched template does (istio/injector-branch.ts: the
  // wait-for branch comes first).
  const catalog = opts.mesh.injectorCatalog;
  const waitForName = catalog?.value.annotation ?? ANNOTATIONS.waitFor;
  const value = pod.annotations[waitForName];
  if (value !== undefined && patched) {
    const at = pod.locKey(['metadata', 'annotations', waitForName]);
    if (!catalog) return { path: annPath(waitForName), locAt: () => at, from: `${waitForName} annotation (meshdrain-patched injector)`, opaque: true };
    // Go's `eq` on the annotation value as written: the first entry that claims it, else the default hold.
    const entry = catalog.value.entries.find((x) => x.keys.includes(value));
    const argv = entry ? entry.command : catalog.value.defaultCommand;
    const from = `${waitForName}: ${JSON.stringify(value)}, ${entry ? 'its hold' : 'not in the catalog: the default hold'} in ${catalog.source}`;
    return { path: annPath(waitForName), argv, analysis: analyzeHook(argv), locAt: () => at, from };
  }
  const raw = pod.annotations[ANNOTATIONS.legacyPreStop];
  if (raw !== undefined && patched) {
    const path = annPath(ANNOTATIONS.legacyPreStop);
    const argv = ['/bin/sh', '-c', raw];
    return { path, argv, analysis: analyzeHook(argv), locAt: (offset, length) => (offset >= 0 ? locInString(pod.loaded, pod.doc, path, offset, length) : pod.locKey(['metadata', 'annotations', ANNOTATIONS.legacyPreStop])), from: `${ANNOTATIONS.legacyPreStop} annotation` };
  }
  const m = opts.mesh.lifecyclePreStop;
  if (m) return { path: [], argv: m.value, analysis: analyzeHook(m.value), locAt: () => m.at, from: m.source };
  return null;
}

/** Does this hold ask pilot-agent to drain at its start, and get it on this Istio (ADR 016, 086)? Then no drain follows it. */
export function holdDrainsAtStartOn(h: HookView | null, istioVersion?: Version): boolean {
  return drainsAtStartOn(holdDrainsAtStart((h?.argv ?? []).join('\n')), istioVersion);
}

/** Does the hold actually wait (a sleep, a loop), rather than return at once? */
export function holdWaits(h: HookView | null): boolean {
  if (!h) return false;
  if (h.opaque) return true;
  if (h.sleepSeconds !== undefined) return h.sleepSeconds > 0;
  return h.analysis?.waits ?? false;
}

/** Upper bound of the hold in seconds; null = unbounded (until SIGKILL at worst). */
export function holdBoundSeconds(h: HookView): number | null {
  if (h.opaque) return null;
  if (h.sleepSeconds !== undefined) return h.sleepSeconds;
  const a = h.analysis;
  if (!a) return 0;
  // meshdrain's own hold on sleeps only (a catalog sleep=…): released when the sleep and linger are over.
  const own = ownSleepSeconds(h);
  if (own !== undefined && a.ownHold) return Math.min(SECS(a.ownHold.timeoutMs), own + (a.ownHold.lingerMs ?? 0) / 1000);
  return a.maxHoldMs === null ? null : SECS(a.maxHoldMs);
}

/** The longest sleep of meshdrain's own hold when it waits on sleeps only (a fixed hold); else undefined. */
export function ownSleepSeconds(h: HookView | null): number | undefined {
  const own = h?.analysis?.ownHold;
  if (!own || !own.strategies.every((s) => s.kind === 'sleep')) return undefined;
  return Math.max(0, ...own.strategies.map((s) => (s.kind === 'sleep' ? s.ms / 1000 : 0)));
}

export { sleepArgMs };

/** "istio-proxy preStop", with where it came from when not from the pod itself. */
export function holdName(h: HookView): string {
  return `${PROXY_CONTAINER} preStop${h.from ? ` (from ${h.from})` : ''}`;
}
