/** The versioned ShutdownPolicy format (meshdrain.dev/v1alpha1). One schema: validation, types, JSON Schema. */
import { z } from 'zod';

const duration = z
  .union([z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$|^\d+(\.\d+)?$/, 'a duration like 200ms, 10s or 1m30s'), z.number().nonnegative()])
  .describe('A duration: 200ms, 10s, 1m30s, or a number of seconds');
const command = z.array(z.string()).min(1).describe('An exec command, e.g. ["/bin/sh", "-c", "..."]');

export const ProxySettings = z
  .object({
    waitFor: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('What the istio-proxy preStop waits for: app-listeners, ports=8080,9090, http=http://127.0.0.1:8080/healthz, file=/path, sleep=10s'),
    timeout: duration.optional().describe('Give up the hold after this long (default: grace period - drain - 2s)'),
    interval: duration.optional().describe('Time between polls (default 200ms)'),
    preStop: command.optional().describe('A raw preStop command for istio-proxy instead of the generated hold'),
    shell: z.enum(['image', 'init-container']).optional().describe('Where the hold gets a shell: the proxy image, or a static busybox copied in by an init container (distroless proxies)'),
    shellImage: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/, 'an image reference like busybox:1.37.0-musl').optional().describe('Image of the init container that brings the shell (default busybox:1.37.0-musl)'),
    terminationDrainDuration: duration.optional(),
    exitOnZeroActiveConnections: z.boolean().optional(),
    minimumDrainDuration: duration.optional(),
    holdApplicationUntilProxyStarts: z.boolean().optional(),
    nativeSidecar: z.boolean().optional().describe('Ask Istio for a native sidecar (sidecar.istio.io/nativeSidecar)'),
    nativeDrain: z
      .enum(['meshdrain', 'istio'])
      .optional()
      .describe("Native sidecars: meshdrain (default) replaces Istio's immediate preStop drain with one that starts when the app delay ends (ADR 062); istio keeps Istio's"),
    replaceUserPreStop: z.boolean().optional().describe("A preStop the user already gave istio-proxy is kept (and reported) unless this is true"),
  })
  .strict();

export const AppSettings = z
  .object({
    delay: duration.optional().describe('A fixed preStop sleep before the app gets SIGTERM, exactly this long (instead of the traffic-gone wait)'),
    shell: z
      .union([z.boolean(), z.enum(['image', 'init-container'])])
      .optional()
      .describe(
        "The app image has a POSIX /bin/sh (true or image): SIGTERM waits until inbound traffic has left the pod. init-container: a static busybox copied in by an init container (opt-in: one more image pull). false or unset: Kubernetes' native sleep of 5s, a guess (ADR 015). With --kube-version below 1.30 (no preStop sleep action) a fixed delay is an exec sleep only where the image has /bin/sh (true or image); otherwise no delay can be written",
      ),
    shellImage: ProxySettings.shape.shellImage.describe('Image of the init container that brings the app a shell (default busybox:1.37.0-musl; a mirror for air-gapped registries). Setting it alone means shell: init-container'),
    quiet: duration.optional().describe('The traffic-gone wait ends once no inbound connection was seen for this long (default 1s)'),
    maxDelay: duration.optional().describe('The traffic-gone wait never lasts longer than this (default 30s); the grace period counts it whole'),
    shutdown: duration.optional().describe('How long the app needs after SIGTERM (part of the grace-period budget; default 20s)'),
  })
  .strict();

export const ContainerSettings = z.union([
  z.object({ preStop: command }).strict(),
  z.object({ sleep: duration }).strict(),
]);

export const Settings = z
  .object({
    proxy: ProxySettings.optional(),
    app: AppSettings.optional(),
    containers: z.record(z.string(), ContainerSettings).optional().describe('Per app container: a preStop command or a sleep'),
    gracePeriod: duration.optional().describe('Minimum terminationGracePeriodSeconds'),
    via: z
      .enum(['annotation', 'override', 'template'])
      .optional()
      .describe('annotation (default): the proxy.istio.io/overrides annotation, inert where no injection happens; override: an istio-proxy stub container, written only where injection is known to happen; template: a custom injection template'),
  })
  .strict();

export const TemplateSettings = z
  .object({
    name: z.string().optional().describe('Template name (default meshdrain); pods select it with inject.istio.io/templates: "sidecar,<name>"'),
    waitFor: ProxySettings.shape.waitFor,
    timeout: duration.optional().describe("Give up the template's hold after this long (default: fits Kubernetes' default 30s grace period after Istio's 5s drain)"),
    interval: ProxySettings.shape.interval,
    shellImage: ProxySettings.shape.shellImage.describe('Distroless proxies: the template also adds an init container that copies busybox from this image'),
  })
  .strict()
  .describe('The hold of the custom injection template: `meshdrain istio template -c POLICY` renders it, and `meshdrain inject --via template` sizes grace periods with its timeout');

export const LabAppSettings = z
  .object({
    shutdown: duration.optional().describe("How long the real app's shutdown work takes after SIGTERM; the lab's app works (and calls out, unless callsOut is false) for this long (lab --app-shutdown)"),
    callsOut: z.boolean().optional().describe('The app calls other services (through istio-proxy) during its shutdown work; false: its shutdown work stays inside the pod (lab --app-calls-out / --no-app-calls-out; default true)'),
    closesPort: z.boolean().optional().describe('The app stops accepting on its port at SIGTERM (server.close()) instead of serving until it exits (lab --app-closes-port)'),
    metricsPort: z
      .union([z.number().int().min(1).max(65535), z.literal('none')])
      .optional()
      .describe("The app's second port, kept open until it exits; none: the app has one port (lab --app-metrics-port; --manifest takes the ports from containerPort)"),
    prestopTime: duration.optional().describe("How long the app container's own preStop program takes, which the lab cannot run (lab --app-prestop-time)"),
  })
  .strict();

export const LabSettings = z
  .object({ app: LabAppSettings.optional() })
  .strict()
  .describe('How the real app behaves at shutdown, for `meshdrain lab --policy`: recorded once instead of repeating the lab flags (a flag given on the command line wins)');

export const Match = z
  .object({
    kinds: z.array(z.string()).optional(),
    names: z.array(z.string()).optional().describe('Glob patterns (* and ?)'),
    namespaces: z.array(z.string()).optional().describe('Glob patterns (* and ?)'),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const Rule = Settings.extend({ match: Match });

export const ShutdownPolicySchema = z
  .object({
    apiVersion: z.literal('meshdrain.dev/v1alpha1'),
    kind: z.literal('ShutdownPolicy'),
    metadata: z.object({ name: z.string().optional() }).passthrough().optional(),
    defaults: Settings.optional(),
    rules: z.array(Rule).optional(),
    template: TemplateSettings.optional(),
    lab: LabSettings.optional(),
  })
  .strict();

/** Legacy (injection.py) format: kind → resource name → container → preStop command. */
export const LegacyPolicySchema = z.record(z.string(), z.record(z.string(), z.record(z.string(), command)));

export type SettingsT = z.infer<typeof Settings>;
export type RuleT = z.infer<typeof Rule>;
export type TemplateSettingsT = z.infer<typeof TemplateSettings>;
export type LabSettingsT = z.infer<typeof LabSettings>;
export type ShutdownPolicyT = z.infer<typeof ShutdownPolicySchema>;

/** The published JSON Schema (schema/shutdown-policy.schema.json is generated from this). */
export function policyJsonSchema(): object {
  return {
    ...z.toJSONSchema(ShutdownPolicySchema, { target: 'draft-7' }),
    $id: 'https://meshdrain.dev/schema/shutdown-policy.schema.json',
    title: 'meshdrain ShutdownPolicy',
  };
}
