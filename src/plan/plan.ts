/** policy + pod template → ShutdownPlan. Pure: no I/O, no YAML nodes. */
import { handlerDelaySeconds } from '../analysis/analyze.js';
import { parseStrategy } from '../hooks/strategy.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, DEFAULT_TEMPLATE_NAME, DEFAULT_WAIT_FOR, SHELL_MOUNT_PATH } from '../constants.js';
import { ANNOTATIONS, DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS, PROXY_CONTAINER } from '../istio/facts.js';
import { effectiveDrainMs, parseProxyConfigAnnotation } from '../istio/proxy-config.js';
import type { SourcePos } from '../errors.js';
import { parseDuration } from '../model/duration.js';
import { siteName, type PodTemplate, type PodTemplateSite } from '../model/workload.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { resolveSettings } from '../policy/match.js';
import { DEFAULT_APP_DELAY_SECONDS, DEFAULT_APP_SHUTDOWN_SECONDS, GRACE_MARGIN_SECONDS, graceFor, holdTimeoutMs, shutdownBudget } from './budget.js';
import type { AppContainerPlan, HoldSpec, ProxyConfigPlan, ShellSource, ShutdownPlan, WaitStrategy } from './types.js';

export { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, SHELL_MOUNT_PATH } from '../constants.js';

export interface PlanOptions {
  /** Overrides the policy's `via`. */
  via?: 'override' | 'template';
  /** Where the pod template is, for errors about its annotations. */
  where?: SourcePos;
}

const seconds = (d: string | number) => parseDuration(d) / 1000;

/** The ShutdownPlan for one meshed pod template (callers skip pods opted out of injection). */
export function planFor(site: PodTemplateSite, pod: PodTemplate, policy: Policy = DEFAULT_POLICY, opts: PlanOptions = {}): ShutdownPlan {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const s = resolveSettings(policy, site, labels);
  const notes: string[] = [];
  const name = siteName(site);

  // Native sidecar: the user's explicit annotation always wins; then the policy; Jobs default to native.
  const userNative = annotations[ANNOTATIONS.nativeSidecar];
  let nativeSidecar: boolean | undefined;
  if (userNative === 'true' || userNative === 'false') {
    if (site.isJobLike && userNative === 'false') notes.push(`${name}: ${ANNOTATIONS.nativeSidecar}: "false" kept as written; a classic sidecar keeps this Job's pods from completing, and a hold cannot help, so none is added`);
  } else if (s.proxy?.nativeSidecar !== undefined) {
    nativeSidecar = s.proxy.nativeSidecar;
  } else if (site.isJobLike) {
    nativeSidecar = true;
    notes.push(`${name}: asking Istio for a native sidecar (${ANNOTATIONS.nativeSidecar}: "true"); a proxy hold cannot help a Job, a classic sidecar keeps it from completing`);
  }
  // Already injected in native mode (istioctl kube-inject output): istio-proxy is a restartable init container.
  const injectedNative = (pod.spec?.initContainers ?? []).some((c) => c.name === PROXY_CONTAINER && c.restartPolicy === 'Always');
  const native = injectedNative || (nativeSidecar ?? userNative === 'true') === true;

  // Drain after the hold: policy first, then what the pod's proxy config already says, then Istio's default.
  const prior = parseProxyConfigAnnotation(annotations[ANNOTATIONS.proxyConfig], opts.where);
  const exitOnZero = s.proxy?.exitOnZeroActiveConnections ?? prior.exitOnZeroActiveConnections ?? false;
  const drainSeconds =
    effectiveDrainMs({
      exitOnZero,
      minimumDrainMs: s.proxy?.minimumDrainDuration !== undefined ? parseDuration(s.proxy.minimumDrainDuration) : prior.minimumDrainMs,
      terminationDrainMs: s.proxy?.terminationDrainDuration !== undefined ? parseDuration(s.proxy.terminationDrainDuration) : prior.terminationDrainMs,
    }) / 1000;

  // App containers: what the policy names; a delay becomes a sleep where the user has no preStop.
  // Endpoint removal lags SIGTERM by seconds; an app that stops accepting at SIGTERM answers 503 to
  // requests still routed to it. A short sleep first is the standard fix (not for Jobs: no Service).
  const appDelay = s.app?.delay !== undefined ? seconds(s.app.delay) : site.isJobLike ? 0 : DEFAULT_APP_DELAY_SECONDS;
  const apps: AppContainerPlan[] = [];
  for (const c of pod.spec?.containers ?? []) {
    if (c.name === PROXY_CONTAINER) continue;
    const named = s.containers?.[c.name];
    if (named && 'preStop' in named) apps.push({ name: c.name, preStop: { exec: named.preStop }, delaySeconds: handlerDelaySeconds({ exec: { command: named.preStop } }) });
    else if (named && 'sleep' in named) apps.push({ name: c.name, preStop: { sleepSeconds: Math.ceil(seconds(named.sleep)) }, delaySeconds: seconds(named.sleep) });
    else if (appDelay > 0 && !c.lifecycle?.preStop) apps.push({ name: c.name, preStop: { sleepSeconds: Math.ceil(appDelay) }, delaySeconds: appDelay });
    else apps.push({ name: c.name, delaySeconds: c.lifecycle?.preStop ? handlerDelaySeconds(c.lifecycle.preStop) : 0 });
  }
  const maxDelay = Math.max(0, ...apps.map((a) => a.delaySeconds));

  const strategies: WaitStrategy[] = (s.proxy?.waitFor ?? [DEFAULT_WAIT_FOR]).map(parseStrategy);
  const fixedHold = Math.max(0, ...strategies.map((w) => (w.kind === 'sleep' ? w.ms / 1000 : 0)));
  const appShutdownSeconds = s.app?.shutdown !== undefined ? seconds(s.app.shutdown) : DEFAULT_APP_SHUTDOWN_SECONDS;
  const budget = shutdownBudget({
    appDelaySeconds: maxDelay,
    appShutdownSeconds,
    drainSeconds,
    fixedHoldSeconds: fixedHold || undefined,
  });
  // A pod that already selects meshdrain's injection template gets its hold from there, not twice.
  const selectsTemplate = (annotations[ANNOTATIONS.templates] ?? '').split(',').map((t) => t.trim()).includes(DEFAULT_TEMPLATE_NAME);
  const via = opts.via ?? s.via ?? (selectsTemplate ? 'template' : 'override');
  // A custom injection template carries one hold for every pod, with the default timeout
  // (`meshdrain istio template`): the pod's grace must cover that hold plus the drain.
  const templateHoldSeconds = via === 'template' && !native ? holdTimeoutMs(DEFAULT_GRACE_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS) / 1000 : 0;
  // A hold timeout the policy names is honoured whole: the grace period grows to cover it and the drain.
  const policyTimeoutSeconds = !native && !s.proxy?.preStop && s.proxy?.timeout !== undefined ? seconds(s.proxy.timeout) : 0;
  const fixedHoldSeconds = Math.max(templateHoldSeconds, policyTimeoutSeconds);
  const minimumGrace = Math.max(
    s.gracePeriod !== undefined ? Math.ceil(seconds(s.gracePeriod)) : 0,
    fixedHoldSeconds ? Math.ceil(fixedHoldSeconds + drainSeconds + GRACE_MARGIN_SECONDS) : 0,
  );
  const graceSeconds = graceFor(pod.spec?.terminationGracePeriodSeconds, budget.requiredSeconds, minimumGrace);

  if (via === 'template' && !native) {
    const ignored = (['waitFor', 'timeout', 'interval', 'shell', 'shellImage', 'preStop'] as const).filter((k) => s.proxy?.[k] !== undefined);
    if (ignored.length) notes.push(`${name}: via template: the hold comes from the custom injection template, so the policy's proxy.${ignored.join(', proxy.')} is not used here; give it to \`meshdrain istio template\``);
  }
  let hold: HoldSpec | null = null;
  // A Job's pod ends when its work is done, not by a rollout: a proxy hold has nothing to protect.
  if (!native && !site.isJobLike && !s.proxy?.preStop) {
    const timeoutMs = s.proxy?.timeout !== undefined ? parseDuration(s.proxy.timeout) : holdTimeoutMs(graceSeconds, drainSeconds);
    hold = { strategies, timeoutMs, intervalMs: s.proxy?.interval !== undefined ? parseDuration(s.proxy.interval) : DEFAULT_INTERVAL_MS };
  }
  const shell: ShellSource =
    s.proxy?.shell === 'init-container' ? { kind: 'init-container', image: s.proxy.shellImage ?? DEFAULT_SHELL_IMAGE, mountPath: SHELL_MOUNT_PATH } : { kind: 'image' };

  const proxyConfig: ProxyConfigPlan = {};
  if (s.proxy?.terminationDrainDuration !== undefined) proxyConfig.terminationDrainDuration = `${seconds(s.proxy.terminationDrainDuration)}s`;
  if (s.proxy?.holdApplicationUntilProxyStarts !== undefined) proxyConfig.holdApplicationUntilProxyStarts = s.proxy.holdApplicationUntilProxyStarts;
  if (s.proxy?.exitOnZeroActiveConnections !== undefined) proxyConfig.exitOnZeroActiveConnections = s.proxy.exitOnZeroActiveConnections;
  if (s.proxy?.minimumDrainDuration !== undefined) proxyConfig.minimumDrainDuration = `${seconds(s.proxy.minimumDrainDuration)}s`;

  return {
    hold,
    proxyPreStop: native ? undefined : s.proxy?.preStop,
    shell,
    apps,
    appShutdownSeconds,
    drainSeconds,
    graceSeconds,
    nativeSidecar,
    proxyConfig,
    via,
    notes,
  };
}
