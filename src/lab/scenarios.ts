/**
 * The built-in scenarios. Each is a manifest (a Namespace and a Deployment), as a user would write it
 * or as inject writes it, turned into what the lab's kubelet runs by a small model of Istio's
 * injector and CNI (the facts in ../shared/design/istio-shutdown-facts.md, the sources in
 * docs/adr/054-lab-data-plane-modes.md). The `*-meshdrain` scenarios are literally `injectText` of the
 * plain manifest: the lab runs inject's output, nothing hand-made. Each scenario's pass criteria live
 * with its definition below.
 */
import { injectText } from '../inject/inject.js';
import { ANNOTATIONS, PROXY_CONTAINER } from '../istio/facts.js';
import type { ShutdownContext } from '../plan/facts.js';
import type { Policy } from '../policy/load.js';
import { DEFAULT_POLICY } from '../policy/policy.js';
import { DISTROLESS_SHELL_FIX, labPodFromManifest, type ManifestLabPod, type ManifestOptions } from './manifest.js';
import { APP_METRICS_PORT, APP_PORT, LABELS, type LabPodSpec } from './pod-spec.js';
import type { RolloutShape } from './rollout.js';

export { APP_METRICS_PORT, APP_PORT, LABELS, labDataPlaneMode, type LabMode, type LabPodSpec, type LabPreStop } from './pod-spec.js';

export const SCENARIO_NAMES = ['no-hold', 'sleep-hold', 'netstat-loop', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/** What `meshdrain lab` runs without --scenario: one of each mode, Istio's and meshdrain's, in 3 to 4 minutes (docs/lab.md). */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = Object.freeze(['no-hold', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain']);

export const APP_CONTAINER = 'app';
export const APP_UID = 1000;


/** What a scenario's pass criteria look at: the run's figures (report.ts measures them). */
export interface Measured {
  failedRequests: number;
  failedEgress: number;
  /** Failed requests that were Envoy's 503 (the app refused while its endpoint was routed). */
  failed503: number;
  podsTerminated: number;
  podsKilled: number;
  graceSeconds: number;
  /** Mean and minimum over the terminated pods; negative = the proxy died first. */
  proxyOutlivedAppSeconds: number;
  minProxyOutlivedAppSeconds: number;
  propagationDelaySeconds: number;
  /** The app's outbound responses that carried `connection: close` (the proxy draining outbound). */
  egressConnectionClose: number;
  /** Earliest start of Envoy's drain, seconds after termination start (null: no drain seen). */
  firstDrainSeconds: number | null;
  /** The app called out during its shutdown work (ADR 079); false: there were no outbound calls to lose. */
  appCallsOut: boolean;
}

export interface Verdict {
  ok: boolean;
  why: string;
}

export interface Scenario {
  /** A built-in scenario's name, or `manifest` / `manifest-injected` for --manifest. */
  name: string;
  title: string;
  /** What the scenario is expected to show (the report says whether it did). */
  expectation: string;
  /** The manifest as it reaches the cluster (after inject for `meshdrain`). */
  manifest: string;
  spec: LabPodSpec;
  /** The rollout (--manifest: the workload's); built-ins roll --replicas with maxSurge 1, maxUnavailable 0. */
  rollout?: RolloutShape;
  /** --manifest: what was read from the user's manifest (hooks, notes, variant, workload). */
  manifestPod?: ManifestLabPod;
  /** The scenario's pass criteria: did the run show what `expectation` says? Says why either way. */
  judge(m: Measured): Verdict;
  /** The `*-meshdrain` scenarios: the policy inject ran with (the lab app's, or --policy's file). */
  injectPolicy?: InjectPolicyUsed;
}

/** Which policy a scenario's inject run used (report and --json, ADR 017). */
export interface InjectPolicyUsed {
  /** `lab-app`: the built-in description of the lab's app; `file`: the user's --policy. */
  source: 'lab-app' | 'file';
  file?: string;
  /** What it says, in a few words. */
  says: string;
}

export interface ScenarioParams {
  graceSeconds: number;
  sleepHoldSeconds: number;
  policy?: Policy;
  /** The app calls out during its shutdown work (default true; ADR 079): what no-hold can show depends on it. */
  appCallsOut?: boolean;
}

/** The seed template recipe: filters only envoy, so pilot-agent's 15020/15021 keep it looping. */
export function netstatLoopScript(graceSeconds: number): string {
  return `while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do sleep ${graceSeconds}; done`;
}

export interface ManifestExtras {
  /** Labels of the workload's Namespace (in the same stream); default: sidecar injection enabled. */
  namespaceLabels?: Record<string, string>;
  annotations?: Record<string, string>;
  proxyPreStop?: string[];
}

const yamlMap = (m: Record<string, string>) => `{${Object.entries(m).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}}`;

/** The user's plain manifest: the Namespace (how it is meshed) and a Deployment with an app container. */
export function baseManifest(graceSeconds: number, extra: ManifestExtras = {}): string {
  const ann = Object.entries(extra.annotations ?? {});
  const lines = [
    'apiVersion: v1',
    'kind: Namespace',
    'metadata:',
    '  name: lab',
    `  labels: ${yamlMap(extra.namespaceLabels ?? { [LABELS.injection]: 'enabled' })}`,
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: lab-app',
    '  namespace: lab',
    'spec:',
    '  replicas: 3',
    '  strategy:',
    '    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}',
    '  selector:',
    '    matchLabels: {app: lab-app}',
    '  template:',
    '    metadata:',
    '      labels: {app: lab-app}',
    ...(ann.length ? ['      annotations:', ...ann.map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`)] : []),
    '    spec:',
    `      terminationGracePeriodSeconds: ${graceSeconds}`,
    '      containers:',
    `      - name: ${APP_CONTAINER}`,
    '        image: lab/app:v1',
    `        ports: [{containerPort: ${APP_PORT}}, {containerPort: ${APP_METRICS_PORT}}]`,
  ];
  if (extra.proxyPreStop) {
    lines.push(
      `      - name: ${PROXY_CONTAINER}`,
      '        image: auto',
      '        lifecycle:',
      '          preStop:',
      '            exec:',
      `              command: ${JSON.stringify(extra.proxyPreStop)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The pod a manifest's workload becomes: the one reading of manifests (manifest.ts labPodFromManifest,
 * with lint's pod view and the shared shutdown facts), for the built-in scenarios and the user's alike.
 */
export function podSpecFromManifest(manifest: string, file: string): LabPodSpec {
  return labPodFromManifest(manifest, file).spec;
}

const fails = (m: Measured) => `${m.failedRequests} failed requests, ${m.failedEgress} failed outbound calls`;
const r2 = (x: number) => Math.round(x * 100) / 100;

const NATIVE: ManifestExtras = { annotations: { [ANNOTATIONS.nativeSidecar]: 'true' } };
const AMBIENT: ManifestExtras = { namespaceLabels: { [LABELS.dataplaneMode]: 'ambient' } };

/**
 * The policy that describes the lab's app to inject, as a user describes theirs (ADR 017): the app
 * image (lab/app, the agent's node runtime) has a POSIX /bin/sh, so the app's delay can wait for
 * traffic to leave the pod instead of the guessed sleep inject keeps for an app of unknown shell.
 * --policy replaces it whole.
 */
export const LAB_APP_POLICY: Policy = Object.freeze({ format: 'v1alpha1', defaults: Object.freeze({ app: Object.freeze({ shell: true }) }), rules: Object.freeze([]) }) as unknown as Policy;
const LAB_APP_POLICY_USED: InjectPolicyUsed = Object.freeze({ source: 'lab-app', says: "the lab's app: app: {shell: true} (its image has /bin/sh)" });

/** The policy a `*-meshdrain` scenario's inject runs with: --policy's, else the lab app's. */
export function injectPolicyFor(p: ScenarioParams): { policy: Policy; used: InjectPolicyUsed } {
  if (!p.policy) return { policy: LAB_APP_POLICY, used: LAB_APP_POLICY_USED };
  return { policy: p.policy, used: { source: 'file', ...(p.policy.file ? { file: p.policy.file } : {}), says: `--policy ${p.policy.file ?? '(given)'}` } };
}

/** What `meshdrain inject` writes for this manifest with the scenario's policy (injectPolicyFor). */
const inject = (manifest: string, p: ScenarioParams) => injectText(manifest, 'lab-app.yaml', { policy: injectPolicyFor(p).policy }).output;

const ZERO_LOSS = 'the proxy stays until the app is gone: zero failed requests and zero failed outbound calls, no pod waits for SIGKILL';

/** The pass criteria of every `*meshdrain` scenario: nothing lost, nothing SIGKILLed. */
function zeroLoss(m: Measured, spec: LabPodSpec): Verdict {
  const ok = m.failedRequests === 0 && m.failedEgress === 0 && m.podsKilled === 0 && m.minProxyOutlivedAppSeconds >= 0;
  const hint =
    m.failed503 > 0 && !spec.appPreStop
      ? ' (the 503s come from an app that stopped listening while its endpoint was still routed: an app preStop delay, policy app.delay, fixes that part)'
      : '';
  return { ok, why: `${ok ? 'as expected' : 'NOT as expected'}: ${fails(m)}; proxy outlived the app by ${m.proxyOutlivedAppSeconds}s (min ${r2(m.minProxyOutlivedAppSeconds)}s); ${m.podsKilled} pods SIGKILLed${hint}` };
}

/** A scenario's definition: what it is, the manifest it runs, and its pass criteria, side by side. */
interface Definition {
  title: string;
  expectation: string;
  manifest: string;
  judge(m: Measured, spec: LabPodSpec): Verdict;
  /** The scenario runs inject's output: with which policy. */
  injectPolicy?: InjectPolicyUsed;
}

const DEFINITIONS: Record<ScenarioName, (p: ScenarioParams) => Definition> = {
  'no-hold': (p) => ({
    title: 'Istio defaults, no hold',
    expectation:
      p.appCallsOut === false
        ? 'the proxy exits ~5 s after SIGTERM while the app still works: failed requests when endpoint removal lags past the drain (this app makes no outbound calls after SIGTERM, so none can fail)'
        : 'the proxy exits ~5 s after SIGTERM while the app still works: failed outbound calls, and failed requests when endpoint removal lags past the drain',
    manifest: baseManifest(p.graceSeconds),
    judge(m, spec) {
      const drainS = spec.terminationDrainMs / 1000;
      const needReq = m.propagationDelaySeconds > drainS;
      // An app that does not call out after SIGTERM has no outbound call for the dead proxy to fail (ADR 079).
      const ok = (!m.appCallsOut || m.failedEgress > 0) && (!needReq || m.failedRequests > 0);
      const note = needReq
        ? ''
        : m.failed503 > 0
          ? ` (the 503s are the app's: it stopped listening while its endpoint was still routed; the proxy's own failures need endpoint removal after the ${drainS}s drain)`
          : ` (endpoint removal after ${m.propagationDelaySeconds}s happens before the ${drainS}s drain ends, so requests are not expected to fail)`;
      const quiet = m.appCallsOut ? '' : ' (the app makes no outbound calls after SIGTERM)';
      return { ok, why: `${ok ? 'reproduced' : 'NOT reproduced'}: proxy outlived the app by ${m.proxyOutlivedAppSeconds}s; ${fails(m)}${quiet}${note}` };
    },
  }),
  'sleep-hold': (p) => ({
    title: `fixed preStop sleep ${p.sleepHoldSeconds}s on istio-proxy`,
    expectation: 'the proxy is held for a guessed time, not for the app: it outlives the app by seconds (or dies before it when the guess is short)',
    manifest: baseManifest(p.graceSeconds, { proxyPreStop: ['/bin/sh', '-c', `sleep ${p.sleepHoldSeconds}`] }),
    judge(m) {
      const ok = m.minProxyOutlivedAppSeconds >= 1 || m.failedEgress > 0;
      return { ok, why: `${ok ? 'reproduced' : 'NOT reproduced'}: the proxy ${m.failedEgress > 0 ? 'died before the app' : `outlived the app by ${m.proxyOutlivedAppSeconds}s`} (a fixed guess); ${fails(m)}` };
    },
  }),
  'netstat-loop': (p) => ({
    title: 'template recipe: netstat loop filtering only envoy',
    expectation: "pilot-agent's 15020/15021 keep the loop going: every pod is held until SIGKILL at the grace period",
    manifest: baseManifest(p.graceSeconds, { proxyPreStop: ['/bin/sh', '-c', netstatLoopScript(p.graceSeconds)] }),
    judge(m) {
      const ok = m.podsKilled === m.podsTerminated && m.podsTerminated > 0;
      return { ok, why: `${ok ? 'reproduced' : 'NOT reproduced'}: ${m.podsKilled} of ${m.podsTerminated} pods held until SIGKILL at ${m.graceSeconds}s; ${fails(m)}` };
    },
  }),
  meshdrain: (p) => ({
    title: "meshdrain inject's output for the lab's app",
    expectation: ZERO_LOSS,
    manifest: inject(baseManifest(p.graceSeconds), p),
    judge: zeroLoss,
    injectPolicy: injectPolicyFor(p).used,
  }),
  native: (p) => ({
    title: "Istio's native sidecar (KEP-753 order, drain preStop)",
    expectation: 'the drain starts at termination (Envoy keeps accepting, answers connection: close); the app stops first, the proxy after it and at once: no failed outbound calls',
    manifest: baseManifest(p.graceSeconds, NATIVE),
    judge(m) {
      const ok = m.failedEgress === 0 && m.minProxyOutlivedAppSeconds >= 0;
      return { ok, why: `${ok ? 'as expected' : 'NOT as expected'}: ${fails(m)}; drain began ${m.firstDrainSeconds ?? '-'}s after termination; ${m.egressConnectionClose} outbound responses with connection: close; proxy outlived the app by ${m.proxyOutlivedAppSeconds}s` };
    },
  }),
  'native-meshdrain': (p) => ({
    title: "meshdrain inject's output for a native-sidecar pod",
    expectation: ZERO_LOSS,
    manifest: inject(baseManifest(p.graceSeconds, NATIVE), p),
    judge: zeroLoss,
    injectPolicy: injectPolicyFor(p).used,
  }),
  ambient: (p) => ({
    title: 'ambient: ztunnel on the node, listeners in the pod',
    expectation:
      'ztunnel serves the pod until every container has exited: no failed outbound calls; requests routed to the pod after its app stopped listening still fail (endpoint propagation, istio/istio#58514)',
    manifest: baseManifest(p.graceSeconds, AMBIENT),
    judge(m) {
      const ok = m.failedEgress === 0 && m.minProxyOutlivedAppSeconds >= 0;
      const race = m.failedRequests > 0 ? ' (requests reached the pod after its app stopped listening, before the endpoint was removed)' : '';
      return { ok, why: `${ok ? 'as expected' : 'NOT as expected'}: ${fails(m)}${race}; ztunnel kept the pod's listeners ${m.proxyOutlivedAppSeconds}s past the app` };
    },
  }),
  'ambient-meshdrain': (p) => ({
    title: "meshdrain inject's output for an ambient pod",
    expectation: ZERO_LOSS,
    manifest: inject(baseManifest(p.graceSeconds, AMBIENT), p),
    judge: zeroLoss,
    injectPolicy: injectPolicyFor(p).used,
  }),
};

/** Build one built-in scenario. */
export function buildScenario(name: ScenarioName, p: ScenarioParams): Scenario {
  const d = DEFINITIONS[name](p);
  const spec = labPodFromManifest(d.manifest, `${name}.yaml`).spec;
  return { name, title: d.title, expectation: d.expectation, manifest: d.manifest, spec, judge: (m) => d.judge(m, spec), ...(d.injectPolicy ? { injectPolicy: d.injectPolicy } : {}) };
}

// ---------------------------------------------------------------- the user's manifest (--manifest)

export const MANIFEST_SCENARIO = 'manifest';
export const MANIFEST_INJECTED_SCENARIO = 'manifest-injected';
/**
 * With --compare-inject on a pod whose istio-proxy already has a preStop of the user's: inject keeps
 * that hook by default (ADR 061, 064), so `manifest-injected` runs the user's hook again; this row runs
 * what inject writes with `proxy.replaceUserPreStop: true` — inject's hold instead of the user's.
 */
export const MANIFEST_INJECT_HOLD_SCENARIO = 'manifest-inject-hold';

/** The policy with `proxy.replaceUserPreStop: true` wherever it decides it (defaults and every rule that names it). */
function replacingUserHook(p: Policy): Policy {
  const rules = p.rules.map((r) => (r.proxy?.replaceUserPreStop === false ? { ...r, proxy: { ...r.proxy, replaceUserPreStop: true } } : r));
  return { ...p, defaults: { ...p.defaults, proxy: { ...p.defaults.proxy, replaceUserPreStop: true } }, rules };
}

export interface ManifestRun {
  /** The rows to run: as written, then (with --compare-inject) after inject. */
  scenarios: Scenario[];
  /** The row whose result is the exit code: the injected one with --compare-inject. */
  judged: string;
  workload: string;
  /** What `meshdrain inject` would change in the workload (file:line:col and what). */
  injectChanges: { at: string; what: string }[];
  /** inject's own notes (skipped pods, native requests). */
  injectNotes: string[];
}

/** The pass criteria of a user's workload: nothing lost, nothing SIGKILLed. */
function manifestJudge(m: Measured): Verdict {
  const ok = m.failedRequests === 0 && m.failedEgress === 0 && m.podsKilled === 0;
  return { ok, why: `${ok ? 'safe in this run' : 'NOT safe'}: ${fails(m)}; ${m.podsKilled} of ${m.podsTerminated} pods SIGKILLed; proxy outlived the app by ${m.proxyOutlivedAppSeconds}s` };
}

function manifestScenario(name: string, title: string, text: string, pod: ManifestLabPod): Scenario {
  return {
    name,
    title,
    expectation: 'the rolling restart loses nothing: zero failed requests and zero failed outbound calls, no pod SIGKILLed',
    manifest: text,
    spec: pod.spec,
    rollout: pod.rollout,
    manifestPod: pod,
    judge: manifestJudge,
  };
}

/**
 * The user's workload as the lab runs it, as written and, with compareInject, as `meshdrain inject`
 * leaves it (the same manifest through injectText, read back the same way). Pure; bad input is an
 * InputError naming file:line:col.
 */
/** The name positions in inject's output go by (`deploy.yaml (as inject writes it):64:11`): that text is in memory, not on disk. */
export function injectOutputName(file: string): string {
  return `${file} (as inject writes it)`;
}

/**
 * The context inject runs with for --compare-inject: the run's (--istio-version, --kube-version,
 * --mesh-config, as `meshdrain inject` takes them), and --proxy-variant as the mesh's image variant
 * (Helm's global.variant): the image the lab runs istio-proxy's hooks with is the one inject is told of,
 * so on a distroless proxy it brings the hook its shell (plan/facts.ts via istio/image-type.ts
 * distrolessSource; ADR 096).
 */
export function injectContextOf(mo: Pick<ManifestOptions, 'context' | 'proxyVariant'>): ShutdownContext {
  const ctx = mo.context?.inject ?? {};
  return mo.proxyVariant ? { ...ctx, meshImage: { ...ctx.meshImage, variant: mo.proxyVariant } } : ctx;
}

export function manifestScenarios(text: string, file: string, o: ManifestOptions & { policy?: Policy; compareInject?: boolean }): ManifestRun {
  const { policy, compareInject, ...mo } = o;
  const asWritten = labPodFromManifest(text, file, mo);
  const injectCtx = injectContextOf(mo);
  const inj = injectText(text, file, { ...injectCtx, ...(policy ? { policy } : {}) });
  const [kind, name] = asWritten.workload.split('/');
  const mine = inj.changes.filter((c) => c.workload === asWritten.workload || c.workload.endsWith(`${kind}/${name}`) || c.workload === name);
  const scenarios = [manifestScenario(MANIFEST_SCENARIO, `${asWritten.workload} as written`, text, asWritten)];
  if (compareInject) {
    // Positions in these rows' hooks and notes are in inject's output, which is not on disk: said so in the file name (ADR 096).
    const injectedFile = injectOutputName(file);
    const injected = labPodFromManifest(inj.output, injectedFile, { ...mo, workload: asWritten.workload });
    scenarios.push(manifestScenario(MANIFEST_INJECTED_SCENARIO, `${asWritten.workload} after meshdrain inject`, inj.output, injected));
    // inject kept the user's istio-proxy hook: also show what inject's own hook would do instead.
    const replaced = injectText(text, file, { ...injectCtx, policy: replacingUserHook(policy ?? DEFAULT_POLICY) });
    if (replaced.output !== inj.output) {
      const pod = labPodFromManifest(replaced.output, injectedFile, { ...mo, workload: asWritten.workload });
      scenarios.push(manifestScenario(MANIFEST_INJECT_HOLD_SCENARIO, `${asWritten.workload} after meshdrain inject with proxy.replaceUserPreStop: true (inject's hold instead of your istio-proxy preStop)`, replaced.output, pod));
    }
  }
  // inject changes nothing, yet the judged row's istio-proxy hook cannot start (no shell in a distroless
  // image inject was not told of): say the fix beside "would change nothing" (ADR 096).
  const judgedPod = scenarios.find((s) => s.name === (compareInject ? MANIFEST_INJECTED_SCENARIO : MANIFEST_SCENARIO))!.manifestPod!;
  const injectNotes = [...inj.notes];
  if (!mine.length && judgedPod.proxyHookMissing) {
    injectNotes.push(`${PROXY_CONTAINER}'s preStop still starts ${judgedPod.proxyHookMissing}, which the ${judgedPod.proxyVariant.value} proxy image does not have (${judgedPod.proxyVariant.source}); ${DISTROLESS_SHELL_FIX}`);
  }
  return {
    scenarios,
    judged: compareInject ? MANIFEST_INJECTED_SCENARIO : MANIFEST_SCENARIO,
    workload: asWritten.workload,
    injectChanges: mine.map((c) => ({ at: `${c.file}:${c.line}:${c.col}`, what: c.what })),
    injectNotes,
  };
}
