/**
 * What the lab's kubelet runs for one pod, and the lab's one reading of how a pod is meshed. Shared by
 * the built-in scenarios (scenarios.ts) and the user's manifest (manifest.ts), which both build pods
 * through manifest.ts labPodFromManifest; the native/classic decision comes from the shared derivation
 * (plan/facts.ts podShutdownFacts, via lint's pod view), never from here.
 */
import type { PodShutdownFacts } from '../plan/facts.js';

export const APP_PORT = 8080;
export const APP_METRICS_PORT = 9090;

/** Istio's labels the lab's injector model reads (istio/api label names). */
export const LABELS = Object.freeze({
  injection: 'istio-injection',
  dataplaneMode: 'istio.io/dataplane-mode',
  proxyOverrides: 'proxy.istio.io/overrides',
});

/** A kubelet httpGet handler: a GET from the node to the pod's address (ADR 091). */
export interface HttpGetPreStop {
  httpGet: { host?: string; port: number; path: string; scheme: 'HTTP' | 'HTTPS' };
}

/** A preStop the lab's kubelet runs: an exec command, Kubernetes' sleep action, or an httpGet. */
export type LabPreStop = { exec: string[] } | { sleepMs: number } | HttpGetPreStop;

/** How the pod is meshed: a classic sidecar, a native sidecar (KEP-753), or ambient (ztunnel on the node). */
export type LabMode = 'classic' | 'native' | 'ambient';

/** The proxyv2 image variant whose tools an istio-proxy hook finds (ADR 071). */
export type ProxyVariant = 'default' | 'distroless';
export const PROXY_VARIANTS: readonly ProxyVariant[] = ['default', 'distroless'];

/** Everything the kubelet needs to run and terminate one pod of a scenario. */
export interface LabPodSpec {
  mode: LabMode;
  graceMs: number;
  appPreStop?: LabPreStop;
  proxyPreStop?: LabPreStop;
  terminationDrainMs: number;
  exitOnZero: boolean;
  minimumDrainMs: number;
  /** The proxy image whose tools istio-proxy's exec hook finds (default when unset). */
  proxyVariant?: ProxyVariant;
  /** The port the app serves on (the Service's target); default APP_PORT. */
  appPort?: number;
  /** A second port the app keeps open until it exits (metrics); null: none; default APP_METRICS_PORT. */
  metricsPort?: number | null;
  /**
   * Directories istio-proxy mounts from an emptyDir that an init container filled with a static busybox
   * (meshdrain's shell copy, recognised in shell-volume.ts; ADR 085): the hook root has them too.
   */
  proxyBusyboxDirs?: { mountPath: string; applets: readonly string[] }[];
  /** Why this pod can never start (e.g. an `image: auto` stub nothing replaces); undefined when it can. */
  unstartable?: string;
}

/**
 * The lab's kubelet order for a pod, from the shared derivation's data-plane mode (plan/facts.ts
 * podShutdownFacts → mesh/mode.ts classifyMode, with the input's Namespaces as evidence and pods it
 * cannot place taken as injected, as lint judges them): classic, native or ambient (an injected pod whose
 * sidecar kind the versions would decide runs classic); undefined when the
 * pod is not meshed. A gateway or an undecidable pod is not something the lab rolls (also undefined;
 * the caller says why, from the decision's reason).
 */
export function labDataPlaneMode(facts: Pick<PodShutdownFacts, 'mode'>): LabMode | undefined {
  const m = facts.mode.mode;
  if (m === 'classic' || m === 'native' || m === 'ambient') return m;
  // Injected, but native or classic depends on versions the input does not name: the lab runs the
  // classic order (the caller notes it, with the decision's reason).
  if (m === 'unknown' && facts.mode.injection === 'yes') return 'classic';
  return undefined;
}
