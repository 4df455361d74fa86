/**
 * A pod's shutdown facts: the one pure derivation every door reads. The plan decides what to write
 * from it, lint judges the pod as written from it, the lab builds its pods from it, and the istio
 * template carries the same hold settings. Nothing here reads YAML nodes or positions; callers that
 * need positions (lint) read the ProxyConfig themselves through istio/proxy-config.ts and pass it in.
 *
 *   workload + pod template + policy + mesh/cluster context
 *     → data-plane mode and why; each container's preStop delay; effective drain;
 *       hold and its timeout; grace period required and set
 */
import { distrolessSource, distrolessSourceWords } from '../istio/image-type.js';
import { clusterHold } from '../istio/holds.js';
import { analyzeHook, handlerDelaySeconds } from '../analysis/analyze.js';
import { ownAppWait, ownHold } from '../analysis/own-hold.js';
import { quitOutcome } from '../analysis/quit-call.js';
import { DEFAULT_APP_MAX_DELAY_MS, DEFAULT_APP_QUIET_MS, DEFAULT_APP_WAIT_INTERVAL_MS, DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, DEFAULT_TEMPLATE_NAME, NATIVE_DRAIN_LEAD_SECONDS, SHELL_MOUNT_PATH, SHELL_VOLUME } from '../constants.js';
import { holdShape, parseWaitFor, ZERO_TIMEOUT_WORDS } from './hold-settings.js';
import { AGENT_QUIT_PATH, ANNOTATIONS, AUTO_IMAGE, DEFAULT_GRACE_SECONDS, INJECTOR_ANNOTATIONS, NATIVE_DRAIN_PRESTOP, PRESTOP_SLEEP_ACTION_VERSION, PROXY_CONTAINER } from '../istio/facts.js';
import { parseOverrides, proxyOverride } from '../istio/overrides.js';
import { classifyMode, podTemplates, sidecarKind, type ModeContext, type NamespaceEvidence } from '../mesh/mode.js';
import { effectiveDrainMs, parseProxyConfigAnnotation } from '../istio/proxy-config.js';
import type { SourcePos } from '../errors.js';
import type { ModeDecision } from '../model/data-plane.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { atLeast, formatVersion, type Version } from '../model/version.js';
import type { Container, Handler, PodTemplate, PodTemplateSite } from '../model/workload.js';
import { getPath, isRecord } from '../model/workload.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { resolveSettings } from '../policy/match.js';
import type { SettingsT } from '../policy/schema.js';
import { DEFAULT_APP_DELAY_SECONDS, DEFAULT_APP_SHUTDOWN_SECONDS, drainAfterHoldSeconds, drainsAtStartOn, graceFor, graceForHold, holdTimeoutMs, proxyLifeSeconds, shutdownBudget, type Budget } from './budget.js';
import type { AppContainerPlan, AppWaitSpec, HoldSpec, ShellSource, WaitStrategy } from './types.js';


/** The drain part of a ProxyConfig (milliseconds), as far as shutdown goes. */
export interface DrainSettings {
  terminationDrainMs?: number;
  exitOnZero?: boolean;
  minimumDrainMs?: number;
}

/** What the mesh and the cluster contribute; every field optional (inject knows none of it by default). */
export interface ShutdownContext {
  kubeVersion?: Version;
  istioVersion?: Version;
  /** pilot's ENABLE_NATIVE_SIDECARS and where it was set. */
  nativeSidecars?: { value: 'true' | 'false' | 'auto'; source: string };
  /** Mesh-wide ProxyConfig defaults (meshConfig.defaultConfig). */
  meshProxyConfig?: DrainSettings;
  /**
   * The pod's own ProxyConfig when the caller already read it (lint reads the annotation and the
   * injected env with positions). Absent: the pod's `proxy.istio.io/config` annotation is read here.
   */
  podProxyConfig?: DrainSettings;
  /** Estimated app shutdown when the policy names none (lint's --app-shutdown). */
  appShutdownSeconds?: number;
  /** Where the pod's proxy.istio.io/config annotation is, for errors in it. */
  where?: SourcePos;
  /** Overrides the policy's `via`. */
  via?: Carrier;
  /** The workload's namespace when the manifest does not name it (a run's --namespace); default: the manifest's. */
  namespace?: string;
  /** Namespace objects of the run's input stream: evidence of injection and ambient labels. */
  namespaces?: ReadonlyMap<string, NamespaceEvidence>;
  /** sidecarInjectorWebhook.enableNamespacesByDefault. */
  enableNamespacesByDefault?: boolean;
  /** The injector config's `policy`. */
  injectionPolicy?: 'enabled' | 'disabled';
  /** The mesh's proxy image type: Helm's global.variant, meshConfig defaultConfig image.imageType. */
  meshImage?: { variant?: string; imageType?: string };
  /** The injector's defaultTemplates (templates a pod without inject.istio.io/templates gets); default [sidecar]. */
  defaultTemplates?: readonly string[];
  /** Judge pods the input cannot place as injected (lint, the lab); never for inject. */
  assumeInjection?: boolean;
}

/** The sidecar.istio.io/nativeSidecar meshdrain asks for when the pod names none, and why. */
export interface NativeRequest {
  native: boolean;
  by: 'policy' | 'job';
}

/** The run-wide part of the context as the mode classifier reads it. */
export function modeContext(ctx: ShutdownContext): ModeContext {
  return {
    kubeVersion: ctx.kubeVersion,
    istioVersion: ctx.istioVersion,
    nativeSidecars: ctx.nativeSidecars?.value,
    nativeSidecarsSource: ctx.nativeSidecars?.source,
    enableNamespacesByDefault: ctx.enableNamespacesByDefault,
    injectionPolicy: ctx.injectionPolicy,
    namespaces: ctx.namespaces,
    assumeInjection: ctx.assumeInjection,
  };
}

/**
 * The pod's data-plane mode as meshdrain leaves it: mesh/mode.ts classifyMode (the one decision),
 * on the pod with the sidecar.istio.io/nativeSidecar meshdrain writes (policy, Jobs) already in
 * place; the reason then names meshdrain's request rather than an annotation the user never wrote.
 */
export function podMode(site: PodTemplateSite, pod: PodTemplate, request: NativeRequest | undefined, ctx: ShutdownContext = {}): ModeDecision {
  const annotations = pod.metadata?.annotations ?? {};
  const asked: PodTemplate = request ? { ...pod, metadata: { ...pod.metadata, annotations: { ...annotations, [ANNOTATIONS.nativeSidecar]: String(request.native) } } } : pod;
  const d = classifyMode({ pod: asked, namespace: ctx.namespace ?? site.namespace }, modeContext(ctx));
  if (!request || !d.reason.includes(`${ANNOTATIONS.nativeSidecar}: "`)) return d;
  const said =
    request.by === 'policy'
      ? `the policy's proxy.nativeSidecar: ${String(request.native)} (meshdrain writes ${ANNOTATIONS.nativeSidecar}: "${String(request.native)}")`
      : `a Job's pod gets ${ANNOTATIONS.nativeSidecar}: "true" from meshdrain (a classic sidecar keeps it from completing)`;
  return { ...d, reason: d.reason.split(`${ANNOTATIONS.nativeSidecar}: "${String(request.native)}"`).join(said), by: d.by === 'annotation' ? request.by : d.by };
}

/** The sidecar kinds Istio may inject into a pod of this mode: the carriers meshdrain writes follow it. */
export function sidecarsFor(mode: ModeDecision): { classic: boolean; native: boolean } {
  if (mode.mode === 'classic' || mode.mode === 'native') return { classic: mode.mode === 'classic', native: mode.mode === 'native' };
  if (mode.mode !== 'unknown') return { classic: false, native: false };
  return { classic: mode.sidecar !== 'native', native: mode.sidecar !== 'classic' };
}

/** What the lab's adapter passes (src/lab/scenarios.ts): the pod's istio-proxy entry and the annotation. */
export interface ModeInput {
  proxy?: { init: boolean; restartAlways: boolean; stub: boolean };
  /** sidecar.istio.io/nativeSidecar as written. */
  annotation?: string;
  request?: NativeRequest;
}

/**
 * @deprecated The lab's adapter (src/lab/scenarios.ts) for a pod it already knows is injected: which
 * sidecar it gets. It asks classifyMode's sidecarKind (mesh/mode.ts), so there is one decision;
 * new code calls podShutdownFacts or podMode. An undecided kind reads as classic, as before.
 */
export function dataPlaneMode(input: ModeInput, ctx: Pick<ShutdownContext, 'kubeVersion' | 'istioVersion' | 'nativeSidecars'> = {}): ModeDecision {
  const { proxy } = input;
  if (proxy && !proxy.stub && (proxy.restartAlways || !proxy.init)) {
    const kind = proxy.restartAlways ? 'native' : 'classic';
    return { mode: kind, reason: `${PROXY_CONTAINER} is injected as a ${kind} sidecar`, by: 'injected', injection: 'yes', sidecar: kind };
  }
  const ann = input.annotation === 'true' || input.annotation === 'false' ? input.annotation : input.request ? String(input.request.native) : undefined;
  const k = sidecarKind(ann !== undefined ? { [ANNOTATIONS.nativeSidecar]: ann } : {}, modeContext(ctx));
  const by = k.by === 'annotation' && input.annotation === undefined && input.request ? input.request.by : k.by;
  if (k.kind === 'either') return { mode: 'classic', reason: `classic sidecar assumed: ${k.why}`, by: 'assumed', injection: 'yes', sidecar: 'classic' };
  return { mode: k.kind, reason: k.why, by, injection: 'yes', sidecar: k.kind };
}

/** The pod's istio-proxy entry as the lab's adapter passes it. */
export function proxyEntry(pod: PodTemplate): ModeInput['proxy'] {
  const c = (pod.spec?.containers ?? []).find((x) => x.name === PROXY_CONTAINER);
  if (c) return { init: false, restartAlways: false, stub: isStub(c) };
  const init = (pod.spec?.initContainers ?? []).find((x) => x.name === PROXY_CONTAINER);
  return init ? { init: true, restartAlways: init.restartPolicy === 'Always', stub: isStub(init) } : undefined;
}

/** An istio-proxy override stub (`image: auto` or none): Istio merges it into the sidecar it injects. */
export const isStub = (c: Container): boolean => c.image === undefined || c.image === AUTO_IMAGE;

/** The sidecar.istio.io/nativeSidecar meshdrain writes: never over the user's; the policy's; Jobs native. */
export function nativeRequest(site: PodTemplateSite, annotation: string | undefined, s: SettingsT): NativeRequest | undefined {
  if (annotation === 'true' || annotation === 'false') return undefined;
  if (s.proxy?.nativeSidecar !== undefined) return { native: s.proxy.nativeSidecar, by: 'policy' };
  if (site.isJobLike) return { native: true, by: 'job' };
  return undefined;
}

/** Istio's drain after the hold: later layers win field by field; Istio's defaults fill the rest. */
export function effectiveDrain(layers: (DrainSettings | undefined)[]): DrainSettings & { seconds: number; unbounded: boolean } {
  const out: DrainSettings = {};
  for (const l of layers) {
    if (!l) continue;
    if (l.terminationDrainMs !== undefined) out.terminationDrainMs = l.terminationDrainMs;
    if (l.exitOnZero !== undefined) out.exitOnZero = l.exitOnZero;
    if (l.minimumDrainMs !== undefined) out.minimumDrainMs = l.minimumDrainMs;
  }
  return { ...out, seconds: effectiveDrainMs(out) / 1000, unbounded: out.exitOnZero === true };
}

/**
 * The hold a custom injection template carries (`meshdrain istio template [-c POLICY]` renders it):
 * the policy's `template:` section through the one validator, else the defaults: its strategies, its
 * linger (a hold on app-connections lingers, hold-settings.ts holdShape), timeout and interval. inject
 * `--via template` sizes the grace period from this hold, what the template really runs (ADR 031 addendum).
 */
export function templateHold(policy: Policy | null): HoldSpec {
  const t = policy?.template;
  return clusterHold({ waitFor: t?.waitFor, timeout: t?.timeout, interval: t?.interval }, { labels: TEMPLATE_LABELS });
}

const TEMPLATE_LABELS = { waitFor: 'template.waitFor', timeout: 'template.timeout', interval: 'template.interval' } as const;

/** The template's hold timeout (templateHold). */
export function templateHoldTimeoutMs(policy: Policy | null): number {
  return templateHold(policy).timeoutMs;
}

/**
 * The native drain a custom injection template carries (`meshdrain istio template`): one template
 * serves every pod that selects it, so it carries the drain inject gives a Deployment's native pod
 * under the policy's defaults (rules match single workloads). The same derivation as inject's
 * (podShutdownFacts), so the two cannot differ. null = Istio's own drain stays (policy
 * proxy.nativeDrain: istio, or no app delay).
 */
export function templateNativeDrain(policy: Policy | null): PodShutdownFacts['nativeDrain'] {
  const p: Policy = { ...(policy ?? DEFAULT_POLICY), rules: [] };
  const site: PodTemplateSite = { kind: 'Deployment', apiVersion: 'apps/v1', name: '', labels: {}, templatePath: [], isJobLike: false };
  const pod: PodTemplate = {
    metadata: { labels: { [ANNOTATIONS.inject]: 'true' }, annotations: { [ANNOTATIONS.nativeSidecar]: 'true' } },
    spec: { containers: [{ name: 'app' }] },
  };
  return podShutdownFacts(site, pod, p, {}).nativeDrain;
}

/**
 * How the app's delay before SIGTERM is decided (ADR 015), for pods meshdrain writes:
 * - wait: the traffic-gone wait (ADR 014 (a)) in the app image's shell or a brought-in one;
 * - guessed: no shell known, so Kubernetes' native sleep of DEFAULT_APP_DELAY_SECONDS (said on stderr and by lint);
 * - fixed: the policy's app.delay, a sleep of exactly that length (the user's choice);
 * - none: a Job's pod (no Service routes to it).
 */
export type AppDelayDecision =
  | { kind: 'wait'; wait: AppWaitSpec; shell: ShellSource }
  | { kind: 'guessed'; seconds: number }
  | { kind: 'fixed'; seconds: number }
  | { kind: 'none' };

/** The shell the app's wait runs in, from the policy: undefined = none known. */
export function appShell(app: SettingsT['app']): ShellSource | undefined {
  const sh = app?.shell;
  if (sh === 'init-container' || (sh === undefined && app?.shellImage !== undefined)) {
    return { kind: 'init-container', image: app?.shellImage ?? DEFAULT_SHELL_IMAGE, mountPath: SHELL_MOUNT_PATH };
  }
  return sh === true || sh === 'image' ? { kind: 'image' } : undefined;
}

/** The app's traffic-gone wait as the policy sets it (defaults: quiet 1s, at most 30s, poll 200ms). */
export function appWaitSpec(app: SettingsT['app']): AppWaitSpec {
  return {
    quietMs: app?.quiet !== undefined ? parseDuration(app.quiet, 'quiet') : DEFAULT_APP_QUIET_MS,
    maxMs: app?.maxDelay !== undefined ? parseDuration(app.maxDelay, 'maxDelay') : DEFAULT_APP_MAX_DELAY_MS,
    intervalMs: DEFAULT_APP_WAIT_INTERVAL_MS,
  };
}

/** The app delay a policy asks for (ADR 015): fixed, the observed wait where a shell is, else the guessed sleep. */
export function appDelayDecision(site: PodTemplateSite, s: SettingsT): AppDelayDecision {
  if (s.app?.delay !== undefined) return { kind: 'fixed', seconds: seconds(s.app.delay) };
  if (site.isJobLike) return { kind: 'none' };
  const shell = appShell(s.app);
  if (shell) return { kind: 'wait', wait: appWaitSpec(s.app), shell };
  return { kind: 'guessed', seconds: DEFAULT_APP_DELAY_SECONDS };
}

/**
 * The hold inject writes (ADR 015): the policy's waitFor, else while the app listens or owns a
 * connection. A hold that watches the app's connections (outbound calls, and inbound requests from
 * Envoy it still answers after closing its port) also lingers, and asks pilot-agent to drain inbound
 * at the start: keep-alive clients are told to go, and pilot-agent exits at once after the hold
 * instead of its blind terminationDrainDuration, with nothing of the app's left in flight (ADR 016).
 */
export function defaultHoldShape(s: SettingsT): Pick<HoldSpec, 'strategies' | 'lingerMs' | 'drainAtStart'> {
  return holdShape(parseWaitFor(s.proxy?.waitFor));
}

export interface PodShutdownFacts {
  /** The data-plane mode of the pod as meshdrain leaves it (as written when judging). */
  mode: ModeDecision;
  /** sidecar.istio.io/nativeSidecar to write; undefined = leave it alone. */
  nativeRequest?: boolean;
  /** Each app container: the seconds its preStop delays SIGTERM, and the preStop meshdrain sets. */
  apps: AppContainerPlan[];
  /** The longest app preStop delay (a wait's upper bound). */
  appDelaySeconds: number;
  /** How meshdrain decided the app's delay; undefined when judging a pod as written. */
  appDelay?: AppDelayDecision;
  appShutdownSeconds: number;
  /** Effective drain: mesh defaults ← the pod's ProxyConfig ← the policy; seconds 0 when the proxy quits at start (proxyQuit). */
  drain: DrainSettings & { seconds: number; unbounded: boolean };
  /**
   * How meshdrain's istio-proxy settings reach the proxy (ADR 061): the proxy.istio.io/overrides
   * annotation (default; inert where injection does not happen), an override stub container (only
   * where injection is known to happen), or a custom injection template.
   */
  via: Carrier;
  /** The hold meshdrain adds for a classic sidecar; null when none (native, Job, raw preStop, user's kept, judging). */
  hold: HoldSpec | null;
  /**
   * For a native sidecar: seconds after termination starts when meshdrain's drain replaces Istio's
   * immediate one (ADR 062); null = Istio's drain stays (policy nativeDrain: istio, no app delay, a Job, the user's own).
   */
  nativeDrain: { delaySeconds: number; wait?: AppWaitSpec } | null;
  /**
   * Native sidecar with no meshdrain drain: why (so lint's fix says what inject really does). `app-prestop`:
   * these app containers keep their own preStop, whose delay meshdrain cannot read (nginx -s quit).
   */
  noNativeDrain?: { why: 'gateway' | 'job' | 'user-prestop' | 'policy-istio' | 'no-app-delay' } | { why: 'app-prestop'; containers: string[] };
  /**
   * istio-proxy's preStop (the user's, kept or as written) asks pilot-agent to quit (ADR 090): `quits`, an
   * exec that posts /quitquitquit: the proxy exits at termination start and `drain.seconds` is 0 (the drain
   * never runs); `refused`, an httpGet to it, or an exec whose call is not a POST (ADR 090 addendum): the
   * call is refused (403/405), the drain runs.
   */
  proxyQuit?: ProxyQuit;
  /** Why a `refused` exec does nothing, in words (analysis/quit-call.ts quitAnswer); absent for an httpGet. */
  proxyQuitWhy?: string;
  /** A preStop the user gave istio-proxy: kept (meshdrain writes none) or replaced (policy replaceUserPreStop). */
  userProxyPreStop?: 'kept' | 'replaced';
  /** meshdrain leaves this pod template as written, and why (gateways, istiod-managed Deployments). */
  leave?: string;
  /**
   * A hold timeout the grace period must cover whole: the template's, or one the policy names.
   * undefined when the hold's timeout follows the grace period instead.
   */
  fixedHoldTimeoutSeconds?: number;
  budget: Budget;
  grace: {
    /** terminationGracePeriodSeconds as written. */
    set?: number;
    /** What the shutdown needs: the budget, the policy's minimum, a fixed hold timeout + drain + margin. */
    required: number;
    /** What the pod ends up with: never lower than set. */
    value: number;
  };
  /** The policy settings that apply to this pod ({} when judging). */
  settings: SettingsT;
  notes: string[];
}

const seconds = (d: string | number) => parseDuration(d) / 1000;

export type Carrier = 'annotation' | 'override' | 'template';

/** A preStop meshdrain wrote (its hold, its native drain, through its shell): regenerated, not the user's. */
export function isMeshdrainHandler(h: Handler | undefined): boolean {
  const cmd = h?.exec?.command;
  return Array.isArray(cmd) && cmd.some((a) => typeof a === 'string' && /meshdrain/.test(a));
}

/** Istio's own native preStop (an injected pod read back): Istio's, not the user's; meshdrain replaces it. */
const isIstioNativeDrain = (h: Handler | undefined): boolean => {
  const cmd = h?.exec?.command;
  return Array.isArray(cmd) && cmd.length === NATIVE_DRAIN_PRESTOP.length && cmd.every((a, i) => a === NATIVE_DRAIN_PRESTOP[i]);
};
const isUsers = (h: Handler | undefined): h is Handler => h !== undefined && !isMeshdrainHandler(h) && !isIstioNativeDrain(h);

/**
 * Is this istio-proxy preStop meshdrain's own, so that inject may take it back when the carrier
 * changes? Classic: exactly a hold meshdrain renders (re-rendered, analysis/own-hold.ts). Native: a
 * drain meshdrain wrote, or Istio's own drain command (which the template renders anyway).
 */
export function isOwnProxyPreStop(kind: 'classic' | 'native', h: Handler): boolean {
  const cmd = h.exec?.command;
  if (kind === 'classic') return Array.isArray(cmd) && ownHold(cmd) !== null;
  return isMeshdrainHandler(h) || isIstioNativeDrain(h);
}

/**
 * What an istio-proxy preStop does with pilot-agent's /quitquitquit (ADR 090), the one recognition lint
 * and inject share. `quits`: an exec that posts to it (`pilot-agent request POST quitquitquit`, `curl
 * -XPOST`, `wget --post-data`), run inside the pod: pilot-agent exits at once, with no drain. `refused`:
 * an httpGet to it (the kubelet sends a GET from the node to the pod IP, pkg/kubelet/lifecycle/handlers.go
 * runHTTPHandler: 403 not loopback / 405 not POST; the kubelet takes any response as the hook done, ADR
 * 091), or an exec whose call is not a POST (`curl localhost:15020/quitquitquit`, a GET: 405;
 * analysis/quit-call.ts reads the method as the tool sends it): nothing quits and the drain runs; `why`
 * says so for an exec. Only for istio-proxy's own preStop: an app or a Job's main container calling it at
 * its end is the standard recipe for a classic sidecar and is not judged here.
 */
export type ProxyQuit = 'quits' | 'refused';
export function proxyPreStopQuit(h: Handler | undefined): { quit: ProxyQuit; why?: string } | undefined {
  if (!h) return undefined;
  const get = h.httpGet;
  if (get && typeof get === 'object') {
    const path = (get as { path?: unknown }).path;
    return typeof path === 'string' && `/${path.replace(/^\/+/, '')}`.split('?')[0] === AGENT_QUIT_PATH ? { quit: 'refused' } : undefined;
  }
  const argv = h.exec?.command;
  if (!Array.isArray(argv) || !argv.every((x) => typeof x === 'string')) return undefined;
  const answer = quitOutcome(analyzeHook(argv).quitCalls, 'proxy');
  if (!answer) return undefined;
  return answer.quits ? { quit: 'quits' } : { quit: 'refused', why: answer.why };
}

/** What a refused istio-proxy preStop is and why it does nothing: the httpGet's, or the exec's reason. */
export function proxyQuitRefusal(why: string | undefined): string {
  return why === undefined
    ? `is an httpGet to ${AGENT_QUIT_PATH}, which does nothing: the kubelet sends a GET from the node, and pilot-agent quits only on a POST from localhost: it answers 403`
    : `calls ${AGENT_QUIT_PATH} but does nothing: ${why}`;
}

/** inject's warning beside "kept" for a user's istio-proxy preStop that quits the proxy. */
function proxyQuitNote(q: ProxyQuit, why: string | undefined, appDelaySeconds: number, appShutdownSeconds: number): string {
  return q === 'quits'
    ? `warning: ${PROXY_CONTAINER}'s preStop calls ${AGENT_QUIT_PATH}: the proxy exits at termination start with no drain, before the app's ${appDelaySeconds ? `${appDelaySeconds}s delay + ` : ''}~${appShutdownSeconds}s shutdown, whose requests and outbound calls then fail; the grace period counts no drain. Remove that preStop (meshdrain then adds its hold), or policy proxy.replaceUserPreStop: true`
    : `warning: ${PROXY_CONTAINER}'s preStop ${proxyQuitRefusal(why)}; the hook ends there and the proxy drains as without it. Remove that preStop (meshdrain then adds its hold), or policy proxy.replaceUserPreStop: true`;
}

/**
 * Is this container the override stub `inject --via override` renders, with nothing of the user's:
 * istio-proxy, `image: auto`, a preStop of meshdrain's own (as isOwnProxyPreStop reads it) as its only
 * lifecycle, and no mount but the shell meshdrain brings in. Inject takes it back when the carrier changes.
 */
export function isOwnProxyStub(c: Container): boolean {
  if (c.name !== PROXY_CONTAINER || c.image !== AUTO_IMAGE) return false;
  if (Object.keys(c).some((k) => k !== 'name' && k !== 'image' && k !== 'lifecycle' && k !== 'volumeMounts')) return false;
  const pre = c.lifecycle?.preStop;
  if (!pre || Object.keys(c.lifecycle!).length !== 1 || !(isOwnProxyPreStop('classic', pre) || isOwnProxyPreStop('native', pre))) return false;
  const mounts = c.volumeMounts;
  return mounts === undefined || (Array.isArray(mounts) && mounts.every((m) => isRecord(m) && m.name === SHELL_VOLUME && Object.keys(m).every((k) => k === 'name' || k === 'mountPath')));
}

/**
 * An `image: auto` istio-proxy with nothing in it (`lifecycle:` at most, empty): it sets nothing on
 * the proxy Istio injects, so it carries meshdrain's settings only with `--via override`. Elsewhere it
 * is left as written and the chosen carrier is used; were it filled, it would look like meshdrain's
 * own stub, which inject takes back the next run.
 */
export function isBareProxyStub(c: Container): boolean {
  if (c.name !== PROXY_CONTAINER || c.image !== AUTO_IMAGE) return false;
  if (Object.keys(c).some((k) => k !== 'name' && k !== 'image' && k !== 'lifecycle')) return false;
  return c.lifecycle === undefined || c.lifecycle === null || (isRecord(c.lifecycle) && Object.values(c.lifecycle).every((v) => v === null || v === undefined));
}

/**
 * An istio-proxy container with `image: auto` (or none): Istio's injector merges it into the sidecar it
 * injects (webhook.go reapplyOverwrittenContainers); on a pod nothing injects it is a container of its
 * own that never starts (ErrImagePull). lint's stub-not-injected and inject's warning read it here.
 */
export function isProxyStub(c: Container): boolean {
  return c.name === PROXY_CONTAINER && (c.image === undefined || c.image === AUTO_IMAGE);
}

/** inject's note for a stub on a pod Istio will not inject (lint reports it as stub-not-injected). */
export function strandedStubWarning(why: string): string {
  return `warning: ${PROXY_CONTAINER} is an override stub (image: ${AUTO_IMAGE}), but Istio will not inject this pod (${why}): it would run as a container of its own and never start (ErrImagePull); left as written: remove it, or let Istio inject the pod (lint: stub-not-injected)`;
}

/** The pod's own istio-proxy entry: a container (classic, or a stub), else an init container (native). */
export function proxyContainerOf(pod: Pick<PodTemplate, 'spec'>): Container | undefined {
  return pod.spec?.containers?.find((c) => c.name === PROXY_CONTAINER) ?? pod.spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER);
}

/** The user's own istio-proxy preStop: on an istio-proxy container of the pod, else in the overrides annotation. */
export function userProxyPreStop(pod: PodTemplate, where?: SourcePos): Handler | undefined {
  const fromPod = proxyContainerOf(pod)?.lifecycle?.preStop;
  if (isUsers(fromPod)) return fromPod;
  const o = parseOverrides(pod.metadata?.annotations?.[INJECTOR_ANNOTATIONS.overrides], where);
  for (const kind of ['classic', 'native'] as const) {
    const h = proxyOverride(o, kind)?.lifecycle?.preStop;
    if (isUsers(h)) return h;
  }
  return undefined;
}

/**
 * The shutdown facts of one pod template. `policy` null judges the pod as written (lint); a policy
 * (DEFAULT_POLICY included) gives the pod as meshdrain inject leaves it.
 */
export function podShutdownFacts(site: PodTemplateSite, pod: PodTemplate, policy: Policy | null, ctx: ShutdownContext = {}): PodShutdownFacts {
  const annotations = pod.metadata?.annotations ?? {};
  let s: SettingsT = policy ? resolveSettings(policy, site, pod.metadata?.labels ?? {}) : {};
  const notes: string[] = [];
  const userNative = annotations[ANNOTATIONS.nativeSidecar];
  const requested = policy ? nativeRequest(site, userNative, s) : undefined;
  const mode = podMode(site, pod, requested, ctx);
  const sidecars = sidecarsFor(mode);
  if (policy && mode.injection === 'no' && pod.spec?.containers?.some(isProxyStub)) notes.push(strandedStubWarning(mode.reason));
  // A native sidecar asked for where the mode is still classic (the versions given have none, or
  // istio-proxy is already injected classic) would be an annotation Istio ignores: not written, said.
  const ignored = requested?.native === true && sidecars.classic && !sidecars.native;
  const request = ignored ? undefined : requested;
  if (ignored && site.isJobLike) {
    notes.push(`a classic istio-proxy keeps this Job's pods from completing, and no native sidecar can be asked for here (${mode.reason}): ${ANNOTATIONS.nativeSidecar} not written; end the Job's command with \`pilot-agent request POST quitquitquit\``);
  }
  // The hold and its grace-period terms are for a classic sidecar; a native one drains in native order.
  const native = !sidecars.classic;
  if (policy && site.isJobLike && userNative === 'false') {
    notes.push(`${ANNOTATIONS.nativeSidecar}: "false" kept as written; a classic sidecar keeps this Job's pods from completing, and a hold cannot help, so none is added`);
  }
  if (request?.by === 'job' && sidecars.native) notes.push(`asking Istio for a native sidecar (${ANNOTATIONS.nativeSidecar}: "true"); a proxy hold cannot help a Job, a classic sidecar keeps it from completing`);

  const podConfig = ctx.podProxyConfig ? undefined : parseProxyConfigAnnotation(annotations[ANNOTATIONS.proxyConfig], ctx.where);
  const pc = ctx.podProxyConfig ?? drainOf(podConfig!);
  // A distroless istio-proxy has no shell: meshdrain's hook brings one unless the policy names the shell.
  const podImageType = getPath(podConfig?.raw, ['image', 'imageType']);
  const distroless = policy
    ? distrolessSource({
        annotation: annotations[ANNOTATIONS.proxyImageType],
        proxyImage: proxyContainerOf(pod)?.image,
        proxyConfigImageType: typeof podImageType === 'string' ? podImageType : ctx.meshImage?.imageType,
        meshVariant: ctx.meshImage?.variant,
      })
    : null;
  const shellBrought = distroless !== null && s.proxy?.shell === undefined;
  if (shellBrought) s = { ...s, proxy: { ...s.proxy, shell: 'init-container' } };
  const configuredDrain = effectiveDrain([
    ctx.meshProxyConfig,
    pc,
    {
      exitOnZero: s.proxy?.exitOnZeroActiveConnections,
      minimumDrainMs: s.proxy?.minimumDrainDuration !== undefined ? parseDuration(s.proxy.minimumDrainDuration) : undefined,
      terminationDrainMs: s.proxy?.terminationDrainDuration !== undefined ? parseDuration(s.proxy.terminationDrainDuration) : undefined,
    },
  ]);

  // App containers: what the policy names; where the user has no preStop, the app's delay (ADR 015).
  // Endpoint removal lags SIGTERM by seconds; an app that stops accepting at SIGTERM answers 503 to
  // requests still routed to it. The delay waits until inbound traffic has left the pod where a shell
  // can run the wait, else a sleep of a guessed length (not for Jobs: no Service).
  const appDelay = policy ? appDelayDecision(site, s) : undefined;
  // Kubernetes before 1.30 has no preStop `sleep` action: an exec sleep where the policy says the
  // app images have a shell (app.shell), else no delay at all, said plainly.
  const noSleepAction = atLeast(ctx.kubeVersion, PRESTOP_SLEEP_ACTION_VERSION.major, PRESTOP_SLEEP_ACTION_VERSION.minor) === false;
  const cannotDelay: string[] = [];
  const roundedUp = new Set<string>();
  const sleepFor = (name: string, secs: number): AppContainerPlan => {
    const whole = Math.ceil(secs);
    if (whole !== secs) roundedUp.add(`${secs}s → ${whole}s`);
    if (!noSleepAction) return { name, preStop: { sleepSeconds: whole }, delaySeconds: secs };
    if (s.app?.shell === true || s.app?.shell === 'image') return { name, preStop: { exec: execSleep(whole) }, delaySeconds: secs };
    cannotDelay.push(name);
    return { name, delaySeconds: 0 };
  };
  const apps: AppContainerPlan[] = [];
  for (const c of pod.spec?.containers ?? []) {
    if (c.name === PROXY_CONTAINER) continue;
    const named = s.containers?.[c.name];
    // meshdrain's own wait from an earlier run is not the user's preStop: it is rendered again from the policy.
    // A plain delay in the shapes meshdrain writes (its earlier guess, or an earlier policy's delay) gives
    // way to the delay the policy now decides, unless that is shorter: a delay is never shortened.
    const plain = policy && !named ? plainDelaySeconds(c.lifecycle?.preStop) : undefined;
    const decided = appDelay?.kind === 'fixed' ? appDelay.seconds : appDelay?.kind === 'wait' ? appDelay.wait.maxMs / 1000 : undefined;
    const keepsLonger = plain !== undefined && decided !== undefined && decided < plain;
    const replacesPlain = plain !== undefined && decided !== undefined && !keepsLonger && !(appDelay?.kind === 'fixed' && Math.ceil(decided) === plain);
    if (keepsLonger) {
      notes.push(`container ${c.name} keeps its preStop sleep of ${plain}s: the policy's app delay (${decided}s at most) is shorter, and meshdrain never shortens a delay; name the container in the policy (containers: {${c.name}: {sleep: ${decided}s}}) to set it`);
    } else if (replacesPlain) {
      notes.push(`container ${c.name}'s preStop sleep of ${plain}s (a plain delay, as meshdrain writes one) gives way to the policy's app delay; if that sleep is yours, name the container in the policy (containers: {${c.name}: {sleep: ${plain}s}}) to keep it`);
    }
    const userPreStop = c.lifecycle?.preStop != null && !(policy && isAppWaitHandler(pod, c.name)) && !replacesPlain;
    if (named && 'preStop' in named) apps.push({ name: c.name, preStop: { exec: named.preStop }, delaySeconds: handlerDelaySeconds({ exec: { command: named.preStop } }) });
    else if (named && 'sleep' in named) apps.push(sleepFor(c.name, seconds(named.sleep)));
    else if (appDelay?.kind === 'wait' && !userPreStop) apps.push({ name: c.name, preStop: { wait: appDelay.wait, shell: appDelay.shell }, delaySeconds: appDelay.wait.maxMs / 1000 });
    else if ((appDelay?.kind === 'fixed' || appDelay?.kind === 'guessed') && appDelay.seconds > 0 && !userPreStop) apps.push(sleepFor(c.name, appDelay.seconds));
    else apps.push({ name: c.name, delaySeconds: c.lifecycle?.preStop ? handlerDelaySeconds(c.lifecycle.preStop) : 0 });
  }
  // A container the policy names that this pod does not have (a typo, a renamed container) is said:
  // its preStop is not written, and the user would otherwise believe it is in place.
  const podContainers = apps.map((a) => a.name);
  const unknown = Object.keys(s.containers ?? {}).filter((n) => !podContainers.includes(n));
  if (unknown.length) {
    notes.push(`the policy names container${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}, which this pod does not have (its containers: ${podContainers.join(', ') || 'none'}): not used here`);
  }
  if (roundedUp.size) notes.push(`the app delay is rounded up to whole seconds (${[...roundedUp].join(', ')}): the preStop sleep takes whole seconds`);
  if (appDelay?.kind === 'fixed' && s.app?.shell !== undefined && s.app.shell !== false) {
    notes.push('the policy names both app.delay and app.shell: the fixed app.delay wins, and app.shell is not used for the app (it is for the wait that ends when traffic has left the pod)');
  }
  if (cannotDelay.length) {
    notes.push(
      `no app delay can be written for ${cannotDelay.join(', ')}: Kubernetes ${formatVersion(ctx.kubeVersion!)} has no preStop sleep action (${formatVersion(PRESTOP_SLEEP_ACTION_VERSION)}+), and the policy does not say the app images have /bin/sh (app.shell: true writes an exec sleep, or the wait that ends when traffic has left the pod)`,
    );
  }
  const appDelaySeconds = Math.max(0, ...apps.map((a) => a.delaySeconds));
  const longest = apps.find((a) => a.delaySeconds === appDelaySeconds);
  const appDelayIsBound = appDelaySeconds > 0 && longest !== undefined && (longest.preStop ? 'wait' in longest.preStop : isAppWaitHandler(pod, longest.name));
  if (appDelay?.kind === 'guessed' && apps.some((a) => a.preStop && 'sleepSeconds' in a.preStop && !s.containers?.[a.name])) {
    notes.push(
      `app containers get Kubernetes' native sleep of ${appDelay.seconds}s before SIGTERM, a guess at endpoint propagation: the policy names no shell for the wait that ends when traffic has left the pod (app.shell: true if the image has /bin/sh, or app.shell: init-container to bring one in)`,
    );
  }

  // A pod that already selects meshdrain's injection template gets its hold from there, not twice.
  const selectsTemplate = podTemplates(annotations, ctx.defaultTemplates).includes(policy?.template?.name ?? DEFAULT_TEMPLATE_NAME);
  const asked: Carrier = ctx.via ?? s.via ?? (selectsTemplate ? 'template' : 'annotation');
  // An override stub is a real container (image "auto") wherever injection does not replace it: only
  // where the input shows injection happens (ADR 061).
  const stubSafe = mode.injection === 'yes' && (mode.mode === 'classic' || mode.mode === 'native');
  const via: Carrier = asked === 'override' && !stubSafe ? 'annotation' : asked;
  if (policy && asked === 'override' && !stubSafe && (sidecars.classic || sidecars.native)) {
    notes.push(`via override: no istio-proxy stub, because injection is not known to happen (${mode.mode}); the ${INJECTOR_ANNOTATIONS.overrides} annotation carries the settings instead, inert without injection`);
  }
  // A preStop the user gave istio-proxy is theirs: kept unless the policy says replace, reported either way.
  const userHandler = policy && (sidecars.classic || sidecars.native) ? userProxyPreStop(pod, ctx.where) : undefined;
  const userKept = userHandler !== undefined && s.proxy?.replaceUserPreStop !== true;
  let userPre: PodShutdownFacts['userProxyPreStop'];
  if (userHandler) {
    userPre = userKept ? 'kept' : 'replaced';
    notes.push(
      userKept
        ? `${PROXY_CONTAINER} already has a preStop of yours: kept, and meshdrain adds no hold or drain of its own (policy proxy.replaceUserPreStop: true replaces it)`
        : `${PROXY_CONTAINER}'s own preStop replaced by meshdrain's (policy proxy.replaceUserPreStop: true)`,
    );
  }
  // A preStop on istio-proxy that quits it (ADR 090): the user's as kept, or as written when judging.
  let quitHandler: Handler | undefined;
  if (policy) quitHandler = userKept ? userHandler : undefined;
  else if (sidecars.classic || sidecars.native) {
    try {
      quitHandler = userProxyPreStop(pod);
    } catch {
      quitHandler = undefined; // a bad overrides annotation is reported where it is read with a position
    }
  }
  const quitRead = proxyPreStopQuit(quitHandler);
  const proxyQuit = quitRead?.quit;
  // pilot-agent quit at termination start never drains: no drain to count, to wait for, or to fit.
  const drain = proxyQuit === 'quits' ? { ...configuredDrain, seconds: 0 } : configuredDrain;
  const appShutdownSeconds = s.app?.shutdown !== undefined ? seconds(s.app.shutdown) : (ctx.appShutdownSeconds ?? DEFAULT_APP_SHUTDOWN_SECONDS);
  if (userHandler && userKept && proxyQuit) notes.push(proxyQuitNote(proxyQuit, quitRead?.why, appDelaySeconds, appShutdownSeconds));
  // A Job's pod ends when its work is done, not by a rollout: a proxy hold has nothing to protect.
  const wantsHold = policy !== null && !native && !site.isJobLike && !s.proxy?.preStop && !userKept;
  // The hold as the chosen carrier runs it: the custom template's own (one for every pod that selects
  // it), else the policy's. The budget counts what really runs: its linger and any fixed sleep.
  const carried = policy && via === 'template' ? templateHold(policy) : undefined;
  const shape = carried ? holdShape(carried.strategies) : defaultHoldShape(s);
  // A drain someone set (mesh defaults, the pod's ProxyConfig, the policy) is kept as Istio applies it:
  // after /drain, pilot-agent would skip it at SIGTERM (ADR 016).
  const drainSet = drain.terminationDrainMs !== undefined || drain.exitOnZero !== undefined || drain.minimumDrainMs !== undefined;
  // The template's hold is rendered once for every pod: it asks for the drain at start whatever this pod sets.
  if (drainSet && shape.drainAtStart && !carried) {
    delete shape.drainAtStart;
    if (wantsHold && via !== 'template') notes.push("the hold does not ask pilot-agent to drain at start: the drain settings this pod has (terminationDrainDuration, EXIT_ON_ZERO_ACTIVE_CONNECTIONS or MINIMUM_DRAIN_DURATION) run after it as Istio applies them");
  }
  const strategies: WaitStrategy[] = shape.strategies;
  const fixedSleep = Math.max(0, ...strategies.map((w) => (w.kind === 'sleep' ? w.ms / 1000 : 0)));
  // Judging a pod as written: the linger of meshdrain's own hold, when istio-proxy carries one.
  const writtenLinger = policy ? undefined : ownProxyHold(pod)?.lingerMs;
  const lingerMs = wantsHold ? shape.lingerMs : writtenLinger;
  const lingerSeconds = lingerMs !== undefined ? lingerMs / 1000 : undefined;
  const budget = shutdownBudget({ appDelaySeconds, appDelayIsBound, appShutdownSeconds, lingerSeconds, drainSeconds: drain.seconds, fixedHoldSeconds: policy ? fixedSleep || undefined : undefined });
  // A hold whose timeout does not follow this pod's grace period is honoured whole: the custom
  // injection template's (one for every pod), or a timeout the policy names.
  let fixedHoldTimeoutSeconds: number | undefined;
  if (policy && !native) {
    if (carried) fixedHoldTimeoutSeconds = carried.timeoutMs / 1000;
    if (!carried && !s.proxy?.preStop && s.proxy?.timeout !== undefined) fixedHoldTimeoutSeconds = Math.max(fixedHoldTimeoutSeconds ?? 0, seconds(s.proxy.timeout));
  }
  const set = pod.spec?.terminationGracePeriodSeconds;
  const required = Math.max(
    budget.requiredSeconds,
    s.gracePeriod !== undefined ? Math.ceil(seconds(s.gracePeriod)) : 0,
    // The drain still to come after such a hold: none when it asked for the drain at its start (ADR 086).
    fixedHoldTimeoutSeconds !== undefined ? graceForHold(fixedHoldTimeoutSeconds, drainAfterHoldSeconds(drain.seconds, drainsAtStartOn((carried ?? shape).drainAtStart === true, ctx.istioVersion))) : 0,
  );
  const graceValue = policy ? graceFor(set, required) : (set ?? DEFAULT_GRACE_SECONDS);

  if (policy && via === 'template' && !native) {
    const ignored = (['waitFor', 'timeout', 'interval', 'shell', 'shellImage', 'preStop'] as const).filter((k) => s.proxy?.[k] !== undefined);
    if (ignored.length) notes.push(`via template: the hold comes from the custom injection template, so the policy's proxy.${ignored.join(', proxy.')} is not used here; give it to \`meshdrain istio template\` (the policy's template: section)`);
  }
  if (hold0Shell(s) && appDelay?.kind === 'wait' && appDelay.shell.kind === 'init-container' && hold0Shell(s) !== appDelay.shell.image && wantsHold && via !== 'template') {
    notes.push(`one shell init container serves istio-proxy and the app: it uses the proxy's image ${hold0Shell(s)}, not app.shellImage ${appDelay.shell.image}`);
  }
  let hold: HoldSpec | null = null;
  if (wantsHold) {
    const timeoutMs = carried ? carried.timeoutMs : s.proxy?.timeout !== undefined ? parseDuration(s.proxy.timeout) : holdTimeoutMs(graceValue, drain.seconds);
    const intervalMs = carried ? carried.intervalMs : s.proxy?.interval !== undefined ? parseDuration(s.proxy.interval) : DEFAULT_INTERVAL_MS;
    hold = { ...shape, strategies, timeoutMs, intervalMs };
    if (timeoutMs === 0 && via !== 'template') notes.push(`proxy.timeout 0s: ${ZERO_TIMEOUT_WORDS}`);
    // How long the proxy serves the app under this hold (proxyLifeSeconds, as lint's
    // proxy-exits-before-app counts it): a timeout fixed by the template or the policy can fall short.
    const atStart = drainsAtStartOn(hold.drainAtStart === true, ctx.istioVersion);
    const proxyLife = proxyLifeSeconds(timeoutMs / 1000, drain.seconds, atStart);
    const appNeeds = appDelaySeconds + appShutdownSeconds;
    if (timeoutMs > 0 && proxyLife < appNeeds) {
      const whose = carried ? "the injection template's timeout" : 'proxy.timeout';
      const remedy = carried ? 'raise template.timeout in the policy and render `meshdrain istio template -c` again' : 'raise proxy.timeout, or leave it out and the timeout follows the grace period';
      notes.push(
        `istio-proxy's hold gives up after ${formatDuration(timeoutMs)} (${whose})${atStart ? ', having asked for the drain at its start' : ` and drains ${drain.seconds}s`}: ${proxyLife}s, less than the app's ${appDelaySeconds}s delay + ~${appShutdownSeconds}s shutdown (app.shutdown): its last outbound calls fail; ${remedy}`,
      );
    }
  }
  // Native: Istio's preStop drains at deletion, while the app's delay still waits for endpoint
  // removal (#60649); meshdrain's starts the same drain just before the delay ends (ADR 062).
  let nativeDrain: PodShutdownFacts['nativeDrain'] = null;
  const appDelayWhole = Math.ceil(appDelaySeconds);
  if (policy && sidecars.native && !site.isJobLike && !userKept && s.proxy?.nativeDrain !== 'istio' && appDelayWhole > 0) {
    nativeDrain = { delaySeconds: Math.max(0, appDelayWhole - NATIVE_DRAIN_LEAD_SECONDS), ...(appDelay?.kind === 'wait' && appDelayIsBound ? { wait: appDelay.wait } : {}) };
  }
  let noNativeDrain: PodShutdownFacts['noNativeDrain'];
  if (policy && sidecars.native && !nativeDrain) {
    const own = apps.filter((a) => !a.preStop && a.delaySeconds === 0 && pod.spec?.containers?.find((c) => c.name === a.name)?.lifecycle?.preStop != null).map((a) => a.name);
    noNativeDrain = mode.mode === 'gateway' ? { why: 'gateway' } : site.isJobLike ? { why: 'job' } : userKept ? { why: 'user-prestop' } : s.proxy?.nativeDrain === 'istio' ? { why: 'policy-istio' } : own.length ? { why: 'app-prestop', containers: own } : { why: 'no-app-delay' };
  }
  if (shellBrought && ((hold && via !== 'template') || nativeDrain)) {
    notes.push(
      `${PROXY_CONTAINER} is distroless (${distrolessSourceWords(distroless!)}), with no shell: meshdrain's ${hold ? 'hold' : 'drain'} runs in a static busybox an init container copies in (policy proxy.shell: init-container; proxy.shell: image keeps /bin/sh)`,
    );
  }
  let leave: string | undefined;
  if (policy && mode.mode === 'gateway') {
    leave = mode.managed ? `${mode.reason}: left as written` : `${mode.reason}: istio-proxy left exactly as written, no app hold (lint checks its drain against its grace period)`;
    notes.push(leave);
  }

  return {
    mode,
    nativeRequest: sidecars.classic || sidecars.native ? request?.native : undefined,
    apps,
    appDelaySeconds,
    ...(appDelay ? { appDelay } : {}),
    appShutdownSeconds,
    drain,
    via,
    hold,
    nativeDrain,
    ...(noNativeDrain ? { noNativeDrain } : {}),
    ...(userPre ? { userProxyPreStop: userPre } : {}),
    ...(proxyQuit ? { proxyQuit } : {}),
    ...(quitRead?.why !== undefined ? { proxyQuitWhy: quitRead.why } : {}),
    ...(leave ? { leave } : {}),
    fixedHoldTimeoutSeconds,
    budget,
    grace: { set, required, value: graceValue },
    settings: s,
    notes,
  };
}

const drainOf = (p: { terminationDrainMs?: number; exitOnZeroActiveConnections?: boolean; minimumDrainMs?: number }): DrainSettings => ({
  terminationDrainMs: p.terminationDrainMs,
  exitOnZero: p.exitOnZeroActiveConnections,
  minimumDrainMs: p.minimumDrainMs,
});

/** istio-proxy's preStop as written, when it is a hold meshdrain rendered (read back by re-rendering). */
function ownProxyHold(pod: PodTemplate): HoldSpec | null {
  // The classic entry of the proxy.istio.io/overrides annotation first (Istio reads it first), then the pod's own.
  let carried: Container | undefined;
  try {
    carried = proxyOverride(parseOverrides(pod.metadata?.annotations?.[INJECTOR_ANNOTATIONS.overrides]), 'classic');
  } catch {
    carried = undefined; // a bad annotation is reported where it is read with a position (userProxyPreStop)
  }
  const c = carried?.lifecycle?.preStop ? carried : proxyContainerOf(pod);
  const argv = c?.lifecycle?.preStop?.exec?.command;
  return Array.isArray(argv) ? ownHold(argv) : null;
}

/**
 * The seconds of an app preStop that is nothing but a delay in a shape meshdrain writes (sleepFor):
 * Kubernetes' sleep action, or `/bin/sh -c "sleep N"` where there is none; undefined for anything else
 * (a user's script, an httpGet, extra fields), which stays the user's.
 */
export function plainDelaySeconds(h: Handler | undefined | null): number | undefined {
  if (!isRecord(h) || Object.keys(h).length !== 1) return undefined;
  if (isRecord(h.sleep) && Object.keys(h.sleep).length === 1 && Number.isInteger(h.sleep.seconds) && (h.sleep.seconds as number) >= 0) return h.sleep.seconds as number;
  const argv = isRecord(h.exec) && Object.keys(h.exec).length === 1 ? h.exec.command : undefined;
  const m = Array.isArray(argv) ? /^sleep (\d+)$/.exec(String(argv[2])) : null;
  return m && JSON.stringify(argv) === JSON.stringify(execSleep(Number(m[1]))) ? Number(m[1]) : undefined;
}

/** The app delay inject writes where Kubernetes has no sleep action and the image has a shell. */
function execSleep(seconds: number): string[] {
  return ['/bin/sh', '-c', `sleep ${seconds}`];
}

/** Is this container's preStop, as written, meshdrain's traffic-gone wait (its delay an upper bound)? */
function isAppWaitHandler(pod: PodTemplate, name: string): boolean {
  const argv = (pod.spec?.containers ?? []).find((c) => c.name === name)?.lifecycle?.preStop?.exec?.command;
  return Array.isArray(argv) && ownAppWait(argv) !== null;
}

/** The image of the shell the proxy's hold brings in, if the policy asks for one. */
function hold0Shell(s: SettingsT): string | undefined {
  return s.proxy?.shell === 'init-container' ? (s.proxy.shellImage ?? DEFAULT_SHELL_IMAGE) : undefined;
}
