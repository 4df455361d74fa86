/**
 * The data-plane mode of a pod: how its traffic is proxied, which decides how it must shut down.
 * A leaf module (no imports) so that every deriver and classifier can name it without a cycle.
 */

/**
 * classic: istio-proxy is an ordinary container, SIGTERMed with the app (needs a hold);
 * native: istio-proxy is a restartable init container, stopped after the app (KEP-753);
 * ambient: no sidecar, ztunnel/waypoint carry the traffic; gateway: the proxy *is* the workload;
 * none: not in the mesh; unknown: the inputs do not decide it.
 */
export type DataPlaneMode = 'classic' | 'native' | 'ambient' | 'gateway' | 'none' | 'unknown';

/**
 * Which input decided a mode, so a door can point at it (lint: the annotation's position):
 * injected = the pod's own istio-proxy entry; annotation = sidecar.istio.io/nativeSidecar as written;
 * policy = the ShutdownPolicy's proxy.nativeSidecar; job = meshdrain's default for Jobs;
 * mesh = the mesh config (ENABLE_NATIVE_SIDECARS, the injector's policy); versions = Kubernetes/Istio
 * versions; pod = the pod's own labels/annotations/spec; namespace = a Namespace object in the input;
 * assumed = nothing decided it.
 */
export type ModeBy = 'injected' | 'annotation' | 'policy' | 'job' | 'mesh' | 'versions' | 'pod' | 'namespace' | 'assumed';

/** The mode and, in one line a person can check, why (decided once: mesh/mode.ts classifyMode). */
export interface ModeDecision {
  mode: DataPlaneMode;
  /** One line: why, with the rule or the evidence. */
  reason: string;
  by: ModeBy;
  /** Will Istio's injector give this pod a sidecar? */
  injection: 'yes' | 'no' | 'maybe';
  /** When a sidecar may be injected: which kind; 'either' when the inputs do not decide it. */
  sidecar?: 'classic' | 'native' | 'either';
  /** istiod owns this Deployment (gateway.istio.io/managed): not the user's to edit. */
  managed?: boolean;
}
