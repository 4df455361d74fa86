/**
 * The built-in scenarios. Each is a manifest (a Namespace and a Deployment), as a user would write it
 * or as inject writes it, turned into what the lab's kubelet runs by a small model of Istio's
 * injector and CNI (the facts in ../shared/design/istio-shutdown-facts.md, the sources in
 * docs/adr/054-lab-data-plane-modes.md). The `*-meshdrain` scenarios are literally `injectText` of the
 * plain manifest: the lab runs inject's output, nothing hand-made. Each scenario's pass criteria live
 * with its definition below.
 */
import { loadDocuments } from '../yaml/load.js';
import { InputError } from '../errors.js';
import { injectText } from '../inject/inject.js';
import { ANNOTATIONS, DEFAULT_GRACE_SECONDS, DEFAULT_MINIMUM_DRAIN_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS, NATIVE_DRAIN_PRESTOP, PROXY_CONTAINER } from '../istio/facts.js';
import { parseProxyConfigAnnotation } from '../istio/proxy-config.js';
import { isRecord, type Container, type Handler, type PodTemplate } from '../model/workload.js';
import type { Policy } from '../policy/load.js';
import { dataPlaneMode, proxyEntry } from '../plan/facts.js';

export const SCENARIO_NAMES = ['no-hold', 'sleep-hold', 'netstat-loop', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/** What `meshdrain lab` runs without --scenario: one of each mode, Istio's and meshdrain's, in about 2 minutes. */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = Object.freeze(['no-hold', 'meshdrain', 'native', 'native-meshdrain', 'ambient', 'ambient-meshdrain']);

export const APP_CONTAINER = 'app';
export const APP_PORT = 8080;
export const APP_METRICS_PORT = 9090;
export const APP_UID = 1000;

/** Istio's labels the lab's injector model reads (istio/api label names). */
export const LABELS = Object.freeze({
  injection: 'istio-injection',
  dataplaneMode: 'istio.io/dataplane-mode',
  proxyOverrides: 'proxy.istio.io/overrides',
});

/** A preStop the lab's kubelet runs: an exec command or Kubernetes' sleep action. */
export type LabPreStop = { exec: string[] } | { sleepMs: number };

/** How the pod is meshed: a classic sidecar, a native sidecar (KEP-753), or ambient (ztunnel on the node). */
export type LabMode = 'classic' | 'native' | 'ambient';

/** Everything the kubelet needs to run and terminate one pod of a scenario. */
export interface LabPodSpec {
  mode: LabMode;
  graceMs: number;
  appPreStop?: LabPreStop;
  proxyPreStop?: LabPreStop;
  terminationDrainMs: number;
  exitOnZero: boolean;
  minimumDrainMs: number;
  /** Why this pod can never start (e.g. an `image: auto` stub nothing replaces); undefined when it can. */
  unstartable?: string;
}

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
}

export interface Verdict {
  ok: boolean;
  why: string;
}

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What the scenario is expected to show (the report says whether it did). */
  expectation: string;
  /** The manifest as it reaches the cluster (after inject for `meshdrain`). */
  manifest: string;
  spec: LabPodSpec;
  /** The scenario's pass criteria: did the run show what `expectation` says? Says why either way. */
  judge(m: Measured): Verdict;
}

export interface ScenarioParams {
  graceSeconds: number;
  sleepHoldSeconds: number;
  policy?: Policy;
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

function toPreStop(h: Handler | undefined): LabPreStop | undefined {
  if (!h) return undefined;
  if (h.exec?.command?.length) return { exec: [...h.exec.command] };
  if (h.sleep) return { sleepMs: h.sleep.seconds * 1000 };
  return undefined;
}

/**
 * The data-plane mode Istio gives this pod — the lab's one decision of it. Sidecar injection
 * (namespace `istio-injection=enabled` or pod label `sidecar.istio.io/inject: "true"`, and not
 * `"false"`) wins over an ambient label (istio-cni skips pods with a sidecar, podHasSidecar);
 * injected pods are native with `sidecar.istio.io/nativeSidecar: "true"`; an ambient label on the pod
 * or its namespace without injection is ambient.
 */
export function labDataPlaneMode(pod: PodTemplate, namespaceLabels: Record<string, string>): LabMode | undefined {
  const labels = pod.metadata?.labels ?? {};
  const ann = pod.metadata?.annotations ?? {};
  const podInject = labels[ANNOTATIONS.inject] ?? ann[ANNOTATIONS.inject];
  const injected = podInject === 'true' || (podInject !== 'false' && namespaceLabels[LABELS.injection] === 'enabled');
  // Native or classic: the one decision every door uses (plan/facts.ts dataPlaneMode).
  if (injected) return dataPlaneMode({ proxy: proxyEntry(pod), annotation: ann[ANNOTATIONS.nativeSidecar] }).mode === 'native' ? 'native' : 'classic';
  if ((labels[LABELS.dataplaneMode] ?? namespaceLabels[LABELS.dataplaneMode]) === 'ambient') return 'ambient';
  return undefined;
}

/**
 * The user's istio-proxy customisation as Istio's injector finds it (pkg/kube/inject/webhook.go
 * reapplyOverwrittenContainers): the `proxy.istio.io/overrides` annotation first (`containers` for a
 * classic sidecar, `initContainers` for a native one), else the pod's own container of that name.
 */
function proxyOverride(pod: PodTemplate, mode: LabMode, file: string): Container | undefined {
  const raw = pod.metadata?.annotations?.[LABELS.proxyOverrides];
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new InputError(`${LABELS.proxyOverrides} is not JSON`, { file });
    }
    const list = isRecord(parsed) ? parsed[mode === 'native' ? 'initContainers' : 'containers'] : undefined;
    const found = Array.isArray(list) ? (list as Container[]).find((c) => c?.name === PROXY_CONTAINER) : undefined;
    if (found) return found;
  }
  const all: Container[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return all.find((c) => c.name === PROXY_CONTAINER);
}

/**
 * Istio's injector and CNI, as far as shutdown goes: the mode (labDataPlaneMode); the user's
 * istio-proxy override's preStop wins; else native mode gets Istio's drain preStop; drain settings
 * from proxy.istio.io/config with Istio's defaults. A pod nothing injects that still carries an
 * `image: auto` istio-proxy cannot start (ErrImagePull).
 */
export function podSpecFromManifest(manifest: string, file: string): LabPodSpec {
  const docs = loadDocuments(manifest, file).docs.map((d) => d.value as Record<string, unknown> | undefined);
  const ns = docs.find((d) => d?.kind === 'Namespace') as { metadata?: { labels?: Record<string, string> } } | undefined;
  const workload = docs.find((d) => d?.kind === 'Deployment') as { spec?: { template?: PodTemplate } } | undefined;
  const pod = workload?.spec?.template;
  if (!pod?.spec) throw new InputError('no pod template in the lab manifest', { file });
  const mode = labDataPlaneMode(pod, ns?.metadata?.labels ?? {});
  if (!mode) throw new InputError('the lab pod is not meshed (no sidecar injection, not ambient)', { file });
  const ann = pod.metadata?.annotations ?? {};
  const app = pod.spec.containers?.find((c) => c.name === APP_CONTAINER);
  const override = mode === 'ambient' ? undefined : proxyOverride(pod, mode, file);
  let proxyPreStop = toPreStop(override?.lifecycle?.preStop);
  if (!proxyPreStop && mode === 'native') proxyPreStop = { exec: [...NATIVE_DRAIN_PRESTOP] };
  const stub = mode === 'ambient' ? [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])].find((c) => c.name === PROXY_CONTAINER && c.image === 'auto') : undefined;
  const pc = parseProxyConfigAnnotation(ann[ANNOTATIONS.proxyConfig], { file });
  return {
    mode,
    graceMs: (pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000,
    appPreStop: toPreStop(app?.lifecycle?.preStop),
    proxyPreStop: mode === 'ambient' ? undefined : proxyPreStop,
    terminationDrainMs: pc.terminationDrainMs ?? DEFAULT_TERMINATION_DRAIN_SECONDS * 1000,
    exitOnZero: pc.exitOnZeroActiveConnections === true,
    minimumDrainMs: pc.minimumDrainMs ?? DEFAULT_MINIMUM_DRAIN_SECONDS * 1000,
    ...(stub ? { unstartable: `its ${PROXY_CONTAINER} container has image "auto", which only sidecar injection replaces, and nothing injects an ambient pod: ErrImagePull` } : {}),
  };
}

const fails = (m: Measured) => `${m.failedRequests} failed requests, ${m.failedEgress} failed outbound calls`;
const r2 = (x: number) => Math.round(x * 100) / 100;

const NATIVE: ManifestExtras = { annotations: { [ANNOTATIONS.nativeSidecar]: 'true' } };
const AMBIENT: ManifestExtras = { namespaceLabels: { [LABELS.dataplaneMode]: 'ambient' } };

/** What `meshdrain inject` writes for this manifest (the policy from --policy, else its default). */
const inject = (manifest: string, p: ScenarioParams) => injectText(manifest, 'lab-app.yaml', p.policy ? { policy: p.policy } : {}).output;

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
}

const DEFINITIONS: Record<ScenarioName, (p: ScenarioParams) => Definition> = {
  'no-hold': (p) => ({
    title: 'Istio defaults, no hold',
    expectation: 'the proxy exits ~5 s after SIGTERM while the app still works: failed outbound calls, and failed requests when endpoint removal lags past the drain',
    manifest: baseManifest(p.graceSeconds),
    judge(m, spec) {
      const drainS = spec.terminationDrainMs / 1000;
      const needReq = m.propagationDelaySeconds > drainS;
      const ok = m.failedEgress > 0 && (!needReq || m.failedRequests > 0);
      const note = needReq
        ? ''
        : m.failed503 > 0
          ? ` (the 503s are the app's: it stopped listening while its endpoint was still routed; the proxy's own failures need endpoint removal after the ${drainS}s drain)`
          : ` (endpoint removal after ${m.propagationDelaySeconds}s happens before the ${drainS}s drain ends, so requests are not expected to fail)`;
      return { ok, why: `${ok ? 'reproduced' : 'NOT reproduced'}: proxy outlived the app by ${m.proxyOutlivedAppSeconds}s; ${fails(m)}${note}` };
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
    title: "meshdrain inject's default output",
    expectation: ZERO_LOSS,
    manifest: inject(baseManifest(p.graceSeconds), p),
    judge: zeroLoss,
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
  }),
};

/** Build one built-in scenario. */
export function buildScenario(name: ScenarioName, p: ScenarioParams): Scenario {
  const d = DEFINITIONS[name](p);
  const spec = podSpecFromManifest(d.manifest, `${name}.yaml`);
  return { name, title: d.title, expectation: d.expectation, manifest: d.manifest, spec, judge: (m) => d.judge(m, spec) };
}
