/**
 * The built-in scenarios. Each is a Deployment manifest, as a user would write or as inject writes
 * it, turned into what the lab's kubelet runs by a small model of Istio's injector (the facts in
 * ../shared/design/istio-shutdown-facts.md). The meshdrain scenario is literally `injectText` of the
 * plain manifest with the default policy: the lab runs inject's default output, nothing hand-made.
 */
import { loadDocuments } from '../yaml/load.js';
import { InputError } from '../errors.js';
import { injectText } from '../inject/inject.js';
import { ANNOTATIONS, DEFAULT_GRACE_SECONDS, DEFAULT_MINIMUM_DRAIN_SECONDS, DEFAULT_TERMINATION_DRAIN_SECONDS, NATIVE_DRAIN_PRESTOP, PROXY_CONTAINER } from '../istio/facts.js';
import { parseProxyConfigAnnotation } from '../istio/proxy-config.js';
import type { Container, Handler, PodTemplate } from '../model/workload.js';
import type { Policy } from '../policy/load.js';

export const SCENARIO_NAMES = ['no-hold', 'sleep-hold', 'netstat-loop', 'meshdrain', 'native'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const APP_CONTAINER = 'app';
export const APP_PORT = 8080;
export const APP_METRICS_PORT = 9090;
export const APP_UID = 1000;

/** A preStop the lab's kubelet runs: an exec command or Kubernetes' sleep action. */
export type LabPreStop = { exec: string[] } | { sleepMs: number };

/** Everything the kubelet needs to run and terminate one pod of a scenario. */
export interface LabPodSpec {
  graceMs: number;
  native: boolean;
  appPreStop?: LabPreStop;
  proxyPreStop?: LabPreStop;
  terminationDrainMs: number;
  exitOnZero: boolean;
  minimumDrainMs: number;
}

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What the scenario is expected to show (the report says whether it did). */
  expectation: string;
  /** The manifest as it reaches the cluster (after inject for `meshdrain`). */
  manifest: string;
  spec: LabPodSpec;
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

/** The user's plain Deployment: an app container, Istio auto-injection, a grace period. */
export function baseManifest(graceSeconds: number, extra: { annotations?: Record<string, string>; proxyPreStop?: string[] } = {}): string {
  const ann = Object.entries(extra.annotations ?? {});
  const lines = [
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
 * Istio's injector, as far as shutdown goes: native mode from the annotation; the user's
 * istio-proxy override's preStop wins; else native mode gets `pilot-agent request POST drain`;
 * drain settings from proxy.istio.io/config with Istio's defaults.
 */
export function podSpecFromManifest(manifest: string, file: string): LabPodSpec {
  const obj = loadDocuments(manifest, file).docs[0]?.value as { spec?: { template?: PodTemplate } } | undefined;
  const pod = obj?.spec?.template;
  if (!pod?.spec) throw new InputError('no pod template in the lab manifest', { file });
  const ann = pod.metadata?.annotations ?? {};
  const native = ann[ANNOTATIONS.nativeSidecar] === 'true';
  const all: Container[] = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])];
  const app = all.find((c) => c.name === APP_CONTAINER);
  const proxy = all.find((c) => c.name === PROXY_CONTAINER);
  let proxyPreStop = toPreStop(proxy?.lifecycle?.preStop);
  if (!proxyPreStop && native) proxyPreStop = { exec: [...NATIVE_DRAIN_PRESTOP] };
  const pc = parseProxyConfigAnnotation(ann[ANNOTATIONS.proxyConfig], { file });
  return {
    graceMs: (pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000,
    native,
    appPreStop: toPreStop(app?.lifecycle?.preStop),
    proxyPreStop,
    terminationDrainMs: pc.terminationDrainMs ?? DEFAULT_TERMINATION_DRAIN_SECONDS * 1000,
    exitOnZero: pc.exitOnZeroActiveConnections === true,
    minimumDrainMs: pc.minimumDrainMs ?? DEFAULT_MINIMUM_DRAIN_SECONDS * 1000,
  };
}

/** Build one built-in scenario. */
export function buildScenario(name: ScenarioName, p: ScenarioParams): Scenario {
  const make = (title: string, expectation: string, manifest: string): Scenario => ({
    name,
    title,
    expectation,
    manifest,
    spec: podSpecFromManifest(manifest, `${name}.yaml`),
  });
  switch (name) {
    case 'no-hold':
      return make(
        'Istio defaults, no hold',
        'the proxy exits ~5 s after SIGTERM while the app still works: failed outbound calls, and failed requests when endpoint removal lags past the drain',
        baseManifest(p.graceSeconds),
      );
    case 'sleep-hold':
      return make(
        `fixed preStop sleep ${p.sleepHoldSeconds}s on istio-proxy`,
        'the proxy is held for a guessed time, not for the app: it outlives the app by seconds (or dies before it when the guess is short)',
        baseManifest(p.graceSeconds, { proxyPreStop: ['/bin/sh', '-c', `sleep ${p.sleepHoldSeconds}`] }),
      );
    case 'netstat-loop':
      return make(
        'template recipe: netstat loop filtering only envoy',
        "pilot-agent's 15020/15021 keep the loop going: every pod is held until SIGKILL at the grace period",
        baseManifest(p.graceSeconds, { proxyPreStop: ['/bin/sh', '-c', netstatLoopScript(p.graceSeconds)] }),
      );
    case 'meshdrain': {
      const plain = baseManifest(p.graceSeconds);
      const injected = injectText(plain, 'lab-app.yaml', p.policy ? { policy: p.policy } : {});
      return make(
        "meshdrain inject's default output",
        'the proxy stays until the app is gone, then drains: zero failed requests and zero failed outbound calls, no pod waits for SIGKILL',
        injected.output,
      );
    }
    case 'native':
      return make(
        'native sidecar (KEP-753 order)',
        'the app stops first, the proxy after it: no failed outbound calls',
        baseManifest(p.graceSeconds, { annotations: { [ANNOTATIONS.nativeSidecar]: 'true' } }),
      );
  }
}
