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

/** The mode and, in one line a person can check, why. */
export interface ModeDecision {
  mode: DataPlaneMode;
  reason: string;
  /**
   * Which input decided it, so a door can point at it (lint: the annotation's position):
   * injected = the pod's own istio-proxy entry; annotation = sidecar.istio.io/nativeSidecar as written;
   * policy = the ShutdownPolicy's proxy.nativeSidecar; job = meshdrain's default for Jobs;
   * mesh = ENABLE_NATIVE_SIDECARS; versions = Kubernetes/Istio versions; assumed = nothing decided it.
   */
  by: 'injected' | 'annotation' | 'policy' | 'job' | 'mesh' | 'versions' | 'assumed';
}
