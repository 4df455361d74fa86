/**
 * Istio facts the whole product shares. One place defines each; everything imports it.
 * Sources: ../shared/design/istio-shutdown-facts.md (istio/istio tools/istio-iptables,
 * pilot/cmd/pilot-agent, istio/api mesh/v1alpha1/proxy.proto).
 */

/** Ports Istio's own processes listen on inside a pod; "app listeners" are every other port. */
export const ISTIO_PORTS: readonly number[] = Object.freeze([
  15000, // Envoy admin
  15001, // outbound capture
  15002, // iptables probe
  15004, // debug
  15006, // inbound capture
  15008, // HBONE
  15009, // HBONE h2c
  15020, // agent status / merged metrics
  15021, // health
  15053, // DNS
  15090, // Envoy Prometheus
]);

export const PROXY_UID = 1337;
export const PROXY_CONTAINER = 'istio-proxy';
export const INBOUND_CAPTURE_PORT = 15006;
export const OUTBOUND_CAPTURE_PORT = 15001;

/** ProxyConfig defaults (seconds). */
export const DEFAULT_TERMINATION_DRAIN_SECONDS = 5;
export const DEFAULT_MINIMUM_DRAIN_SECONDS = 5;
/** Kubernetes' default terminationGracePeriodSeconds. */
export const DEFAULT_GRACE_SECONDS = 30;

export const ANNOTATIONS = Object.freeze({
  inject: 'sidecar.istio.io/inject',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  proxyConfig: 'proxy.istio.io/config',
  templates: 'inject.istio.io/templates',
  legacyPreStop: 'sidecar.istio.io/preStopCommand',
  /** meshdrain's own: a wait strategy list instead of raw shell (see hooks/strategy.ts). */
  waitFor: 'meshdrain.dev/wait-for',
});

export const PROXY_METADATA = Object.freeze({
  exitOnZero: 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS',
  minimumDrain: 'MINIMUM_DRAIN_DURATION',
});
