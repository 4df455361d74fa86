/** policy + pod template → ShutdownPlan. Pure: no I/O, no YAML nodes. Every decision is in plan/facts.ts. */
import type { SourcePos } from '../errors.js';
import { parseDuration } from '../model/duration.js';
import { siteName, type PodTemplate, type PodTemplateSite } from '../model/workload.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { podShutdownFacts, sidecarsFor, templateNativeDrain, type ShutdownContext } from './facts.js';
import type { ProxyConfigPlan, ShellSource, ShutdownPlan } from './types.js';
import { DEFAULT_SHELL_IMAGE, SHELL_MOUNT_PATH } from '../constants.js';
import { nativeDrainCommand } from '../hooks/native-drain.js';
import { templateNativeDrainCommand } from '../istio/template.js';

export { DEFAULT_INTERVAL_MS, DEFAULT_SHELL_IMAGE, SHELL_MOUNT_PATH } from '../constants.js';

export interface PlanOptions extends Omit<ShutdownContext, 'where'> {
  /** Where the pod template is, for errors about its annotations. */
  where?: SourcePos;
}

const seconds = (d: string | number) => parseDuration(d) / 1000;

/** The ShutdownPlan for one meshed pod template (callers skip pods opted out of injection). */
export function planFor(site: PodTemplateSite, pod: PodTemplate, policy: Policy = DEFAULT_POLICY, opts: PlanOptions = {}): ShutdownPlan {
  const f = podShutdownFacts(site, pod, policy, opts);
  const s = f.settings;
  const classic = sidecarsFor(f.mode).classic;
  const shell: ShellSource =
    s.proxy?.shell === 'init-container' ? { kind: 'init-container', image: s.proxy.shellImage ?? DEFAULT_SHELL_IMAGE, mountPath: SHELL_MOUNT_PATH } : { kind: 'image' };

  const proxyConfig: ProxyConfigPlan = {};
  if (s.proxy?.terminationDrainDuration !== undefined) proxyConfig.terminationDrainDuration = `${seconds(s.proxy.terminationDrainDuration)}s`;
  if (s.proxy?.holdApplicationUntilProxyStarts !== undefined) proxyConfig.holdApplicationUntilProxyStarts = s.proxy.holdApplicationUntilProxyStarts;
  if (s.proxy?.exitOnZeroActiveConnections !== undefined) proxyConfig.exitOnZeroActiveConnections = s.proxy.exitOnZeroActiveConnections;
  if (s.proxy?.minimumDrainDuration !== undefined) proxyConfig.minimumDrainDuration = `${seconds(s.proxy.minimumDrainDuration)}s`;

  const name = siteName(site);
  // Istio's drain, started when the app delay ends; exec only (never httpGet with it: #51865).
  const nativeDrain = f.nativeDrain ? nativeDrainCommand(f.nativeDrain, shell) : undefined;
  // Via the custom template: the template carries the native drain when it is this pod's exactly
  // (same policy defaults, same shell); otherwise the overrides annotation does, which istiod applies
  // after the templates (webhook.go injectPod: RunTemplate, then reapplyOverwrittenContainers).
  const templateDrain = f.via === 'template' && nativeDrain ? templateNativeDrainCommand({ nativeDrain: templateNativeDrain(policy), shellImage: policy.template?.shellImage }) : undefined;
  const nativeDrainInTemplate = templateDrain !== undefined && JSON.stringify(templateDrain) === JSON.stringify(nativeDrain);
  return {
    mode: f.mode,
    ...(nativeDrain ? { nativeDrain } : {}),
    ...(nativeDrainInTemplate ? { nativeDrainInTemplate } : {}),
    ...(f.leave ? { leave: f.leave } : {}),
    hold: f.hold,
    proxyPreStop: classic && f.userProxyPreStop !== 'kept' ? s.proxy?.preStop : undefined,
    shell,
    apps: f.apps,
    appShutdownSeconds: f.appShutdownSeconds,
    drainSeconds: f.drain.seconds,
    graceSeconds: f.grace.value,
    nativeSidecar: f.nativeRequest,
    proxyConfig,
    via: f.via,
    ...(f.via === 'template' && policy.template?.name ? { templateName: policy.template.name } : {}),
    ...(opts.defaultTemplates ? { defaultTemplates: opts.defaultTemplates } : {}),
    notes: f.notes.map((n) => `${name}: ${n}`),
  };
}
